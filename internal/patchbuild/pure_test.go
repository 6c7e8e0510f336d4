package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

func TestPureInit(t *testing.T) {
	const src = `package p

import "io"

type I interface{ M() }
type T struct{ f int; p *T }
func (T) M() {}
func (*T) N() {}
func f() int { return 1 }
var x T
var px *T
var s []byte
var ch chan int
var iv I
const c = 3

var _ I = (*T)(nil)                 // pure
var _ I = T{}                       // pure
var _ I = &T{f: c}                  // pure
var _ io.Reader = nil               // pure
var _ = f                           // pure
var _ = T.M                         // pure
var _ = x.f                         // pure
var _ = []int{1, c, 3}              // pure
var _ = map[string]int{"a": 1}      // pure
var _ = func() { f() }              // pure
var _ = -c                          // pure
var _ = string(s)                   // pure
var _ = f()                         // effect
var _ = px.f                        // effect: px may be nil
var _ = <-ch                        // effect
var _ = (*[4]byte)(s)               // effect: s may be short
var _ = T{f: f()}                   // effect
var _ I = x.p                       // pure: a field of x, not read through a pointer
var _ = [4]byte(s)                  // effect: s may be short
var _ = iv.M                        // effect: iv may be nil
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Selections: map[*ast.SelectorExpr]*types.Selection{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{file}, info); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cg := range file.Comments {
		line := fset.Position(cg.Pos()).Line
		want := cg.List[0].Text
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR || fset.Position(g.Pos()).Line != line {
				continue
			}
			vs := g.Specs[0].(*ast.ValueSpec)
			if vs.Names[0].Name != "_" {
				continue
			}
			n++
			wantPure := strings.HasPrefix(want, "// pure")
			if got := pureSpec(vs, info); got != wantPure {
				t.Errorf("line %d %s: pure %v, want %v", line, want, got, wantPure)
			}
		}
	}
	if n != 20 {
		t.Fatalf("checked %d blank variables, want 20", n)
	}
}
