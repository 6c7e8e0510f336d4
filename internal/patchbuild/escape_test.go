package patchbuild

import (
	"maps"
	"strings"
	"testing"
)

func TestEscapesNoMore(t *testing.T) {
	tests := []struct {
		release, fix string
		ok           bool
		why          string
	}{
		{"o does not escape", "o does not escape", true, "unchanged"},
		{"leaking param: o", "o does not escape", true, "less: callers gave it the heap for nothing"},
		{"leaking param content: o", "o does not escape", true, "less"},
		{"leaking param: o", "leaking param content: o", true, "the release's callers assumed the worst"},
		{"leaking param: o", "leaking param: o to result ~r0 level=0", true, "the release's callers assumed the worst"},
		{"o does not escape", "leaking param: o", false, "callers may have put *o on their stack"},
		{"o does not escape", "leaking param content: o", false, "what o points to may be on their stack"},
		{"leaking param content: o", "leaking param: o", false, "more"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o", false, "to the heap, not only to the result"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o to result ~r1 level=0", false, "another leak"},
		{"", "leaking param: o", false, "no diagnostic before: unknown"},
		{"", "o does not escape", true, "does not escape is always safe"},
		{"o does not escape, mutate, or call", "mutates param: o derefs=0", false, "a caller may have passed []byte(s) sharing s's bytes"},
		{"mutates param: o derefs=0", "mutates param: o derefs=0", true, "unchanged"},
		{"mutates param: o derefs=1", "mutates param: o derefs=0", false, "written through at a shallower depth"},
		{"mutates param: o derefs=0", "mutates param: o derefs=1", true, "deeper: less"},
		{"leaking param: o", "calls param: o derefs=0; mutates param: o derefs=0", true, "the heap covers writes and calls"},
		{"leaking param content: o", "mutates param: o derefs=0", false, "the heap at one dereference does not cover a write at none"},
		{"leaking param: o to result ~r0 level=0; mutates param: o derefs=0", "leaking param: o to result ~r0 level=0", true, "one flow of two"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o to result ~r0 level=0; mutates param: o derefs=0", false, "a write added"},
		{"calls param: o derefs=0", "o does not escape, mutate, or call", true, "less"},
	}
	for _, tt := range tests {
		if got := escapesNoMore(tt.release, tt.fix); got != tt.ok {
			t.Errorf("escapesNoMore(%q, %q) = %v, want %v: %s", tt.release, tt.fix, got, tt.ok, tt.why)
		}
	}
}

// TestParamDiagnostics: several diagnostics of one parameter are all kept,
// in one order, whatever order the compiler printed them in.
func TestParamDiagnostics(t *testing.T) {
	out := strings.Join([]string{
		"# example.com/p",
		"./p.go:3:10: mutates param: b derefs=0",
		"./p.go:3:10: leaking param: b to result ~r0 level=0",
		"./p.go:3:20: c does not escape, mutate, or call",
		"./p.go:4:9: func literal does not escape",
		"./p.go:5:2: moved to heap: x",
		"./p.go:6:7: leaking param content: s",
	}, "\n")
	got := paramDiagnostics(out)
	want := map[string]string{
		"p.go:3:10 b": "leaking param: b to result ~r0 level=0; mutates param: b derefs=0",
		"p.go:3:20 c": "c does not escape, mutate, or call",
		"p.go:6:7 s":  "leaking param content: s",
	}
	if !maps.Equal(got, want) {
		t.Errorf("paramDiagnostics = %q, want %q", got, want)
	}
}
