package patchbuild

import (
	"go/ast"
	"go/token"
	"go/types"
)

// pureInit reports whether evaluating e can have no effect and cannot
// panic: names, literals, conversions, composite literals, the address of
// one, function literals. "var _ I = (*T)(nil)" is the usual blank
// variable: an assertion for the compiler, whose initializer does nothing
// when the program starts, so adding, removing or changing one changes
// nothing a patch could miss.
func pureInit(e ast.Expr, info *types.Info) bool {
	if tv, ok := info.Types[e]; ok && (tv.Value != nil || tv.IsType() || tv.IsNil()) {
		return true
	}
	switch e := e.(type) {
	case *ast.BasicLit, *ast.FuncLit, *ast.Ident:
		return true
	case *ast.ParenExpr:
		return pureInit(e.X, info)
	case *ast.SelectorExpr:
		return pureSelector(e, info)
	case *ast.UnaryExpr:
		return e.Op != token.ARROW && pureInit(e.X, info)
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if _, field := kv.Key.(*ast.Ident); !field && !pureInit(kv.Key, info) {
					return false
				}
				el = kv.Value
			}
			if !pureInit(el, info) {
				return false
			}
		}
		return true
	case *ast.CallExpr:
		// A conversion of a pure operand (one to an interface or to a
		// string allocates: no effect either).
		// A slice converted to an array, or a pointer to one, panics
		// when it is too short.
		tv, ok := info.Types[e.Fun]
		if !ok || !tv.IsType() || len(e.Args) != 1 {
			return false
		}
		if _, slice := info.TypeOf(e.Args[0]).Underlying().(*types.Slice); slice && toArray(tv.Type) {
			return false
		}
		return pureInit(e.Args[0], info)
	}
	return false
}

// pureSelector: a qualified name or a method expression is pure; a field
// or method value is pure when it reads through no pointer (which may be
// nil).
func pureSelector(e *ast.SelectorExpr, info *types.Info) bool {
	sel, ok := info.Selections[e]
	if !ok {
		return true // a qualified identifier, pkg.Name
	}
	if sel.Kind() == types.MethodExpr {
		return true
	}
	// A method value of an interface panics on a nil one.
	if sel.Kind() == types.MethodVal && types.IsInterface(sel.Recv()) {
		return false
	}
	return !sel.Indirect() && pureInit(e.X, info)
}

func pureSpec(vs *ast.ValueSpec, info *types.Info) bool {
	for _, v := range vs.Values {
		if !pureInit(v, info) {
			return false
		}
	}
	return true
}

func toArray(t types.Type) bool {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	_, ok := t.Underlying().(*types.Array)
	return ok
}
