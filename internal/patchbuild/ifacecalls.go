package patchbuild

import (
	"go/ast"
	"go/types"
	"slices"
)

// A method the release's linker dropped has no code behind the release's
// type descriptor: an itab the release built, or the runtime builds from
// that descriptor, calls runtime.unreachableMethod in its place. The
// linker drops a method of a type converted to an interface only when no
// reachable code calls a method of that name through an interface, so
// after the patch only the patch's code can make such a call. The patch is
// refused when its code that can run does: the bodies of the functions it
// redirects, and of every function of their package they call, in turn.
// (A value the patch's own code converts gets the plugin's itab, whose
// methods are the plugin's: that way is safe.)

// anyMethod stands for every name in a target's ifaceCalls where its code
// was not looked at: a generic function's shapes.
const anyMethod = "*"

// ifaceCalls returns the names of the methods the fix's function under key
// calls, or takes as a value, through an interface, in its body and its
// function literals, and in the package's functions it calls directly, in
// turn.
func (d *pkgDiff) ifaceCalls(key string) []string {
	var names []string
	seen := map[string]bool{}
	var visit func(k string)
	visit = func(k string) {
		fd := d.f.funcs[k]
		if seen[k] || fd == nil || fd.decl.Body == nil {
			return
		}
		seen[k] = true
		// Every function of the package the body names may run: called,
		// or taken as a value (apply(total, n), x.Method).
		var uses []string
		ast.Inspect(fd.decl.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if name, ok := ifaceMethod(d.f.info(), n); ok {
					names = append(names, name)
				}
			case *ast.Ident:
				if fn, _ := d.f.info().Uses[n].(*types.Func); fn != nil && fn.Pkg() == d.f.pkg.Types {
					uses = append(uses, keyOf(fn))
				}
			}
			return true
		})
		for _, u := range uses {
			visit(u)
		}
	}
	visit(key)
	slices.Sort(names)
	return slices.Compact(names)
}

// ifaceMethod reports whether se selects a method declared by an
// interface (a call x.M() or a value x.M, x an interface or a struct that
// embeds one; a method expression I.M), and its name.
func ifaceMethod(info *types.Info, se *ast.SelectorExpr) (string, bool) {
	sel := info.Selections[se]
	if sel == nil || sel.Kind() == types.FieldVal {
		return "", false
	}
	recv := sel.Obj().Type().(*types.Signature).Recv()
	if recv == nil || !types.IsInterface(recv.Type()) {
		return "", false
	}
	return se.Sel.Name, true
}
