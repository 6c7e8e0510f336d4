package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// TestFormOfTypes: a type is written as what it is, not as it is spelled:
// a fix that modernizes interface{} to any (oras-go's GO-2026-5879 did, in
// a sync.Pool's initializer) changes no code, while a different type does.
func TestFormOfTypes(t *testing.T) {
	const decls = "type Alias = []string\ntype Named []string\n"
	for _, tc := range []struct {
		release, fix string
		same         bool
	}{
		{"sync.Pool{New: func() interface{} { return nil }}", "sync.Pool{New: func() any { return nil }}", true},
		{"[]interface{}{1}", "[]any{1}", true},
		{"map[string]interface{}{}", "map[string]any{}", true},
		{"func(x ...interface{}) {}", "func(x ...any) {}", true},
		{"struct{ v interface{} }{}", "struct{ v any }{}", true},
		{"[]string{}", "Alias{}", true},
		{"[]string{}", "Named{}", false},
		{"[]any{1}", "[]error{nil}", false},
		{"func(x any) {}", "func(x error) {}", false},
		{"new(int)", "new(int64)", false},
	} {
		rf, ri := varInit(t, decls, tc.release)
		ff, fi := varInit(t, decls, tc.fix)
		b, f := form(rf, ri, nil, false), form(ff, fi, nil, false)
		if (b == f) != tc.same {
			t.Errorf("%s vs %s: same form %v, want %v\n%s\n%s", tc.release, tc.fix, b == f, tc.same, b, f)
		}
	}
}

// varInit type-checks "var V = init" in package p and returns init.
func varInit(t *testing.T, decls, init string) (ast.Expr, *types.Info) {
	t.Helper()
	src := "package p\n\nimport \"sync\"\n\nvar _ sync.Mutex\n\n" + decls + "\nvar V = " + init + "\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	last := f.Decls[len(f.Decls)-1].(*ast.GenDecl)
	return last.Specs[0].(*ast.ValueSpec).Values[0], info
}
