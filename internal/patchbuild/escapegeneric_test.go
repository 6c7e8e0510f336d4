package patchbuild

import (
	"maps"
	"strings"
	"testing"
)

func TestParseFlows(t *testing.T) {
	out := strings.Join([]string{
		"./p/p.go:9:27: parameter p.x leaks to {heap} for SumOf[go.shape.*uint8] with derefs=1:",
		"./p/p.go:9:27: parameter p.x leaks to {heap} for SumOf[go.shape.*uint8] with derefs=0:",
		"./p/p.go:9:27:     from p.sink = p.x (assign) at ./p/p.go:11:8",
		"./p/p.go:7:24: parameter p.x leaks to p.~r0 for (*Ring[go.shape.*uint8]).Last with derefs=1:",
		"zz.go:3:9: parameter xs leaks to {storage for xs} for hotfixG1[go.shape.int] with derefs=0:",
		"./p/p.go:18:49: parameter p.v leaks to p.out for Pick[go.shape.string,go.shape.int] with derefs=0:",
	}, "\n")
	got := parseFlows(out)
	want := flows{
		"SumOf[go.shape.*uint8]":             {"x": {"{heap}": 0}},
		"(*Ring[go.shape.*uint8]).Last":      {"x": {"~r0": 1}},
		"hotfixG1[go.shape.int]":             {"xs": {"{storage for xs}": 0}},
		"Pick[go.shape.string,go.shape.int]": {"v": {"out": 0}},
	}
	for fn, ps := range want {
		for p, w := range ps {
			if !maps.Equal(got[fn][p], w) {
				t.Errorf("%s %s: %v, want %v", fn, p, got[fn][p], w)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d functions, want %d: %v", len(got), len(want), got)
	}
}

// TestCompareFlows: a shape function's parameter may flow in the copy
// only where it did in the release, no deeper; a flow to a location on
// the heap is a flow to the heap, which covers every other.
func TestCompareFlows(t *testing.T) {
	g := &genericFunc{sym: "p.F[...]", name: "F", copyName: "hotfixG0", shapes: [][]string{{"go.shape.int"}},
		params: []string{"a", "b"}, relParams: []string{"x", "b"}, results: []string{"out"}, relResults: []string{"res"}}
	const rel, cp = "F[go.shape.int]", "hotfixG0[go.shape.int]"
	tests := []struct {
		name      string
		before    map[string]map[string]int // release parameter -> flows
		after     map[string]map[string]int // copy parameter -> flows
		refusedOf string                    // the copy's parameter refused, "" for none
	}{
		{"neither escapes", nil, nil, ""},
		{"renamed, the same flow", map[string]map[string]int{"x": {"{heap}": 0}}, map[string]map[string]int{"a": {"{heap}": 0}}, ""},
		{"to the heap now", nil, map[string]map[string]int{"a": {"{heap}": 0}}, "a"},
		{"to heap storage now", nil, map[string]map[string]int{"b": {"{storage for b}": 0}}, "b"},
		{"shallower", map[string]map[string]int{"x": {"{heap}": 1}}, map[string]map[string]int{"a": {"{heap}": 0}}, "a"},
		{"deeper", map[string]map[string]int{"x": {"{heap}": 0}}, map[string]map[string]int{"a": {"{heap}": 1}}, ""},
		{"the named result, renamed", map[string]map[string]int{"x": {"res": 0}}, map[string]map[string]int{"a": {"out": 0}}, ""},
		{"the unnamed result is the named one", map[string]map[string]int{"x": {"~r0": 0}}, map[string]map[string]int{"a": {"out": 0}}, ""},
		{"to the result where it went to the heap", map[string]map[string]int{"x": {"{heap}": 0}}, map[string]map[string]int{"a": {"out": 0}}, ""},
		{"to the heap where it went to the result", map[string]map[string]int{"x": {"res": 0}}, map[string]map[string]int{"a": {"{heap}": 0}}, "a"},
		{"a local on the heap is the heap", map[string]map[string]int{"x": {"tmp": 0}}, map[string]map[string]int{"a": {"{heap}": 0}}, ""},
	}
	for _, tt := range tests {
		refused := g.compareFlows(flows{rel: tt.before}, flows{cp: tt.after})
		switch {
		case tt.refusedOf == "" && len(refused) > 0:
			t.Errorf("%s: refused: %v", tt.name, refused)
		case tt.refusedOf != "" && (len(refused) != 1 || !strings.Contains(refused[0].Detail, "parameter "+tt.refusedOf+" flows")):
			t.Errorf("%s: %v, want one refusal of parameter %s", tt.name, refused, tt.refusedOf)
		}
	}
}

// TestParseFlowsAddressEscapes: a parameter whose address escapes is
// moved to the heap, and -m=2 prints no flow of it: what it points to
// goes to the heap. A shape of a channel has a space in its name.
func TestParseFlowsAddressEscapes(t *testing.T) {
	out := strings.Join([]string{
		"p/p.go:7:15: p escapes to heap in G[go.shape.int]:",
		"p/p.go:7:15: moved to heap: p",
		"p/p.go:9:15: parameter p.c leaks to {heap} for Ch[go.shape.chan int] with derefs=0:",
	}, "\n")
	got := parseFlows(out)
	if d, ok := got["G[go.shape.int]"]["p"]["{heap}"]; !ok || d != 0 {
		t.Errorf("G's p: %v", got["G[go.shape.int]"])
	}
	if d, ok := got["Ch[go.shape.chan int]"]["c"]["{heap}"]; !ok || d != 0 {
		t.Errorf("Ch's c: %v", got)
	}
}
