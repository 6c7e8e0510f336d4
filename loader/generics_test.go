package loader

import (
	"debug/elf"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const genericsPkg = "example.com/generics/"

// buildGenerics builds testdata/generics with hotfix's flags for a policy
// that allows package p (-trimpath, -checklinkname=0, p=-l), plus extra
// go build flags, and returns the binary's path.
func buildGenerics(t *testing.T, extra ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a program")
	}
	exe := filepath.Join(t.TempDir(), "generics")
	args := append([]string{"build", "-trimpath", "-ldflags=-checklinkname=0", "-gcflags=" + genericsPkg + "p=-l"}, extra...)
	cmd := exec.Command("go", append(args, "-o", exe, ".")...)
	cmd.Dir = filepath.Join("testdata", "generics")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/generics %v: %v\n%s", extra, err, out)
	}
	return exe
}

// elfSymbols returns the binary's symbols by name: type and binding.
func elfSymbols(t *testing.T, path string) map[string]elf.Symbol {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]elf.Symbol{}
	for _, s := range syms {
		if strings.HasPrefix(s.Name, genericsPkg) {
			m[strings.TrimPrefix(s.Name, genericsPkg)] = s
		}
	}
	return m
}

// TestGenericFacts pins how generic code appears in a binary built with
// hotfix's flags, on the toolchain in use (the same under Go 1.26 and
// 1.27 but for the closure's binding). See cmd/compile/internal/noder
// (reader.go: shapes and dictionaries, "GC shape stenciling" in the Go
// design documents) and cmd/compile/internal/reflectdata (dictionary
// symbols).
func TestGenericFacts(t *testing.T) {
	withL := elfSymbols(t, buildGenerics(t, "-gcflags="+genericsPkg+"q=-l"))
	noL := elfSymbols(t, buildGenerics(t))
	fn := func(s elf.Symbol) bool { return elf.ST_TYPE(s.Info) == elf.STT_FUNC }
	obj := func(s elf.Symbol) bool { return elf.ST_TYPE(s.Info) == elf.STT_OBJECT }
	static := !strings.HasPrefix(runtime.Version(), "go1.26")
	tests := []struct {
		name   string
		syms   map[string]elf.Symbol
		sym    string
		want   func(elf.Symbol) bool // nil: the symbol is absent
		reason string
	}{
		{"shape function", withL, "p.SumOf[go.shape.int]", fn, "one function per GC shape, named by the shape"},
		{"shape of a named type", withL, "p.SumOf[go.shape.int64]", fn, "int64's own shape"},
		{"shape of string", withL, "p.SumOf[go.shape.string]", fn, ""},
		{"no function per type argument", withL, "p.SumOf[int]", nil, "the wrapper the compiler makes per type argument (for func values) is dropped by the linker when unused"},
		{"MyInt shares int's shape", withL, "p.SumOf[go.shape.example.com/generics/q.MyInt]", nil, "a named type takes its underlying type's shape"},
		{"dictionary per type argument", withL, "p..dict.SumOf[int]", obj, "read-only data, named by the concrete type arguments"},
		{"dictionary of a named type", withL, "p..dict.SumOf[example.com/generics/q.MyInt]", obj, "a dictionary per type argument, even where the shape is shared"},
		{"method of a generic type", withL, "p.(*Box[go.shape.int]).Get", fn, "the receiver type is instantiated with the shape"},
		{"method's dictionary is its type's", withL, "p..dict.Box[int]", obj, ""},
		{"closure of a generic function", withL, "p.Each[go.shape.int].func1", fn, "named after the shape function"},
		{"plain function", withL, "p.Plain", fn, "-l on p: never inlined"},
		{"inlined into q without -l", noL, "p.SumOf[go.shape.int64]", nil, "q instantiates it with q's flags and inlines it, although p has -l"},
		{"method inlined into q", noL, "p.(*Box[go.shape.int]).Get", nil, ""},
		{"closure inlined too", noL, "p.Each[go.shape.int].func1", nil, ""},
		{"p's own instantiation stays", noL, "p.SumOf[go.shape.int]", fn, "p.Local's call, compiled in p with -l; the linker keeps one copy of a shape function"},
		{"non-generic function of p", noL, "p.Plain", fn, "not inlined: its body is not in p's export data"},
	}
	for _, tt := range tests {
		s, ok := tt.syms[tt.sym]
		switch {
		case tt.want == nil && ok:
			t.Errorf("%s: %s is in the binary, want it absent: %s", tt.name, tt.sym, tt.reason)
		case tt.want != nil && !ok:
			t.Errorf("%s: %s is not in the binary: %s", tt.name, tt.sym, tt.reason)
		case tt.want != nil && !tt.want(s):
			t.Errorf("%s: %s is of type %v: %s", tt.name, tt.sym, elf.ST_TYPE(s.Info), tt.reason)
		}
	}
	// Go 1.27 makes closures static (TestPluginClosureSymbols), in
	// generic code too.
	if s := withL["p.Each[go.shape.int].func1"]; (elf.ST_BIND(s.Info) == elf.STB_LOCAL) != static {
		t.Errorf("%s: closure of a generic function bound %v", runtime.Version(), elf.ST_BIND(s.Info))
	}
	if s := withL["p..dict.SumOf[int]"]; s.Size == 0 || s.Size%8 != 0 {
		t.Errorf("dictionary of %d bytes, want whole words", s.Size)
	}
}

// TestGenericObjectFiles pins where instantiations are compiled: in the
// object file of each package that instantiates them, with its flags
// (dupok symbols: the linker keeps one copy of each). p's
// archive holds only what p itself instantiates.
func TestGenericObjectFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles packages")
	}
	defined := func(pkg string) map[string]bool {
		t.Helper()
		cmd := exec.Command("go", "list", "-export", "-trimpath", "-gcflags="+genericsPkg+"p=-l", "-f", "{{.Export}}", "./"+pkg)
		cmd.Dir = filepath.Join("testdata", "generics")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -export ./%s: %v", pkg, err)
		}
		nm, err := exec.Command("go", "tool", "nm", strings.TrimSpace(string(out))).Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", out, err)
		}
		m := map[string]bool{}
		for _, line := range strings.Split(string(nm), "\n") {
			if f := strings.Fields(line); len(f) == 3 && (f[1] == "T" || f[1] == "R") {
				m[strings.TrimPrefix(f[2], genericsPkg)] = true
			}
		}
		return m
	}
	p, q := defined("p"), defined("q")
	for _, s := range []string{"p.SumOf[go.shape.int]", "p..dict.SumOf[int]"} {
		if !p[s] || !q[s] {
			t.Errorf("%s: in p's object file %v, in q's %v; want both", s, p[s], q[s])
		}
	}
	for _, s := range []string{"p.SumOf[go.shape.int64]", "p.(*Box[go.shape.int]).Get", "p.Each[go.shape.int].func1", "p..dict.Box[int]"} {
		if p[s] || !q[s] {
			t.Errorf("%s: in p's object file %v, in q's %v; want only q's", s, p[s], q[s])
		}
	}
}

// A host linked with -s has no symbol table: ReadBinary says so, about the
// binary, and how to build one that works (issue 23).
func TestReadBinaryStripped(t *testing.T) {
	exe := buildGenerics(t, "-ldflags=-checklinkname=0 -s")
	_, err := ReadBinary(exe)
	if !errors.Is(err, ErrHost) || !strings.Contains(err.Error(), "no symbol table: it was linked with -s") || strings.Contains(err.Error(), "not a hotfix patch") {
		t.Fatalf("ReadBinary of a stripped host: %v", err)
	}
}
