package patchbuild

import (
	"fmt"
	"go/ast"
	"go/types"
	"strconv"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// A field the fix removes from a struct of the release is still in the
// release's objects, and the release's code still uses it. The patch's
// copy of the struct keeps it where the release has it, so that the
// layout is the release's; the fix's code no longer names it. Its type is
// written through an alias in the generated file, which imports what the
// type needs: the fix's file may no longer.

// keptField is a release field the fix removed.
type keptField struct {
	named *types.Named // the struct's type, in the fix
	field *types.Var   // the release's field
	tag   string
	after *ast.Field // the fix's declaration it follows, or nil: first
	file  *ast.File
	lit   *ast.StructType
}

func (k *keptField) alias() string {
	return "hotfixKept_" + k.named.Obj().Name() + "_" + k.field.Name()
}

// keepFields takes the fields the fix removes from the struct type
// release (fixed in the fix).
func (d *pkgDiff) keepFields(release, fixed *types.Named, removed []*types.Var) {
	if len(removed) == 0 {
		return
	}
	typ := d.obj(fixed.Obj().Name())
	bs := release.Underlying().(*types.Struct)
	lit, file := d.structDecl(fixed.Obj())
	for _, rv := range removed {
		pos := d.f.pos(fixed.Obj().Pos())
		what := "field " + rv.Name() + " " + types.TypeString(rv.Type(), qualifyName)
		k := &keptField{named: fixed, field: rv, file: file, lit: lit}
		why := d.fieldRule(fixed, rv, "keep the field", "; keep the field")
		if why == "" && lit == nil {
			why = "the struct's declaration was not found"
		}
		if why == "" {
			var ok bool
			k.tag, k.after, ok = d.keptPlace(bs, rv, lit)
			if !ok {
				why = "the field before it is declared together with others; declare it on its own line"
			}
		}
		if why != "" {
			d.refuse(pos, typ, "field removed", what+": "+why)
			continue
		}
		d.kept = append(d.kept, k)
		d.carry(pos, typ, "field removed", what+": the patch's struct keeps it, so the layout stays the release's")
	}
}

// keptPlace finds the declaration in the fix after which the removed field
// rv goes back: that of the nearest field before it in the release that
// the fix still has, or none, for the start of the struct.
func (d *pkgDiff) keptPlace(bs *types.Struct, rv *types.Var, lit *ast.StructType) (tag string, after *ast.Field, ok bool) {
	decl := map[string]*ast.Field{}
	last := map[string]bool{} // the last name of its declaration
	for _, f := range lit.Fields.List {
		for j, id := range f.Names {
			decl[id.Name], last[id.Name] = f, j == len(f.Names)-1
		}
		if len(f.Names) == 0 {
			decl[embeddedName(f.Type)], last[embeddedName(f.Type)] = f, true
		}
	}
	i := 0
	for bs.Field(i) != rv {
		i++
	}
	tag = bs.Tag(i)
	for i--; i >= 0; i-- {
		if f := decl[bs.Field(i).Name()]; f != nil {
			return tag, f, last[bs.Field(i).Name()]
		}
	}
	return tag, nil, true
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return embeddedName(t.X)
	case *ast.IndexListExpr:
		return embeddedName(t.X)
	}
	return ""
}

// structDecl finds the struct type of a type declaration in the fix.
func (d *pkgDiff) structDecl(tn *types.TypeName) (*ast.StructType, *ast.File) {
	for _, f := range d.f.pkg.Syntax {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range g.Specs {
				if ts, ok := sp.(*ast.TypeSpec); ok && d.f.info().Defs[ts.Name] == tn {
					st, _ := ts.Type.(*ast.StructType)
					return st, f
				}
			}
		}
	}
	return nil, nil
}

// keptEdits writes the removed fields back into the fix's structs, each
// where the release has it: removed fields that follow the same
// declaration go after it in the release's order (d.kept's).
func (d *pkgDiff) keptEdits(edits map[*ast.File][]layout.Edit) {
	type place struct {
		file *ast.File
		at   int
	}
	text := map[place]string{}
	var order []place
	for _, k := range d.kept {
		after := k.after
		tf := d.f.pkg.Fset.File(k.file.Pos())
		at := tf.Offset(k.lit.Fields.Opening) + 1
		if after != nil {
			at = tf.Offset(after.End())
		}
		decl := "; " + k.field.Name() + " " + k.alias()
		if k.tag != "" {
			decl += " " + strconv.Quote(k.tag)
		}
		p := place{k.file, at}
		if _, ok := text[p]; !ok {
			order = append(order, p)
		}
		text[p] += decl
	}
	for _, p := range order {
		t := text[p]
		if strings.HasPrefix(t, "; ") && d.f.src[p.file][p.at-1] == '{' {
			t = strings.TrimPrefix(t, "; ") + ";"
		}
		edits[p.file] = append(edits[p.file], layout.Edit{Start: p.at, End: p.at, Text: t})
	}
}

// keptAliases declares the kept fields' types, qualified by qual.
func (d *pkgDiff) keptAliases(qual types.Qualifier) string {
	var b strings.Builder
	for _, k := range d.kept {
		fmt.Fprintf(&b, "\n// The field %s of %s, which the fix removed.\ntype %s = %s\n", k.field.Name(), k.named.Obj().Name(), k.alias(), types.TypeString(k.field.Type(), qual))
	}
	return b.String()
}
