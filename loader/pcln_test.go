package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnsafePointFacts pins what the patcher relies on, on the toolchain
// in use: .gopclntab's unsafe-point table as read here marks every
// instruction of a //go:nosplit function unsafe (cmd/compile/internal/
// liveness IsUnsafe), leaves the body of an ordinary leaf async-safe, and
// marks the stack check of a prologue unsafe (cmd/internal/obj/x86/obj6.go).
// Entries read from the symbol table match the runtime's.
func TestUnsafePointFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	exe := filepath.Join(t.TempDir(), "unsafepoints")
	build := exec.Command("go", "build", "-ldflags=-checklinkname=0", "-o", exe, "./testdata/unsafepoints")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/unsafepoints: %v\n%s", err, out)
	}
	out, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatalf("run unsafepoints: %v", err)
	}
	var res map[string]struct {
		FuncInfo
		Runtime uintptr
		Err     string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	count := func(name string) (safe int) {
		r := res[name]
		if r.Err != "" || r.Entry != r.Runtime || r.Size <= 0 || len(r.AsyncSafe) != r.Size {
			t.Fatalf("%s: entry %#x (runtime %#x), size %d, %d unsafe-point entries, err %q", name, r.Entry, r.Runtime, r.Size, len(r.AsyncSafe), r.Err)
		}
		for _, s := range r.AsyncSafe {
			if s {
				safe++
			}
		}
		return safe
	}
	if n := count("nosplitAdd"); n != 0 {
		t.Errorf("nosplitAdd: %d bytes async-safe, want none: %v", n, res["nosplitAdd"].AsyncSafe)
	}
	if n, size := count("leafAdd"), res["leafAdd"].Size; n != size {
		t.Errorf("leafAdd: %d of %d bytes async-safe, want all: %v", n, size, res["leafAdd"].AsyncSafe)
	}
	if fr := res["framed"]; count("framed") == 0 || !fr.AsyncSafe[0] || fr.AsyncSafe[4] {
		t.Errorf("framed: want entry safe, stack check unsafe, body safe; got %v", fr.AsyncSafe)
	}
}

// tinyPclntab is a .gopclntab with one function of size bytes at text+0x40
// whose unsafe-point table marks [unsafeFrom, unsafeTo) unsafe.
func tinyPclntab(size, unsafeFrom, unsafeTo int) []byte {
	le := binary.LittleEndian
	b := make([]byte, 72)
	le.PutUint32(b[0:], go120Magic)
	b[6], b[7] = 1, 8 // quantum, pointer size
	le.PutUint64(b[8:], 1)
	// pc-value table: -1 for unsafeFrom, -2 until unsafeTo, -1 to size.
	pctab := len(b)
	le.PutUint64(b[56:], uint64(pctab))
	zig := func(d int64) uint64 { return uint64((d << 1) ^ (d >> 63)) }
	b = append(b, 0) // offset 0 means "no table"
	tab := len(b) - pctab
	b = binary.AppendUvarint(b, zig(0))
	b = binary.AppendUvarint(b, uint64(unsafeFrom))
	b = binary.AppendUvarint(b, zig(-1))
	b = binary.AppendUvarint(b, uint64(unsafeTo-unsafeFrom))
	b = binary.AppendUvarint(b, zig(1))
	b = binary.AppendUvarint(b, uint64(size-unsafeTo))
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	// function table: {entryoff, funcoff} for the function and the end.
	pcln := len(b)
	le.PutUint64(b[64:], uint64(pcln))
	b = le.AppendUint32(b, 0x40)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint32(b, uint32(0x40+size))
	b = le.AppendUint32(b, 0)
	f := make([]byte, funcHeaderLen+4)
	le.PutUint32(f[0:], 0x40)
	le.PutUint32(f[28:], 1) // npcdata
	le.PutUint32(f[funcHeaderLen:], uint32(tab))
	return append(b, f...)
}

func TestPclntabUnsafePoints(t *testing.T) {
	b := tinyPclntab(12, 3, 7)
	tab, err := readPclntab(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	safe, err := tab.asyncSafe(0x40, 12)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, false, false, false, false, true, true, true, true, true}
	if fmt.Sprint(safe) != fmt.Sprint(want) {
		t.Errorf("asyncSafe = %v, want %v", safe, want)
	}
	if _, err := tab.asyncSafe(0x44, 12); !errors.Is(err, ErrSymbol) {
		t.Errorf("no function at text+0x44: %v, want ErrSymbol", err)
	}
}

// FuzzPclntab: the table reader takes .gopclntab bytes of the binary named
// by `hotfix verify -binary`; no input may make it panic or loop.
func FuzzPclntab(f *testing.F) {
	f.Add(tinyPclntab(12, 3, 7), uint32(0x40), uint16(12))
	f.Add(tinyPclntab(5, 0, 5), uint32(0x40), uint16(200))
	f.Add(tinyPclntab(300, 1, 299), uint32(0x40), uint16(300))
	f.Fuzz(func(t *testing.T, b []byte, entry uint32, size uint16) {
		tab, err := readPclntab(bytes.NewReader(b), int64(len(b)))
		if err != nil || size == 0 {
			return
		}
		safe, err := tab.asyncSafe(uint64(entry), int(size))
		if err == nil && len(safe) != int(size) {
			t.Fatalf("%d entries for a function of %d bytes", len(safe), size)
		}
	})
}
