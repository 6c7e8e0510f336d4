package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// TestConstDecl: the declaration written for a new constant has the same
// value, type and kind as the fix's: it is type-checked here and compared.
func TestConstDecl(t *testing.T) {
	const src = `package p

import "time"

type Size int64

const (
	a = 1 << 20
	b = "x\ty"
	c = 2.0
	d = 0.5
	e = 'é'
	f = true
	g int32 = -7
	h Size = 1 << 40
	i = a * 3
	j uint8 = iota
	k = 1.0 / 3
	l = time.Second
	m = 1 + 2i
)
`
	pkg := check(t, src)
	tests := []struct {
		name, want, why string
	}{
		{"a", "const a = 1048576", ""},
		{"b", `const b = "x\ty"`, ""},
		{"c", "const c = 2.0", ""},
		{"d", "const d = 0.5", ""},
		{"e", "const e = 'é'", ""},
		{"f", "const f = true", ""},
		{"g", "const g int32 = -7", ""},
		{"h", "const h Size = 1099511627776", ""},
		{"i", "const i = 3145728", ""},
		{"j", "const j uint8 = 9", ""},
		{"k", "", "its value 0.333333 cannot be written exactly"},
		{"l", "", "its type time.Duration is not declared in its package"},
		{"m", "", "its value (1 + 2i) cannot be written exactly"},
	}
	for _, tt := range tests {
		c := pkg.Scope().Lookup(tt.name).(*types.Const)
		got, why := constDecl(c, pkg)
		if got != tt.want || why != tt.why {
			t.Errorf("%s: %q, %q; want %q, %q", tt.name, got, why, tt.want, tt.why)
			continue
		}
		if got == "" {
			continue
		}
		// The declaration alone, in a package with the same named types,
		// gives the same constant.
		again := check(t, "package p\n\ntype Size int64\n\n"+got+"\n").Scope().Lookup(tt.name).(*types.Const)
		if !types.Identical(again.Type(), c.Type()) && again.Type().String() != c.Type().String() || again.Val().ExactString() != c.Val().ExactString() || again.Val().Kind() != c.Val().Kind() {
			t.Errorf("%s: %s gives %s %s (%v), want %s %s (%v)", tt.name, got, again.Type(), again.Val(), again.Val().Kind(), c.Type(), c.Val(), c.Val().Kind())
		}
	}
}

func check(t *testing.T, src string) *types.Package {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}
