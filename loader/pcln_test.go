package loader

import (
	"encoding/json"
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
