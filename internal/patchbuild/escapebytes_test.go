package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// TestWritableBytes: a write through a parameter matters to its callers
// only where the memory may be a []byte's array, which a caller may have
// made by a []byte(s) conversion that shares s's bytes.
func TestWritableBytes(t *testing.T) {
	const src = `package p

import "unsafe"

type Server struct {
	hits int
	name string
	buf  []byte
	next *Server
}

type Plain struct {
	n    int
	tags []string
}

var (
	bs     []byte
	srv    *Server
	plain  *Plain
	arr    *[4]byte
	anyV   any
	ptr    unsafe.Pointer
	strs   []string
	bufs   [][]byte
	counts map[string]int
)
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	typ := func(name string) types.Type { return pkg.Scope().Lookup(name).Type() }
	tests := []struct {
		v      string
		derefs int
		want   bool
		why    string
	}{
		{"bs", 0, true, "the array of a []byte"},
		{"srv", 0, false, "a Server: srv.hits++ asks nothing of callers"},
		{"srv", 1, true, "what Server's fields point to: buf's array"},
		{"plain", 0, false, "a Plain"},
		{"plain", 1, false, "the []string's array"},
		{"plain", 2, false, "the strings' bytes, never written"},
		{"arr", 0, true, "a *[4]byte converted from a []byte"},
		{"anyV", 0, true, "anything"},
		{"ptr", 0, true, "anything"},
		{"strs", 0, false, "strings"},
		{"bufs", 0, false, "slice headers"},
		{"bufs", 1, true, "their arrays"},
		{"counts", 0, false, "a map of ints"},
	}
	for _, tt := range tests {
		if got := writableBytes(typ(tt.v), tt.derefs); got != tt.want {
			t.Errorf("writableBytes(%s, %d) = %v, want %v: %s", tt.v, tt.derefs, got, tt.want, tt.why)
		}
	}
	if got := withoutHarmlessWrites("mutates param: s derefs=0", typ("srv")); got != "s does not escape, mutate, or call" {
		t.Errorf("a write to the Server itself: %q", got)
	}
	if got := withoutHarmlessWrites("leaking param: s to result ~r0 level=0; mutates param: s derefs=0", typ("srv")); got != "leaking param: s to result ~r0 level=0" {
		t.Errorf("a write to the Server beside a leak: %q", got)
	}
	if got := withoutHarmlessWrites("mutates param: b derefs=0", typ("bs")); got != "mutates param: b derefs=0" {
		t.Errorf("a write to a []byte's array: %q", got)
	}
}
