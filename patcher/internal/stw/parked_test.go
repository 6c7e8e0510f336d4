//go:build hotfix

package stw

import (
	"debug/dwarf"
	"debug/elf"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestLayout checks the offsets ParkedIn reads against the DWARF of a
// program built by the toolchain in use.
func TestLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	want, ok := layouts[version.Lang(runtime.Version())]
	if !ok {
		t.Fatalf("no layout of the runtime for %s", runtime.Version())
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(1) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "prog")
	if out, err := exec.Command("go", "build", "-o", exe, src).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		t.Fatalf("DWARF of %s: %v", exe, err)
	}
	g, p, s := dwarfFields(t, d, "runtime.g"), dwarfFields(t, d, "runtime.p"), dwarfFields(t, d, "runtime.schedt")
	got := rtLayout{
		gStackHi: g["stack"] + 8, gSchedSP: g["sched"], gSchedlink: g["schedlink"], gAsyncSafePoint: g["asyncSafePoint"],
		pRunqhead: p["runqhead"], pRunqtail: p["runqtail"], pRunq: p["runq"], pRunnext: p["runnext"],
		schedRunq: s["runq"], schedDisabled: s["disable"] + 8, // disable{user bool; runnable gQueue}
		pStatus: p["status"], schedNpidle: s["npidle"], schedNmspinning: s["nmspinning"],
	}
	if got != want {
		t.Errorf("%s: DWARF says %+v, layouts has %+v", runtime.Version(), got, want)
	}
	if c, ok := dwarfConst(d, "runtime._Pidle"); !ok || c != pIdle {
		t.Errorf("%s: DWARF says runtime._Pidle = %d (found: %v), Settle reads %d", runtime.Version(), c, ok, pIdle)
	}
}

// dwarfConst returns the value of the named constant.
func dwarfConst(d *dwarf.Data, name string) (int64, bool) {
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return 0, false
		}
		if e.Tag == dwarf.TagConstant && e.Val(dwarf.AttrName) == name {
			v, ok := e.Val(dwarf.AttrConstValue).(int64)
			return v, ok
		}
	}
}

// TestLayoutsCoverSupportedGo: every Go release hotfix supports has the
// offsets of its runtime here (CI proves each under its own toolchain).
func TestLayoutsCoverSupportedGo(t *testing.T) {
	for _, r := range loader.SupportedGo {
		if _, ok := layouts[r]; !ok {
			t.Errorf("no runtime layout for %s, which loader.SupportedGo lists", r)
		}
	}
}

// dwarfFields returns the offset of every field of the named struct.
func dwarfFields(t *testing.T, d *dwarf.Data, name string) map[string]uintptr {
	t.Helper()
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			t.Fatalf("no %s in the DWARF (%v)", name, err)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != name {
			continue
		}
		typ, err := d.Type(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]uintptr{}
		for _, fl := range typ.(*dwarf.StructType).Field {
			fields[fl.Name] = uintptr(fl.ByteOffset)
		}
		return fields
	}
}

// TestSelfTest runs the start-up proof: a goroutine parked by asynchronous
// preemption in a known leaf is found, and the depth of its resume PC is
// measured.
func TestSelfTest(t *testing.T) {
	if err := SelfTest(); err != nil {
		t.Fatal(err)
	}
	if scanner.depth == 0 || scanner.depth >= maxDepth {
		t.Errorf("resume PC %d bytes above the saved SP, want within (0, %d)", scanner.depth, maxDepth)
	}
	t.Logf("resume PC %d bytes above the saved SP (%s)", scanner.depth, runtime.Version())
}

// TestRunQueuesHoldEveryParked checks the claim ParkedIn rests on: with the
// world stopped, every goroutine parked by asynchronous preemption is in a
// run queue. More goroutines than Ps spin in a leaf, so that at each stop
// some were preempted by it (runnext), some earlier by sysmon (the global
// queue) and some moved by stealing; the goroutines marked parked that a
// walk of every goroutine finds must be exactly those in the queues.
func TestRunQueuesHoldEveryParked(t *testing.T) {
	if err := SelfTest(); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Uint32
	n := 3*runtime.GOMAXPROCS(0) + 2
	done := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() { spinLeaf(&stop, 1<<40); done <- struct{}{} }()
	}
	defer func() {
		stop.Store(1)
		for i := 0; i < n; i++ {
			<-done
		}
	}()
	l := &scanner.layout
	all, inQueues := make([]uintptr, 0, 1024), make([]uintptr, 0, 1024)
	collect := func(out *[]uintptr) func(uintptr) bool {
		return func(gp uintptr) bool {
			if byteAt(gp+l.gAsyncSafePoint) != 0 && len(*out) < cap(*out) {
				*out = append(*out, gp)
			}
			return false
		}
	}
	// Each stop waits for sysmon to preempt a spinner: about 80 ms here.
	const rounds = 40
	seen := 0
	for round := 0; round < rounds; round++ {
		all, inQueues = all[:0], inQueues[:0]
		Do(func() {
			everyG(collect(&all))
			queued(collect(&inQueues))
		})
		seen += len(all)
		set := map[uintptr]bool{}
		for _, gp := range inQueues {
			set[gp] = true
		}
		for _, gp := range all {
			if !set[gp] {
				t.Fatalf("round %d: goroutine %#x is parked by asynchronous preemption but in no run queue (%d parked, %d in queues)", round, gp, len(all), len(inQueues))
			}
		}
		if len(inQueues) != len(all) {
			t.Fatalf("round %d: %d parked goroutines in the queues, %d in all", round, len(inQueues), len(all))
		}
		runtime.Gosched()
	}
	if seen == 0 {
		t.Fatal("no goroutine was ever parked by asynchronous preemption")
	}
	t.Logf("%d stops of the world, %d goroutines parked by asynchronous preemption, every one in a run queue", rounds, seen)
}
