package patchbuild

import (
	"fmt"
	"go/ast"
	"go/types"
	"sort"
	"strings"
)

// A new unexported function cannot be added to a package as such: a body
// that calls it indexes it in the package's export data, and its code
// shifts the symbol indices the export data records (TestFingerprintFacts).
// From Go 1.27 a function literal is a local static symbol that moves no
// index (closuresNumbered), so a new helper that only replaced functions
// call is carried as a closure declared at the top of each of them:
//
//	func Hello(name string) string {
//		shout := func(s string) string { return strings.ToUpper(s) + "!" }
//		...
//
// The closure captures nothing (a helper refers only to package-level
// names), so it is a static function value and costs no allocation; the
// name it is bound to is in scope where the package-level function would
// have been. A helper that calls another is declared after it, capturing
// it. A recursive helper, one used as a value, or one called from code the
// patch does not replace is refused, naming why.

// helper is a new unexported function of the fix.
type helper struct {
	key  string
	decl *funcDecl
	uses []string // keys of the other helpers it calls
}

// newHelper takes the new function under key k as a helper when it can be
// one; carryHelpers decides once every change is known.
func (d *pkgDiff) newHelper(k string, ff *funcDecl) bool {
	if closuresNumbered(d.a.in.GoVersion) || d.main || ff.decl.Name.IsExported() || ff.obj == nil ||
		ff.decl.Body == nil || ff.decl.Type.TypeParams != nil || k == "init" || directives([]*ast.CommentGroup{ff.decl.Doc}) != "" {
		return false
	}
	d.helperCands = append(d.helperCands, &helper{key: k, decl: ff})
	return true
}

// carryHelpers keeps the helpers that only replaced functions and other
// helpers call, and gives each replaced function the helpers it needs.
func (d *pkgDiff) carryHelpers() {
	if len(d.helperCands) == 0 {
		return
	}
	byObj := map[types.Object]*helper{}
	for _, h := range d.helperCands {
		byObj[h.decl.obj] = h
	}
	callers := map[*ast.FuncDecl]bool{}
	for _, c := range d.changed {
		callers[c.f.decl] = true
	}
	for _, h := range d.helperCands {
		callers[h.decl.decl] = true
	}
	calls := d.helperCalls(byObj, callers)
	ok := map[*helper]bool{}
	for _, h := range d.helperCands {
		if why := calls.misuse[h]; why != "" {
			d.refuseHelper(h, why)
			continue
		}
		h.uses = calls.from[h.decl.decl]
		ok[h] = true
	}
	for _, h := range d.helperCands {
		if !ok[h] {
			continue
		}
		if _, err := d.helperOrder([]string{h.key}); err != nil {
			d.refuseHelper(h, err.Error())
			ok[h] = false
		}
	}
	for _, c := range d.changed {
		if err := d.givePrelude(c, calls.from[c.f.decl], ok); err != nil {
			d.refuse(d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key), "new package-level object", err.Error())
		}
	}
	for _, h := range d.helperCands {
		if ok[h] {
			d.note(d.f.pos(h.decl.decl.Name.Pos()), d.sym(h.key), "new function carried",
				"unexported, called only by replaced functions: declared as a closure at the top of each (a Go 1.27 closure moves no symbol index)")
		}
	}
}

func (d *pkgDiff) refuseHelper(h *helper, why string) {
	d.refuse(d.f.pos(h.decl.decl.Name.Pos()), d.sym(h.key), "new package-level object", "func "+h.key+": "+why)
}

// helperUse is what the fix's code does with the helpers: which helpers
// each replaced function or helper calls, and why a helper cannot be
// carried ("" when it can).
type helperUse struct {
	from   map[*ast.FuncDecl][]string
	misuse map[*helper]string
}

// helperCalls finds every use of a helper in the fix's files: a call from
// one of callers is fine, anything else is a misuse.
func (d *pkgDiff) helperCalls(byObj map[types.Object]*helper, callers map[*ast.FuncDecl]bool) helperUse {
	u := helperUse{from: map[*ast.FuncDecl][]string{}, misuse: map[*helper]string{}}
	info := d.f.info()
	for _, file := range d.f.pkg.Syntax {
		for _, decl := range file.Decls {
			fd, _ := decl.(*ast.FuncDecl)
			called := map[*ast.Ident]bool{}
			ast.Inspect(decl, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
						called[id] = true
					}
				}
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				h := byObj[info.Uses[id]]
				switch {
				case h == nil:
				case fd == h.decl.decl:
					u.misuse[h] = "recursive: a closure cannot call itself by the name it is being bound to"
				case !called[id]:
					u.misuse[h] = "used as a value, not only called"
				case fd == nil || !callers[fd]:
					u.misuse[h] = "called from " + declName(decl) + ", which the patch does not replace"
				case !contains(u.from[fd], h.key):
					u.from[fd] = append(u.from[fd], h.key)
				}
				return true
			})
		}
	}
	return u
}

// helperOrder returns the helpers keys need, callees before callers, or an
// error naming a cycle.
func (d *pkgDiff) helperOrder(keys []string) ([]*helper, error) {
	byKey := map[string]*helper{}
	for _, h := range d.helperCands {
		byKey[h.key] = h
	}
	var out []*helper
	state := map[string]int{} // 1: on the path, 2: done
	var visit func(k string, path []string) error
	visit = func(k string, path []string) error {
		switch state[k] {
		case 1:
			return fmt.Errorf("recursive through %s: closures cannot call each other in a cycle", strings.Join(append(path, k), " → "))
		case 2:
			return nil
		}
		state[k] = 1
		for _, u := range byKey[k].uses {
			if err := visit(u, append(path, k)); err != nil {
				return err
			}
		}
		state[k] = 2
		out = append(out, byKey[k])
		return nil
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for _, k := range sorted {
		if err := visit(k, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// givePrelude writes, for the replaced function c, the declarations of
// the helpers it calls (keys) and of the helpers those call.
func (d *pkgDiff) givePrelude(c *change, keys []string, ok map[*helper]bool) error {
	if len(keys) == 0 {
		return nil
	}
	hs, err := d.helperOrder(keys)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, h := range hs {
		if !ok[h] {
			return nil // refused on its own
		}
		if taken := d.nameTaken(c.f.decl, h.key); taken {
			return fmt.Errorf("func %s: %s declares a name %s already, where the helper would be declared", h.key, c.key, h.key)
		}
		fd := h.decl
		src := d.f.src[fd.file]
		tf := d.f.pkg.Fset.File(fd.file.Pos())
		sig := string(src[tf.Offset(fd.decl.Type.Params.Pos()):tf.Offset(fd.decl.Type.End())])
		body := string(src[tf.Offset(fd.decl.Body.Lbrace) : tf.Offset(fd.decl.Body.Rbrace)+1])
		fmt.Fprintf(&b, " %s := func%s %s;", h.key, sig, body)
		c.helpers = append(c.helpers, fd)
	}
	c.prelude = b.String()
	return nil
}

// nameTaken reports whether fd declares name in its outermost scope (a
// parameter, a result, or a variable of its body's top level), where the
// helper's closure would be declared.
func (d *pkgDiff) nameTaken(fd *ast.FuncDecl, name string) bool {
	scope := d.f.info().Scopes[fd.Type]
	return scope != nil && scope.Lookup(name) != nil
}

func declName(decl ast.Decl) string {
	if fd, ok := decl.(*ast.FuncDecl); ok {
		return funcKey(fd)
	}
	return "a package-level declaration"
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
