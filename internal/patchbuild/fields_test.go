package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/token"
	"testing"
)

// TestContextFree: what a new field's inferred default may be, since it
// is copied into a generated file of the package and evaluated there per
// object: nothing of the constructor it was written in (a parameter, a
// local, the receiver, a local type), even inside a function literal and
// even beside names that are fine; no call but make, new and conversions
// outside a literal; no dot-imported name (the generated file does not
// import it).
func TestContextFree(t *testing.T) {
	for _, tc := range []struct {
		expr string
		free bool
	}{
		{"func(n int) bool { return n > 0 }", true},
		{"func(n int) bool { return limit >= n }", false},
		{"func(n int) bool { return n <= limit }", false},
		{"func() int { return x.M() + 1 }", false},
		{"func() int { return x.n }", false},
		{"maxItems + 1", true},
		{"size + maxItems", false}, // the parameter, not the package's size
		{"2 * time.Second", true},
		{"2 * Pi", false},
		{"func() any { type in int; return in(1) }", true},
		{"func() any { return local(1) }", false},
		{"func(s string) bool { return strconv.Itoa(len(s)) != \"\" }", true},
		{"strconv.Itoa(3)", false},
		{"make(map[int]bool)", true},
		{"func() func() int { return func() int { return maxItems } }", true},
		{"func() int { y := 1; return func() int { return y }() }", true},
		{"[]int{maxItems, limit}", false},
	} {
		src := "package p\n\nimport (\n\t. \"math\"\n\t\"strconv\"\n\t\"time\"\n)\n\nvar _ = Pi\nvar _ = strconv.Itoa\nvar _ = time.Second\n\n" +
			"type T struct {\n\tv any\n\tn int\n}\n\nfunc (t *T) M() int { return 1 }\n\nvar size = 3\n\nconst maxItems = 10\n\n" +
			"func New(limit, size int) *T {\n\tx := &T{}\n\ttype local int\n\t_, _ = x, local(0)\n\treturn &T{v: " + tc.expr + "}\n}\n"
		fset := token.NewFileSet()
		f, info := checkFile(t, fset, src, importer.Default())
		var value ast.Expr
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				value = kv.Value
			}
			return value == nil
		})
		pkg := info.Defs[f.Decls[len(f.Decls)-1].(*ast.FuncDecl).Name].Pkg()
		if got := contextFree(value, info, pkg); got != tc.free {
			t.Errorf("%s: context free %v, want %v", tc.expr, got, tc.free)
		}
	}
}
