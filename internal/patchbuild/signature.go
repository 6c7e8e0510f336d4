package patchbuild

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"sort"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// An unexported function's signature is not in its package's export data
// (TestFingerprintFacts), and calls between functions of a patched package
// bind to the plugin's own copies (DESIGN, facts). So when every caller of
// such a function is itself replaced, the patch can carry the function
// with its new signature: the new callers call the new copy, and the
// release's function is left as it is, never redirected, for the old code
// still running (a goroutine inside an old caller calls the old one, with
// the old arguments).

// newSignature takes the function under key k, whose signature changed, as
// a candidate; checkSignatures decides once every change is known. An
// exported function's or a method's signature is in the export data: only
// a rebuilt package (rebuild.go) can carry it, and only when no other
// package refers to it.
func (d *pkgDiff) newSignature(k string, bf, ff *funcDecl) bool {
	if d.main || d.std || bf.obj == nil || ff.obj == nil ||
		bf.decl.Body == nil || ff.decl.Body == nil || bf.decl.Type.TypeParams != nil || ff.decl.Type.TypeParams != nil ||
		directives([]*ast.CommentGroup{bf.decl.Doc}) != directives([]*ast.CommentGroup{ff.decl.Doc}) {
		return false
	}
	d.sigCands = append(d.sigCands, &change{key: k, b: bf, f: ff, own: true, sig: true})
	return true
}

// checkSignatures keeps the candidates every caller of which is replaced
// (or is another candidate), and refuses the others, naming a caller that
// is not.
func (d *pkgDiff) checkSignatures() {
	if len(d.sigCands) == 0 {
		return
	}
	replaced := map[string]bool{}
	for _, c := range d.changed {
		replaced[c.key] = true
	}
	for _, c := range d.sigCands {
		replaced[c.key] = true
	}
	callers := d.referrers()
	why := map[*change]string{}
	// A refused candidate is not replaced: its callers' candidates are
	// checked again, until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, c := range d.sigCands {
			if why[c] != "" {
				continue
			}
			var other []string
			for _, r := range callers[c.key] {
				if !replaced[r] {
					other = append(other, r)
				}
			}
			if len(other) > 0 {
				sort.Strings(other)
				why[c] = "used by " + strings.Join(other, ", ") + ", which the patch does not replace: it would call the old function with the new arguments"
			} else if _, w := d.wideSignature(c); w != "" {
				why[c] = w
			}
			if why[c] != "" {
				replaced[c.key], changed = false, true
			}
		}
	}
	for _, c := range d.sigCands {
		pos, sym := d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key)
		if why[c] != "" {
			d.refuse(pos, sym, "signature changed", short(types.TypeString(c.b.obj.Type(), qualifyName))+" → "+short(types.TypeString(c.f.obj.Type(), qualifyName))+": "+why[c])
			continue
		}
		if wide, _ := d.wideSignature(c); wide {
			detail := "in the export data, and no other package refers to it, nor an interface by its name"
			if len(c.xcallers) > 0 {
				var names []string
				for _, oc := range c.xcallers {
					names = append(names, shortSym(oc.sym))
				}
				detail = "in the export data; its callers in other packages (" + strings.Join(names, ", ") + ") are replaced, compiled against the new one"
			}
			d.carry(pos, sym, "signature changed", detail)
		}
		d.a.sigKept[sym] = true
		d.a.xcallers = append(d.a.xcallers, c.xcallers...)
		d.changed = append(d.changed, c)
	}
}

// wideSignature reports whether the changed signature is in the export
// data (an exported function, or a method), and why it cannot be carried:
// another package of the release refers to its name, or an interface of
// the program has a method of that name.
func (d *pkgDiff) wideSignature(c *change) (bool, string) {
	name, method := c.f.decl.Name.Name, c.f.decl.Recv != nil
	if !method && !c.f.decl.Name.IsExported() {
		return false, ""
	}
	if method {
		if iface := d.interfaceWith(name); iface != "" {
			return true, "the interface " + iface + " has a method of that name, and the release's type descriptor holds the old one"
		}
	}
	if !c.f.decl.Name.IsExported() {
		return true, ""
	}
	if !c.xdone {
		c.xdone = true
		if users := d.outsideUses(name, method); len(users) > 0 {
			c.xcallers, c.xwhy = d.outsideCallers(c, users, false) // xpkgcallers.go
		}
	}
	return true, c.xwhy
}

// outsideUses lists the release's other packages whose files refer to
// name in this package: a selector pkg.name, or any selector .name for a
// method (without types, a method call cannot be told from another).
func (d *pkgDiff) outsideUses(name string, method bool) []string {
	var out []string
	var deps map[string]bool
	if method {
		deps = d.dependents()
	}
	for path, p := range d.a.base {
		if path == d.path {
			continue
		}
		// Imports is keyed by the path as the source writes it: a
		// vendored package's is not its own (vendor/golang.org/x/...).
		// A method is called on values any package that depends on this
		// one may hold, without importing it.
		spelled := ""
		for s, ip := range p.Imports {
			if importedPath(ip) == d.path {
				spelled = s
			}
		}
		if spelled == "" && !(method && deps[path]) {
			continue
		}
		for _, file := range p.GoFiles {
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
			if err != nil || !refersTo(f, spelled, d.b.pkg.Name, name, method) {
				continue
			}
			out = append(out, path)
			break
		}
	}
	sort.Strings(out)
	return out
}

func refersTo(f *ast.File, path, pkgName, name string, method bool) bool {
	local := ""
	for _, is := range f.Imports {
		if strings.Trim(is.Path.Value, "`\"") == path {
			local = pkgName
			if is.Name != nil {
				local = is.Name.Name
			}
		}
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if se, ok := n.(*ast.SelectorExpr); ok && se.Sel.Name == name {
			if x, ok := se.X.(*ast.Ident); method || ok && (x.Name == local || local == ".") {
				found = true
			}
		}
		if id, ok := n.(*ast.Ident); ok && local == "." && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// referrers maps each function of the fix (by key) to the keys of the
// package-level declarations that refer to it ("" for a variable or other
// non-function declaration).
func (d *pkgDiff) referrers() map[string][]string {
	byObj := map[any]string{}
	for k, fd := range d.f.funcs {
		if fd.obj != nil {
			byObj[fd.obj] = k
		}
	}
	out := map[string][]string{}
	for _, file := range d.f.pkg.Syntax {
		for _, decl := range file.Decls {
			from := ""
			if fd, ok := decl.(*ast.FuncDecl); ok {
				from = layout.FuncKey(fd)
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					if k, ok := byObj[d.f.info().Uses[id]]; ok && k != from {
						out[k] = append(out[k], from)
					}
				}
				return true
			})
		}
	}
	return out
}

// signatureEdit puts the fix's parameters and results in place of the
// release's, on as many lines, so that nothing after them moves.
func (d *pkgDiff) signatureEdit(tf *token.File, c *change) (layout.Edit, error) {
	from, to := tf.Offset(c.b.decl.Type.Params.Pos()), tf.Offset(c.b.decl.Body.Lbrace)
	ff := d.f.pkg.Fset.File(c.f.file.Pos())
	text := string(d.f.src[c.f.file][ff.Offset(c.f.decl.Type.Params.Pos()):ff.Offset(c.f.decl.Body.Lbrace)])
	old := string(d.b.src[c.b.file][from:to])
	if strings.Count(text, "\n") != strings.Count(old, "\n") {
		return layout.Edit{}, fmt.Errorf("the new signature takes %d line(s), the release's %d: write it on as many", strings.Count(text, "\n")+1, strings.Count(old, "\n")+1)
	}
	return layout.Edit{Start: from, End: to, Text: text}, nil
}

// dependents returns the release's packages that import this one,
// directly or not.
func (d *pkgDiff) dependents() map[string]bool {
	out := map[string]bool{}
	var visit func(string)
	visit = func(path string) {
		for p, imps := range d.a.plan.imports {
			if !out[p] && slices.Contains(imps, path) {
				out[p] = true
				visit(p)
			}
		}
	}
	visit(d.path)
	return out
}
