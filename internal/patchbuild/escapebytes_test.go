package patchbuild

import (
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
	pkg := check(t, src) // added_test.go
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
	for _, tt := range []struct{ v, diags, want, what string }{
		{"srv", "mutates param: s derefs=0", "s does not escape, mutate, or call", "a write to the Server itself"},
		{"srv", "leaking param: s to result ~r0 level=0; mutates param: s derefs=0", "leaking param: s to result ~r0 level=0", "a write to the Server beside a leak"},
		{"bs", "mutates param: b derefs=0", "mutates param: b derefs=0", "a write to a []byte's array"},
	} {
		if got := withoutHarmlessWrites(tt.diags, typ(tt.v)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.what, got, tt.want)
		}
	}
}
