package patchbuild

import (
	"bytes"
	"strings"
	"testing"
)

// TestGenericFingerprintFacts pins what the export data, and so the
// package fingerprint plugin.Open compares, says of generic code, on the
// toolchain in use: why diff.go refuses a changed generic function, and
// what a patch replacing one could add to the package instead (see the
// generics issue's design notes).
func TestGenericFingerprintFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a package several times")
	}
	const p = `package p

// SumOf sums.
func SumOf[T ~int | ~string](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}
`
	const named = "\n// T is a named type.\ntype T int\n\n// Get instantiates SumOf.\nfunc Get(t T) T { return SumOf([]T{t}) }\n"
	const helper = "\nfunc hotfixSumOf[T ~int | ~string](xs []T) T {\n\tvar s T\n\tfor i := range xs {\n\t\ts += xs[i]\n\t}\n\treturn s\n}\n"
	newBody := strings.Replace(p, "\tfor _, x := range xs {\n\t\ts += x\n\t}", "\tfor i := range xs {\n\t\ts += xs[i]\n\t}", 1)
	tests := []struct {
		name      string
		base, fix string
		same      bool
		reason    string
	}{
		{"generic body changed, same lines", p, newBody, false, "a generic body is in the export data, for importers to instantiate: a patch cannot compile the package with the new body"},
		{"unexported generic function added last", p, p + helper, true, "not instantiated, and nothing exported refers to it"},
		{"... instantiated by a blank variable", p, p + helper + "\nvar _ = hotfixSumOf[int]\n", true, "in a package without named types"},
		{"... called by an unexported function", p, p + helper + "\nfunc keep() { hotfixSumOf([]int{1}) }\n", true, ""},
		{"unexported generic function added last, with a named type", p + named, p + named + helper, true, "not instantiated"},
		{"... instantiated by a blank variable, with a named type", p + named, p + named + helper + "\nvar _ = hotfixSumOf[int]\n", false, "presumably T's descriptor index moving, as for an added function in TestFingerprintFacts: an instantiation must not be made inside the package"},
	}
	dir := t.TempDir()
	build := func(src string) []byte {
		t.Helper()
		return packageExport(t, dir, map[string]string{"p.go": src})
	}
	for _, tt := range tests {
		if same := bytes.Equal(build(tt.base), build(tt.fix)); same != tt.same {
			t.Errorf("%s: same export data = %v, want %v: %s", tt.name, same, tt.same, tt.reason)
		}
	}
}
