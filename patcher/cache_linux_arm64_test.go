package patcher

import (
	"debug/elf"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/gohotfix/hotfix/patcher/internal/osmem"
)

// TestSyncCodeSequence reads syncCode as the assembler encoded it (the IC
// IVAU is a WORD) and checks the order the Arm ARM asks of code written
// for another core to run: DC CVAU, DSB ISH, IC IVAU, DSB ISH, ISB.
func TestSyncCodeSequence(t *testing.T) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	var code []byte
	for _, s := range syms {
		if s.Name == "github.com/gohotfix/hotfix/patcher.syncCode.abi0" {
			code = make([]byte, s.Size)
			if _, err := text.ReadAt(code, int64(s.Value-text.Addr)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code == nil {
		t.Fatal("syncCode.abi0 not in the symbol table")
	}
	want := []struct {
		name       string
		word, mask uint32
	}{
		{"DC CVAU, Xt", 0xd50b7b20, 0xffffffe0},
		{"DSB ISH", 0xd5033b9f, 0xffffffff},
		{"IC IVAU, Xt", 0xd50b7520, 0xffffffe0},
		{"DSB ISH", 0xd5033b9f, 0xffffffff},
		{"ISB", 0xd5033fdf, 0xffffffff},
		{"RET", 0xd65f03c0, 0xffffffff},
	}
	next := 0
	for off := 0; off+4 <= len(code) && next < len(want); off += 4 {
		if w := binary.LittleEndian.Uint32(code[off:]); w&want[next].mask == want[next].word {
			next++
		}
	}
	if next < len(want) {
		t.Fatalf("syncCode (%x) lacks %s after the instructions before it", code, want[next].name)
	}
}

// TestSyncCodeRuns writes a function into a fresh page, runs it, rewrites
// it in place and runs it again: the cache maintenance must neither fault
// (EL0 may issue DC CVAU and IC IVAU on Linux, and read CTR_EL0) nor leave
// the first version running. Under qemu-user it proves the first part only.
func TestSyncCodeRuns(t *testing.T) {
	page, err := osmem.MapNear(addr(TestSyncCodeRuns), maxReach)
	if err != nil {
		t.Skipf("no page to run code in: %v", err)
	}
	put := func(answer uint32) {
		w := (*[2]uint32)(osmem.Pointer(page))
		w[0] = 0xd2800000 | answer<<5 // MOVD $answer, R0
		w[1] = 0xd65f03c0             // RET
		syncCode(page, 8)
	}
	fv := &struct{ pc uintptr }{page}
	call := *(*func() int)(unsafe.Pointer(&fv))
	put(1)
	if err := osmem.MakeExecutable(page); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != 1 {
		t.Fatalf("first version answered %d, want 1", got)
	}
	if err := osmem.MakeWritable(page); err != nil {
		t.Fatal(err)
	}
	put(2)
	if err := osmem.MakeExecutable(page); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != 2 {
		t.Fatalf("rewritten in place, answered %d, want 2", got)
	}
}

// TestMembarrierAroundWrite: a write registers the process for
// membarrier(2)'s SYNC_CORE before the world stops (an unregistered
// process gets EPERM from MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, so
// the call below succeeding proves it), and the call commit makes with the
// world stopped succeeds (it would come back as Stats.Warn).
func TestMembarrierAroundWrite(t *testing.T) {
	p := New()
	st, err := p.Apply("mb", []Redirect{redirect("oldAnswer", oldAnswer, newAnswer)})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if st.Warn != nil {
		t.Fatalf("apply warned: %v", st.Warn)
	}
	if got := oldAnswer(1); got != "new 1" {
		t.Fatalf("after apply: %q", got)
	}
	if e := osmem.SyncCores(); e != 0 {
		t.Fatalf("membarrier SYNC_CORE after Apply: %v, want the process registered", e)
	}
	if st, err := p.Revert("mb"); err != nil || st.Warn != nil {
		t.Fatalf("revert: %v, warn %v", err, st.Warn)
	}
}
