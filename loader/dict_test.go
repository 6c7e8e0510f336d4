package loader

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDictionaries reads generic dictionaries from a binary built with
// hotfix's flags: each word named by what it points to, as the builder
// compares them between a release and a patch. SumOf ranges over a
// slice: its third word is an entry the linker left nil.
func TestDictionaries(t *testing.T) {
	exe := buildGenerics(t, "-gcflags="+genericsPkg+"q=-l")
	const p = genericsPkg + "p..dict."
	got, err := Dictionaries(exe, []string{p + "SumOf[int]", p + "SumOf[string]", p + "Box[int]", p + "SumOf[example.com/generics/q.MyInt]", p + "Nothing[int]"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		p + "SumOf[int]":                          {"type []int", "type int", "nil"},
		p + "SumOf[string]":                       {"type []string", "type string", "nil"},
		p + "SumOf[example.com/generics/q.MyInt]": {"type []q.MyInt", "type q.MyInt", "nil"},
		p + "Box[int]":                            {"type *p.Box[int]", "type int"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dictionaries (-want +got):\n%s", diff)
	}
}

func TestNameForPrint(t *testing.T) {
	for in, want := range map[string]string{
		"p.F[go.shape.int]":          "p.F[...]",
		"p.(*Box[go.shape.int]).Get": "p.(*Box[...]).Get",
		"p.F[go.shape.[]int].func1":  "p.F[...].func1",
		"p.Plain":                    "p.Plain",
	} {
		if got := nameForPrint(in); got != want {
			t.Errorf("nameForPrint(%q) = %q, want %q", in, got, want)
		}
	}
}
