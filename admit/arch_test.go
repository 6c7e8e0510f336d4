package admit

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestOfflineShapeByBinaryMachine: `hotfix verify` and `hotfix build`
// judge a function's entry as code of the binary's machine, not of the
// machine they run on. The loader's testdata/generics is built for amd64
// and for arm64 (pure Go: no cross C compiler needed) and the same
// function is checked in both, on whatever machine the test runs.
func TestOfflineShapeByBinaryMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program for two architectures")
	}
	tests := []struct {
		goarch  string
		machine elf.Machine
		shape   string
		reason  string
	}{
		{"amd64", elf.EM_X86_64, "medium-frame stack check", "LEAQ -n(SP), R12; CMPQ R12, 16(R14); JLS, decoded as x86"},
		{"arm64", elf.EM_AARCH64, "4-byte B over the first instruction of the stack check", "MOVD 16(g), R16 decoded as arm64, not as x86 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.goarch, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "generics")
			cmd := exec.Command("go", "build", "-trimpath", "-gcflags=example.com/generics/p=-l", "-o", exe, ".")
			cmd.Dir = filepath.Join("..", "loader", "testdata", "generics")
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+tt.goarch, "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build loader/testdata/generics for %s: %v\n%s", tt.goarch, err, out)
			}
			bin, err := loader.ReadBinary(exe)
			if err != nil {
				t.Fatal(err)
			}
			if bin.Machine() != tt.machine {
				t.Fatalf("Machine() = %v, want %v", bin.Machine(), tt.machine)
			}
			plan, err := OfflineShape(bin, "example.com/generics/q.Q")
			if err != nil || plan.Shape != tt.shape || plan.Guard {
				t.Fatalf("OfflineShape(q.Q) = %+v, %v; want shape %q, no guard (%s)", plan, err, tt.shape, tt.reason)
			}
		})
	}
}
