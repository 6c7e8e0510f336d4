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
// a sync.Pool's initializer) changes no code, while a different type does,
// even where the type's string would not show it.
func TestFormOfTypes(t *testing.T) {
	const decls = "type Alias = []string\ntype Named []string\ntype ID = string\n"
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
		// What TypeString does not tell apart is written as spelled: an
		// embedded field's name, and whose an unexported name is.
		{"struct{ string }{}", "struct{ ID }{}", false},
		{"struct{ x int }{}", "a.S{}", false},
		{"new(interface{ m() })", "new(a.I)", false},
		{"new(interface{ M() })", "new(a.J)", true},
		{"struct{ X any }{}", "struct{ X interface{} }{}", true},
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
	src := "package p\n\nimport (\n\t\"a\"\n\t\"sync\"\n)\n\nvar _ sync.Mutex\nvar _ a.S\n\n" + decls + "\nvar V = " + init + "\n"
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, "a.go", "package a\n\ntype S = struct{ x int }\ntype I = interface{ m() }\ntype J = interface{ M() }\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := (&types.Config{}).Check("a", fset, []*ast.File{af}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, info := checkFile(t, fset, src, importerFunc(func(path string) (*types.Package, error) {
		if path == "a" {
			return a, nil
		}
		return importer.Default().Import(path)
	}))
	last := f.Decls[len(f.Decls)-1].(*ast.GenDecl)
	return last.Specs[0].(*ast.ValueSpec).Values[0], info
}
