package loader

import (
	"bytes"
	"debug/elf"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWantedSymbols: the symbol table scan a patch's checks use finds
// what elf.File.Symbols finds, for the names asked for, the "local."
// copies of them and the package fingerprints, and nothing else, on a
// small C shared object and on this test binary (make test links it with
// its symbol table).
func TestWantedSymbols(t *testing.T) {
	for _, path := range []string{"testdata/tiny.so", testBinary(t)} {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		all, err := f.Symbols()
		if err != nil {
			t.Skipf("%s: %v", path, err)
		}
		want := map[string]bool{}
		for i, s := range all {
			if i%97 == 0 {
				want[strings.TrimPrefix(s.Name, "local.")] = true
			}
		}
		var exp []elf.Symbol
		for _, s := range all {
			if want[strings.TrimPrefix(s.Name, "local.")] || strings.HasPrefix(s.Name, pkgHashPrefix) {
				s.Version, s.Library = "", "" // dynamic symbols only
				exp = append(exp, s)
			}
		}
		got, err := wantedSymbols(f, want)
		if err != nil {
			t.Fatal(err)
		}
		if len(exp) == 0 {
			t.Fatalf("%s: nothing to compare", path)
		}
		if diff := cmp.Diff(exp, got); diff != "" {
			t.Errorf("%s: wantedSymbols (-Symbols +scan):\n%s", path, diff)
		}
	}
}

// testBinary is this test binary, unless it has no symbol table.
func testBinary(t *testing.T) string {
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Contains(b, []byte(".symtab")) {
		return "testdata/tiny.so"
	}
	return p
}
