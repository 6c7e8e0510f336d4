package patchbuild

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// An exported function's (or method's) changed signature is carried like
// an unexported one's (signature.go): the patch has the new function, the
// release's is left in place, never redirected, for old code still
// running, and every function of the release that calls it is replaced,
// compiled in the patch against the new signature. Here those callers are
// in other packages, which the fix may not change at all: a caller's
// package is compiled into the plugin from the release's source against
// the fix's export data of the callee's package.
//
// That package's copy in the plugin keeps the host's linker fingerprint
// as long as its own export data is the same, which an imported package's
// changed export data does not change (TestCallerFingerprintFacts): it
// needs no adoption. Where the new callee makes a caller's parameter
// escape otherwise, its export data differs: the caller's package gets a
// parameter set of its own (escape.go), and so the escape check, its
// callers' replacement and the adoption of a fingerprint that only
// escaped less, as for any replaced function.
//
// Only a call written in a function's or method's own body can be taken
// over so: a function value the release made (p.F passed or stored, a
// method value), a closure the release created, and a variable's
// initializer, which ran at start-up, would all keep the old function,
// and the fix would be half-applied; each is refused, named.

// refSite is one reference, in another package of the release, to a
// function whose signature changed, as the decision needs it.
type refSite struct {
	caller  string // key of the function whose body holds it; "" in another declaration
	inLit   bool   // inside a function literal of caller
	call    bool   // the callee of a call, not a value
	generic bool   // caller has type parameters, or is a method of a generic type
	inFix   bool   // the fix still has caller, with a body
	main    bool   // caller is in package main
	// mainCopy: the patch can carry a copy of package main (one without
	// cgo), in which a function of main is replaced.
	mainCopy bool
	// embeds: a struct type embeds one whose method set has the method:
	// the compiler writes a wrapper for the promoted method where the
	// struct is declared, compiled against the old signature.
	embeds bool
}

// refVerdict says why the function holding a reference cannot be replaced
// for the new signature, or "" when it can.
func refVerdict(s refSite) string {
	if s.main && s.caller != "" {
		s.caller = "main." + s.caller
	}
	switch {
	case s.caller == "init" || s.caller == "main.init":
		return "in an init function: it ran when the release started"
	case s.embeds:
		return "a struct type embeds its receiver: the promoted method's wrapper, compiled with the struct's package, calls the old one"
	case s.caller == "":
		return "in a package-level declaration, not in a function: a variable's initializer ran when the release started"
	case s.inLit:
		return "in a function literal of " + s.caller + ": closures the release already made would keep calling the old one"
	case !s.call:
		return "in " + s.caller + ", as a value, not a call: function values the release made keep the old one"
	case s.generic:
		return "in " + s.caller + ", a generic function: its code is shared by instantiation shape, not replaced by name"
	case !s.inFix:
		return "in " + s.caller + ", which the fix removes"
	case s.main && !s.mainCopy:
		return "in " + s.caller + " of package main, which uses cgo: the patch cannot compile a copy of it"
	}
	return ""
}

// outsideCaller is a function of another package that the patch replaces
// because it calls a function whose signature changed.
type outsideCaller struct {
	pkg, key, sym string
	pos           string // file:line of its declaration
	sig           string
	callee        string // the symbol whose signature changed
}

// xref is a reference found in another package: where, and its site.
type xref struct {
	pos  token.Pos
	site refSite
	fd   *ast.FuncDecl
}

// outsideCallers returns the functions of the release's other packages
// that call c, each to be replaced, or why they cannot all be: the first
// reference that cannot, named. users are the packages whose files name
// it (outsideUses). For a changed escape analysis (escapeOnly) rather
// than a signature, a reference in a package-level declaration is left
// alone: a variable's value, whose calls are compiled for any callee.
func (d *pkgDiff) outsideCallers(c *change, users []string, escapeOnly bool) ([]outsideCaller, string) {
	if name := c.f.decl.Name.Name; c.f.decl.Recv != nil {
		// interfaceWith sees the interfaces of this package and of what
		// it imports; a value converted elsewhere finds the method
		// through any interface of the program, by the release's type
		// descriptor, which holds the old one.
		if at := d.a.interfaceAnywhere(name); at != "" {
			return nil, "exported, and an interface of the release has a method " + name + " (" + at + "): a value converted to it calls the old one"
		}
	}
	// Only the packages linked into the release have code that calls it;
	// another command of the module is not patched.
	if d.a.linked == nil {
		d.a.linked = d.a.releasePackages()
	}
	users = slices.DeleteFunc(slices.Clone(users), func(p string) bool { return !d.a.linked[p] })
	typed, err := d.a.releaseTyped(users)
	if err != nil {
		return nil, "exported, and " + strings.Join(users, ", ") + " refer(s) to it, which could not be type-checked to find the callers: " + firstLine(err.Error())
	}
	var out []outsideCaller
	for _, path := range users {
		p := typed[path]
		for _, r := range refsTo(p, d.path, c.key) {
			r.site.main = p.Name == "main" && path == d.a.main
			r.site.mainCopy = r.site.main && !importsCgo(p)
			if r.site.caller != "" {
				r.site.inFix = d.a.inFix(path, r.site.caller)
			}
			if escapeOnly && r.site.caller == "" && !r.site.embeds {
				continue
			}
			if why := refVerdict(r.site); why != "" {
				return nil, "exported, and the release's " + path + " refers to it at " + d.a.relPos(p, r.pos) + ", " + why
			}
			pkg := path
			if r.site.main {
				pkg = "main"
			}
			sym := (&pkgDiff{path: pkg}).sym(r.site.caller)
			fn, _ := p.TypesInfo.Defs[r.fd.Name].(*types.Func)
			oc := outsideCaller{pkg: path, key: r.site.caller, sym: sym, pos: d.a.relPos(p, r.fd.Name.Pos()), callee: d.sym(c.key)}
			if fn != nil {
				oc.sig = types.TypeString(fn.Type(), qualifyName)
			}
			if !slices.ContainsFunc(out, func(o outsideCaller) bool { return o.sym == sym }) {
				out = append(out, oc)
			}
		}
	}
	return out, ""
}

// refsTo finds, in the type-checked package p, every use of the function
// or method key of package path, with what the decision needs to know of
// where it is.
func refsTo(p *packages.Package, path, key string) []xref {
	var out []xref
	for _, file := range p.Syntax {
		for _, decl := range file.Decls {
			fd, _ := decl.(*ast.FuncDecl)
			callees := map[*ast.Ident]bool{}
			inspectLits(decl, func(n ast.Node, inLit bool) {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch f := ast.Unparen(n.Fun).(type) {
					case *ast.Ident:
						callees[f] = true
					case *ast.SelectorExpr:
						// A method value x.M is a call only as the callee; a
						// method expression T.M is a function value.
						if sel := p.TypesInfo.Selections[f]; sel == nil || sel.Kind() == types.MethodVal {
							callees[f.Sel] = true
						}
					}
				case *ast.StructType:
					if m := embedsMethod(p, n, path, key); m != nil {
						out = append(out, xref{pos: m.Pos(), fd: fd, site: refSite{embeds: true, caller: keyIn(fd)}})
					}
				case *ast.Ident:
					fn, ok := p.TypesInfo.Uses[n].(*types.Func)
					if !ok || fn.Pkg() == nil || fn.Pkg().Path() != path || keyOf(fn.Origin()) != key {
						return
					}
					r := xref{pos: n.Pos(), fd: fd}
					r.site = refSite{inLit: inLit, call: callees[n]}
					if r.site.caller = keyIn(fd); fd != nil {
						r.site.generic = fd.Type.TypeParams != nil || recvGeneric(fd)
					}
					out = append(out, r)
				}
			})
		}
	}
	return out
}

// recvGeneric reports whether fd is a method of a generic type.
func recvGeneric(fd *ast.FuncDecl) bool {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return false
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch t.(type) {
	case *ast.IndexExpr, *ast.IndexListExpr:
		return true
	}
	return false
}

// releaseTyped returns the release's packages paths type-checked, loading
// those the comparison has not (an unchanged package) in one go.
func (a *analysis) releaseTyped(paths []string) (map[string]*packages.Package, error) {
	var missing []string
	for _, p := range paths {
		if a.typed[p] == nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		got, err := loadTyped(a.ctx, a.in.Base, missing, a.in.Flags)
		if err != nil {
			return nil, err
		}
		for p, pkg := range got {
			a.typed[p] = pkg
		}
	}
	out := map[string]*packages.Package{}
	for _, p := range paths {
		out[p] = a.typed[p]
	}
	return out, nil
}

// inFix reports whether the fix's package path still declares the
// function key with a body: its files are the release's when the package
// did not change.
func (a *analysis) inFix(path, key string) bool {
	if !a.changedSet[path] {
		return true
	}
	fp := a.fixTyped[path]
	if fp == nil {
		return false
	}
	for _, f := range fp.Syntax {
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil && layout.FuncKey(fd) == key {
				return true
			}
		}
	}
	return false
}

// relPos is file:line of pos in the release's package p, as findings
// name places.
func (a *analysis) relPos(p *packages.Package, pos token.Pos) string {
	at := p.Fset.Position(pos)
	base, _ := a.roots(p.PkgPath)
	return fmt.Sprintf("%s:%d", rel(base, at.Filename), at.Line)
}

// addOutsideCallers makes the callers found by outsideCallers targets,
// once every package was compared: one the fix changed is a target of its
// own already, and one whose own signature changed is left as the
// release's, which old code calls. Each caller's package gets the escape
// check of a replaced function (escape.go).
func (a *analysis) addOutsideCallers() error {
	var mainCallers []string
	for _, oc := range a.xcallers {
		if a.sigKept[oc.sym] || a.plan.target(oc.sym).Name != "" {
			continue
		}
		t := &Target{Name: oc.sym, Pos: oc.pos, Reason: "calls " + shortSym(oc.callee) + ", whose signature changed: compiled against the new one",
			Signature: oc.sig, pkg: oc.pkg, main: strings.HasPrefix(oc.sym, "main."), sigCallee: oc.callee}
		a.plan.Targets = append(a.plan.Targets, t)
		if t.main {
			// main's copy is a package of its own: no fingerprint, and no
			// release code compiled against its escape analysis.
			mainCallers = append(mainCallers, oc.key)
			continue
		}
		if err := a.escapesOf(oc.pkg, oc.sym); err != nil {
			return err
		}
	}
	if len(mainCallers) > 0 && a.plan.mainPkg == nil {
		return a.copyMain(mainCallers)
	}
	return nil
}

// copyMain makes the patch's copy of package main (mainpkg.go) when none
// was made, but some of main's functions are replaced for a changed
// signature: from the fix's files (the release's, when the fix does not
// change main), compiled against the fix's packages. keys are those
// functions.
func (a *analysis) copyMain(keys []string) error {
	root, typed := a.in.Fix, a.fixTyped[a.main]
	if !a.changedSet[a.main] {
		if _, err := a.releaseTyped([]string{a.main}); err != nil {
			return err
		}
		root, typed = a.in.Base, a.typed[a.main]
	}
	bs, err := newSide(root, typed)
	if err != nil {
		return err
	}
	d := &pkgDiff{a: a, path: a.main, main: true, b: bs, f: bs}
	for _, k := range keys {
		if fd := bs.funcs[k]; fd != nil {
			d.changed = append(d.changed, &change{key: k, b: fd, f: fd}) // for the variables they use
		}
	}
	return d.rewriteMain()
}

// importsCgo reports whether a file of p imports "C".
// It reads the source files: go/packages parses the files cgo wrote, in
// which import "C" is gone.
func importsCgo(p *packages.Package) bool {
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			return true // unread: take it for cgo, which refuses
		}
		for _, is := range f.Imports {
			if is.Path.Value == `"C"` {
				return true
			}
		}
	}
	return false
}

// escapesOf adds sym to the replaced functions whose parameters the
// build compares (escape.go) in package path, indexing the package when
// nothing of it was replaced yet: it is then compiled from the release's
// files, as a spliced package is.
func (a *analysis) escapesOf(path, sym string) error {
	for _, ps := range a.plan.escapes {
		if ps.pkg == path {
			ps.targets[sym] = true
			return nil
		}
	}
	bs, err := newSide(a.in.Base, a.typed[path])
	if err != nil {
		return err
	}
	d := &pkgDiff{a: a, path: path, b: bs, f: bs}
	a.plan.escapes = append(a.plan.escapes, &paramSet{pkg: path, targets: map[string]bool{sym: true}, graph: d.graph(bs), diff: d})
	if !slices.Contains(a.plan.pkgs, path) {
		a.plan.pkgs = append(a.plan.pkgs, path)
	}
	return nil
}

// embedsMethod returns the embedded field of st whose type's method set
// has the method key of package path, or nil.
func embedsMethod(p *packages.Package, st *ast.StructType, path, key string) *ast.Field {
	_, name, ok := strings.Cut(key, ".")
	if !ok {
		return nil // not a method
	}
	for _, f := range st.Fields.List {
		if len(f.Names) > 0 {
			continue
		}
		t := p.TypesInfo.TypeOf(f.Type)
		if t == nil {
			continue
		}
		obj, _, _ := types.LookupFieldOrMethod(t, true, p.Types, name)
		if fn, ok := obj.(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == path && keyOf(fn.Origin()) == key {
			return f
		}
	}
	return nil
}

// keyIn is funcKey of fd, or "" outside a function.
func keyIn(fd *ast.FuncDecl) string {
	if fd == nil {
		return ""
	}
	return layout.FuncKey(fd)
}

// interfaceAnywhere names the first interface type, declared or written
// as a literal in any file of the release's packages, that has a method
// called name, as file:line; "" if none. Files are parsed, not
// type-checked: an embedded interface from elsewhere is found where it
// is declared.
func (a *analysis) interfaceAnywhere(name string) string {
	paths := slices.Sorted(maps.Keys(a.base))
	for _, path := range paths {
		for _, file := range a.base[path].GoFiles {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			found := token.NoPos
			ast.Inspect(f, func(n ast.Node) bool {
				if it, ok := n.(*ast.InterfaceType); ok && found == token.NoPos {
					for _, m := range it.Methods.List {
						for _, id := range m.Names {
							if id.Name == name {
								found = id.Pos()
							}
						}
					}
				}
				return found == token.NoPos
			})
			if found != token.NoPos {
				at := fset.Position(found)
				return fmt.Sprintf("%s:%d", rel(a.rootOf(at.Filename), at.Filename), at.Line)
			}
		}
	}
	return ""
}
