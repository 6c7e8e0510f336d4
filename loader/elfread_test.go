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

// symbolProbe is data of this test binary with known bytes.
var symbolProbe = [8]byte{'h', 'o', 't', 'f', 'i', 'x', 1, 2}

// TestSymbolBytes: Symbol finds a function and a data object by name,
// with its size; Bytes reads code as Code does, data as the file holds
// it, and nothing outside the file's sections.
func TestSymbolBytes(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadBinary(exe)
	if err != nil {
		t.Skipf("test binary: %v", err)
	}
	const fn = "github.com/gohotfix/hotfix/loader.ReadBinary"
	addr, size, ok := b.Symbol(fn)
	if !ok || size == 0 {
		t.Fatalf("Symbol(%s) = %#x, %d, %v", fn, addr, size, ok)
	}
	code, err := b.Code(fn, int(size))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Bytes(addr, int(size)); err != nil || !bytes.Equal(got, code) {
		t.Errorf("Bytes(%s) = %x, %v; want Code's %x", fn, got, err, code)
	}
	const obj = "github.com/gohotfix/hotfix/loader.symbolProbe"
	addr, size, ok = b.Symbol(obj)
	if !ok || size != 8 {
		t.Fatalf("Symbol(%s) = %#x, %d, %v; want 8 bytes", obj, addr, size, ok)
	}
	if got, err := b.Bytes(addr, 8); err != nil || !bytes.Equal(got, symbolProbe[:]) {
		t.Errorf("Bytes(%s) = %q, %v; want %q", obj, got, err, symbolProbe[:])
	}
	if _, err := b.Bytes(0, 4); err == nil {
		t.Errorf("Bytes(0, 4): no error, want none of the file's sections")
	}
	if _, _, ok := b.Symbol("no.such.symbol"); ok {
		t.Errorf("Symbol(no.such.symbol) found")
	}
}
