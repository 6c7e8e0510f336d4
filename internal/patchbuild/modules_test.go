package patchbuild

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
)

func TestModuleChanges(t *testing.T) {
	const base = "module example.com/app\n\ngo 1.26.0\n\nrequire golang.org/x/image v0.9.0\n"
	tests := []struct {
		name           string
		fix            string
		refused, noted int
		reason         string
	}{
		{"same", base, 0, 0, "nothing changed"},
		{"comment", "// hi\n" + base, 0, 0, "a comment changes no build"},
		{"bump", "module example.com/app\n\ngo 1.26.0\n\nrequire golang.org/x/image v0.10.0\n", 0, 1, "the bump is noted: the changed packages decide"},
		{"added", base + "require golang.org/x/text v0.3.0\n", 0, 1, "a new requirement is used only if a changed package imports it"},
		{"replace", base + "replace golang.org/x/image => ./third_party/image\n", 0, 1, "a replaced copy is compared like the module"},
		{"go line", "module example.com/app\n\ngo 1.27.0\n\nrequire golang.org/x/image v0.9.0\n", 1, 0, "the language version changes how every package compiles"},
		{"toolchain", base + "toolchain go1.26.9\n", 1, 0, "another toolchain builds another binary"},
		{"godebug", base + "godebug panicnil=1\n", 1, 0, "runtime behaviour the release started with"},
		{"module path", "module example.com/other\n\ngo 1.26.0\n\nrequire golang.org/x/image v0.9.0\n", 1, 0, "another module"},
	}
	b, err := modfile.Parse("go.mod", []byte(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		f, err := modfile.Parse("go.mod", []byte(tt.fix), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		refused, noted := moduleChanges(b, f)
		if diff := cmp.Diff([2]int{tt.refused, tt.noted}, [2]int{len(refused), len(noted)}); diff != "" {
			t.Errorf("%s: (refused, noted) (-want +got), %s:\n%s\nrefused %q\nnoted %q", tt.name, tt.reason, diff, refused, noted)
		}
	}
}
