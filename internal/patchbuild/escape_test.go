package patchbuild

import "testing"

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
	}
	for _, tt := range tests {
		if got := escapesNoMore(tt.release, tt.fix); got != tt.ok {
			t.Errorf("escapesNoMore(%q, %q) = %v, want %v: %s", tt.release, tt.fix, got, tt.ok, tt.why)
		}
	}
}
