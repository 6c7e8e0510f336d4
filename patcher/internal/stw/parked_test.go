package stw

import (
	"debug/dwarf"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGLayout checks the offsets ParkedIn reads against the DWARF of a
// program built by the toolchain in use.
func TestGLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	want, ok := gLayouts[goRelease(runtime.Version())]
	if !ok {
		t.Fatalf("no layout of runtime.g for %s", runtime.Version())
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
	got := dwarfGLayout(t, exe)
	if got != want {
		t.Errorf("runtime.g in %s: DWARF says %+v, gLayouts has %+v", runtime.Version(), got, want)
	}
}

func dwarfGLayout(t *testing.T, exe string) gLayout {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		t.Fatalf("DWARF of %s: %v", exe, err)
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			t.Fatalf("no runtime.g in the DWARF of %s (%v)", exe, err)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "runtime.g" {
			continue
		}
		typ, err := d.Type(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		var l gLayout
		for _, fl := range typ.(*dwarf.StructType).Field {
			switch fl.Name {
			case "stack":
				l.stackHi = uintptr(fl.ByteOffset) + 8 // stack{lo, hi}
			case "sched":
				l.schedSP = uintptr(fl.ByteOffset) // gobuf{sp, ...}
			case "asyncSafePoint":
				l.asyncSafePoint = uintptr(fl.ByteOffset)
			}
		}
		return l
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
