package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// targets turns the changed functions of a package into targets, with
// their closures when those can be redirected too, and prepares the
// source the patch compiles.
func (d *pkgDiff) targets() error {
	if len(d.changed) == 0 {
		return nil
	}
	for _, c := range d.changed {
		d.target(c)
	}
	if d.main {
		return d.rewriteMain()
	}
	return d.splice()
}

func (d *pkgDiff) target(c *change) {
	sym := d.sym(c.key)
	pos := d.f.pos(c.f.decl.Name.Pos())
	sig := types.TypeString(c.f.obj.Type(), qualifyName)
	why := "body changed"
	if !c.own {
		why = "closures changed"
	}
	t := &Target{Name: sym, Pos: pos, Reason: why, Signature: sig, pkg: d.path, main: d.main, changed: true}
	d.a.plan.Targets = append(d.a.plan.Targets, t)

	bc := closures(c.b.decl, d.b.info(), d.b.sizes)
	fc := closures(c.f.decl, d.f.info(), d.f.sizes)
	if len(bc) == 0 && len(fc) == 0 {
		return
	}
	if why := sameClosures(bc, fc); why != "" {
		if len(bc) > 0 {
			d.note(pos, sym, "closures not replaced", why+": only "+shortSym(sym)+" is replaced; closures it already created keep the old code")
		}
		return
	}
	for i, cl := range fc {
		reason := "closure of " + shortSym(sym) + ": unchanged, replaced with it"
		changed := false
		if form(bc[i].lit.Body, d.b.info(), d.b.pkg.Types, true) != form(cl.lit.Body, d.f.info(), d.f.pkg.Types, true) {
			reason = "closure of " + shortSym(sym) + ": body changed"
			changed = true
		}
		d.a.plan.Targets = append(d.a.plan.Targets, &Target{
			Name: sym + "." + cl.name, Pos: d.f.pos(cl.lit.Pos()), Reason: reason,
			Signature: types.TypeString(d.f.info().TypeOf(cl.lit), qualifyName),
			pkg:       d.path, main: d.main, outer: sym, changed: changed,
		})
	}
}

// sameClosures returns why the closures of the release's function cannot
// be redirected to the fix's, or "". A closure created by the release's
// code keeps the context that code laid out: the fix's closure must have
// the same number, the same name and the same captured variables, in the
// same order and captured the same way.
func sameClosures(b, f []closure) string {
	if len(b) != len(f) {
		return fmt.Sprintf("%d closure(s) in the release, %d in the fix", len(b), len(f))
	}
	for i := range b {
		if b[i].name != f[i].name {
			return "closures nested differently"
		}
		if !slices.Equal(b[i].captures, f[i].captures) {
			return fmt.Sprintf("closure %s captures [%s] in the release, [%s] in the fix", f[i].name, captureList(b[i].captures), captureList(f[i].captures))
		}
	}
	return ""
}

func captureList(cs []capture) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, ", ")
}

// shortSym drops the import path from a symbol, for notes.
func shortSym(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// splice builds, for each file of the release that holds a changed
// function, the file the patch compiles: the release's file, byte for
// byte, with only the changed bodies replaced, each fitted into the lines
// of the old one (see fit), and the imports the new bodies need.
func (d *pkgDiff) splice() error {
	byFile := map[*ast.File][]*change{}
	var files []*ast.File
	for _, c := range d.changed {
		if byFile[c.b.file] == nil {
			files = append(files, c.b.file)
		}
		byFile[c.b.file] = append(byFile[c.b.file], c)
	}
	for _, file := range files {
		changes := byFile[file]
		src := d.b.src[file]
		tf := d.b.pkg.Fset.File(file.Pos())
		var edits []edit
		keys := map[string]bool{}
		for _, c := range changes {
			keys[c.key] = true
			lb, rb := tf.Offset(c.b.decl.Body.Lbrace)+1, tf.Offset(c.b.decl.Body.Rbrace)
			ff := d.f.pkg.Fset.File(c.f.file.Pos())
			fsrc := d.f.src[c.f.file]
			flb, frb := ff.Offset(c.f.decl.Body.Lbrace)+1, ff.Offset(c.f.decl.Body.Rbrace)
			text, how, err := fit(string(src[lb:rb]), string(fsrc[flb:frb]))
			if err != nil {
				return fmt.Errorf("%s: fit new body: %v", d.f.pos(c.f.decl.Pos()), err)
			}
			edits = append(edits, edit{lb, rb, text})
			if how != "" {
				d.a.plan.target(d.sym(c.key)).Layout = how
			}
		}
		ie, err := d.importEdits(file, changes)
		if err != nil {
			return err
		}
		edits = append(edits, ie...)
		out, err := applyEdits(src, edits)
		if err != nil {
			return err
		}
		name := tf.Name()
		if err := checkLayout(name, src, out, keys); err != nil {
			d.refuse(rel(d.b.root, name), d.path, "layout cannot be kept", strings.TrimPrefix(err.Error(), name+": ")+" (a declaration shares a line with a changed body)")
			continue
		}
		if d.a.plan.overlays == nil {
			d.a.plan.overlays = map[string][]byte{}
		}
		d.a.plan.overlays[rel(d.b.root, name)] = out
	}
	d.a.plan.pkgs = append(d.a.plan.pkgs, d.path)
	return nil
}

type importKey struct{ name, path string }

// importEdits makes the imports of a release file fit its new bodies:
// an import a new body needs and the file lacks is added on the line of
// the last import (or of the package clause), and an import no longer
// used becomes a blank import, so the package keeps its import list and
// no line moves.
func (d *pkgDiff) importEdits(file *ast.File, changes []*change) ([]edit, error) {
	bi, fi := d.b.info(), d.f.info()
	replaced := func(p token.Pos) bool {
		for _, c := range changes {
			if p > c.b.decl.Body.Lbrace && p < c.b.decl.Body.Rbrace {
				return true
			}
		}
		return false
	}
	needed := map[importKey]string{} // -> package name
	for _, c := range changes {
		uses(c.f.decl.Body, fi, d.f.pkg.Types, func(k importKey, pkgName string) { needed[k] = pkgName })
	}
	used := map[importKey]bool{}
	for _, dcl := range file.Decls {
		if g, ok := dcl.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			continue
		}
		usesOutside(dcl, bi, d.b.pkg.Types, replaced, func(k importKey) { used[k] = true })
	}
	tf := d.b.pkg.Fset.File(file.Pos())
	var edits []edit
	have := map[importKey]bool{}
	byName := map[string]string{}
	for _, is := range file.Imports {
		pn := bi.PkgNameOf(is)
		path, _ := strconv.Unquote(is.Path.Value)
		name := "_"
		if pn != nil {
			name = pn.Name()
		} else if is.Name != nil {
			name = is.Name.Name
		}
		k := importKey{name, path}
		have[k] = true
		if name == "_" {
			continue
		}
		if name != "." {
			byName[name] = path
		}
		if used[k] {
			continue
		}
		if _, ok := needed[k]; ok {
			continue
		}
		// No longer used: blank, so the package still imports it.
		edits = append(edits, blankImport(tf, is))
		delete(byName, name)
	}
	var add []string
	for _, k := range sortedKeys(needed) {
		if have[k] {
			continue
		}
		if p, ok := byName[k.name]; ok && p != k.path {
			return nil, fmt.Errorf("%s: the new code uses %s for %s, the release's file for %s: rename the import in the fix", rel(d.b.root, tf.Name()), k.name, k.path, p)
		}
		switch {
		case k.name == ".":
			add = append(add, ". "+strconv.Quote(k.path))
		case k.name == needed[k]:
			add = append(add, strconv.Quote(k.path))
		default:
			add = append(add, k.name+" "+strconv.Quote(k.path))
		}
	}
	if len(add) == 0 {
		return edits, nil
	}
	return append(edits, insertImports(tf, file, add)), nil
}

// blankImport turns an import into a blank one in place: the package still
// imports it, and nothing moves.
func blankImport(tf *token.File, is *ast.ImportSpec) edit {
	if is.Name != nil {
		return edit{tf.Offset(is.Name.Pos()), tf.Offset(is.Name.End()), "_"}
	}
	return edit{tf.Offset(is.Path.Pos()), tf.Offset(is.Path.Pos()), "_ "}
}

// insertImports adds import specs on the line of the file's last import,
// or of its package clause, so that no line moves.
func insertImports(tf *token.File, file *ast.File, add []string) edit {
	var last *ast.GenDecl
	for _, dcl := range file.Decls {
		if g, ok := dcl.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			last = g
		}
	}
	switch {
	case last == nil:
		off := tf.Offset(file.Name.End())
		return edit{off, off, "; import (" + strings.Join(add, "; ") + ")"}
	case last.Lparen.IsValid():
		off := tf.Offset(last.Specs[len(last.Specs)-1].End())
		return edit{off, off, "; " + strings.Join(add, "; ")}
	}
	off := tf.Offset(last.End())
	return edit{off, off, "; import (" + strings.Join(add, "; ") + ")"}
}

func sortedKeys(m map[importKey]string) []importKey {
	var ks []importKey
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].path != ks[j].path {
			return ks[i].path < ks[j].path
		}
		return ks[i].name < ks[j].name
	})
	return ks
}

// uses reports the imports n uses: named ones through their package
// name, dot imports through the objects they bring in.
func uses(n ast.Node, info *types.Info, pkg *types.Package, f func(k importKey, pkgName string)) {
	usesOutside(n, info, pkg, func(token.Pos) bool { return false }, func(k importKey) {
		f(k, k.name)
	})
	// The package's own name, for imports written without a name.
	ast.Inspect(n, func(m ast.Node) bool {
		if id, ok := m.(*ast.Ident); ok {
			if pn, ok := info.Uses[id].(*types.PkgName); ok {
				f(importKey{pn.Name(), pn.Imported().Path()}, pn.Imported().Name())
			}
		}
		return true
	})
}

func usesOutside(n ast.Node, info *types.Info, pkg *types.Package, skip func(token.Pos) bool, f func(importKey)) {
	sels := map[*ast.Ident]bool{}
	ast.Inspect(n, func(m ast.Node) bool {
		if m == nil {
			return false
		}
		if skip(m.Pos()) {
			return false
		}
		switch m := m.(type) {
		case *ast.SelectorExpr:
			sels[m.Sel] = true
		case *ast.Ident:
			obj := info.Uses[m]
			if pn, ok := obj.(*types.PkgName); ok {
				f(importKey{pn.Name(), pn.Imported().Path()})
				return true
			}
			if obj != nil && !sels[m] && obj.Pkg() != nil && obj.Pkg() != pkg && obj.Parent() == obj.Pkg().Scope() {
				f(importKey{".", obj.Pkg().Path()})
			}
		}
		return true
	})
}

// mainPatch is the source of package main as the patch compiles it: the
// fix's files, in a package of the patch's own, with the package-level
// variables turned into references to the release's (by //go:linkname)
// and the init functions removed, so that plugin.Open runs none of main's
// initialization again and the new code reads and writes the running
// program's variables.
type mainPatch struct {
	dir     string            // directory of main, relative to the module root
	files   map[string][]byte // file name -> source
	vars    []mainVar
	imports map[string]string // import path -> name, for the types of vars
}

type mainVar struct {
	Name, Type string
	UsedBy     []string // targets whose code uses it
}

func (d *pkgDiff) rewriteMain() error {
	mp := &mainPatch{files: map[string][]byte{}, imports: map[string]string{}}
	usedBy := d.mainVarUsers()
	for _, file := range d.f.pkg.Syntax {
		ok, err := d.rewriteMainFile(mp, file, usedBy)
		if err != nil || !ok {
			return err
		}
	}
	d.a.plan.mainPkg = mp
	return nil
}

// alias names package p in the patch's copy of main, whose package is pkg:
// "" for main itself, else a name no declaration of main uses.
func (mp *mainPatch) alias(pkg, p *types.Package) string {
	if p == pkg {
		return ""
	}
	if n, ok := mp.imports[p.Path()]; ok {
		return n
	}
	for i := len(mp.imports); ; i++ {
		n := fmt.Sprintf("hotfix_import%d", i)
		if pkg.Scope().Lookup(n) == nil {
			mp.imports[p.Path()] = n
			return n
		}
	}
}

// mainVarUsers maps each package-level variable of main to the changed
// functions that use it.
func (d *pkgDiff) mainVarUsers() map[types.Object][]string {
	info, scope := d.f.info(), d.f.pkg.Types.Scope()
	usedBy := map[types.Object][]string{}
	for _, c := range d.changed {
		seen := map[types.Object]bool{}
		ast.Inspect(c.f.decl, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if v, ok := info.Uses[id].(*types.Var); ok && v.Parent() == scope && !seen[v] {
					seen[v] = true
					usedBy[v] = append(usedBy[v], d.sym(c.key))
				}
			}
			return true
		})
	}
	return usedBy
}

// rewriteMainFile copies one file of main into mp without its variables
// (recorded in mp.vars, to be linked to the release's) and init functions,
// keeping every line where it was, and with the imports only they used
// made blank. It reports false, with a refusal, for a file using cgo.
func (d *pkgDiff) rewriteMainFile(mp *mainPatch, file *ast.File, usedBy map[types.Object][]string) (bool, error) {
	tf := d.f.pkg.Fset.File(file.Pos())
	for _, is := range file.Imports {
		if is.Path.Value == `"C"` {
			d.refuse(d.f.pos(is.Pos()), "main", "cgo or assembly changed", "package main uses cgo: the patch cannot compile a copy of it")
			return false, nil
		}
	}
	if mp.dir == "" {
		mp.dir = rel(d.f.root, filepath.Dir(tf.Name()))
	}
	edits, removed := d.removeVarsAndInits(mp, file, usedBy)
	edits = append(edits, d.blankUnusedImports(file, removed)...)
	out, err := applyEdits(d.f.src[file], edits)
	if err != nil {
		return false, err
	}
	mp.files[filepath.Base(tf.Name())] = out
	return true, nil
}

// removeVarsAndInits blanks out the variable declarations and init
// functions of a file of main, line for line, and records the variables.
func (d *pkgDiff) removeVarsAndInits(mp *mainPatch, file *ast.File, usedBy map[types.Object][]string) ([]edit, map[ast.Decl]bool) {
	info, pkg := d.f.info(), d.f.pkg.Types
	tf, src := d.f.pkg.Fset.File(file.Pos()), d.f.src[file]
	var edits []edit
	removed := map[ast.Decl]bool{}
	blankOut := func(dcl ast.Decl, doc *ast.CommentGroup) {
		from := dcl.Pos()
		if doc != nil {
			from = doc.Pos()
		}
		a, b := tf.Offset(from), tf.Offset(dcl.End())
		edits = append(edits, edit{a, b, strings.Repeat("\n", strings.Count(string(src[a:b]), "\n"))})
		removed[dcl] = true
	}
	for _, dcl := range file.Decls {
		switch dcl := dcl.(type) {
		case *ast.GenDecl:
			if dcl.Tok != token.VAR {
				continue
			}
			blankOut(dcl, dcl.Doc)
			for _, sp := range dcl.Specs {
				for _, n := range sp.(*ast.ValueSpec).Names {
					v, _ := info.Defs[n].(*types.Var)
					if n.Name == "_" || v == nil {
						continue
					}
					if err := nameable(v.Type(), pkg); err != nil {
						d.refuse(d.f.pos(n.Pos()), "main."+n.Name, "package-level variable of main", "its type "+err.Error()+": the patch cannot refer to the release's variable")
						continue
					}
					alias := func(p *types.Package) string { return mp.alias(pkg, p) }
					mp.vars = append(mp.vars, mainVar{Name: n.Name, Type: types.TypeString(v.Type(), alias), UsedBy: usedBy[v]})
				}
			}
		case *ast.FuncDecl:
			if dcl.Recv == nil && dcl.Name.Name == "init" {
				blankOut(dcl, dcl.Doc)
			}
		}
	}
	return edits, removed
}

// blankUnusedImports makes blank the imports of a file of main that only
// the removed declarations used.
func (d *pkgDiff) blankUnusedImports(file *ast.File, removed map[ast.Decl]bool) []edit {
	info, pkg := d.f.info(), d.f.pkg.Types
	tf := d.f.pkg.Fset.File(file.Pos())
	used := map[importKey]bool{}
	for _, dcl := range file.Decls {
		if g, ok := dcl.(*ast.GenDecl); (ok && g.Tok == token.IMPORT) || removed[dcl] {
			continue
		}
		usesOutside(dcl, info, pkg, func(token.Pos) bool { return false }, func(k importKey) { used[k] = true })
	}
	var edits []edit
	for _, is := range file.Imports {
		pn := info.PkgNameOf(is)
		if pn == nil || pn.Name() == "_" {
			continue
		}
		path, _ := strconv.Unquote(is.Path.Value)
		if used[importKey{pn.Name(), path}] {
			continue
		}
		edits = append(edits, blankImport(tf, is))
	}
	return edits
}

// nameable returns an error unless t can be written in another file of
// package main: no unexported names of other packages.
func nameable(t types.Type, main *types.Package) error {
	seen := map[types.Type]bool{}
	var check func(t types.Type) error
	check = func(t types.Type) error {
		if seen[t] {
			return nil
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Alias:
			return check(types.Unalias(t))
		case *types.Named:
			o := t.Obj()
			if o.Pkg() != nil && o.Pkg() != main && !o.Exported() {
				return fmt.Errorf("mentions %s.%s, which is not exported", o.Pkg().Path(), o.Name())
			}
			for i := 0; i < t.TypeArgs().Len(); i++ {
				if err := check(t.TypeArgs().At(i)); err != nil {
					return err
				}
			}
		case *types.Pointer:
			return check(t.Elem())
		case *types.Slice:
			return check(t.Elem())
		case *types.Array:
			return check(t.Elem())
		case *types.Chan:
			return check(t.Elem())
		case *types.Map:
			if err := check(t.Key()); err != nil {
				return err
			}
			return check(t.Elem())
		case *types.Signature:
			for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
				for i := 0; i < tup.Len(); i++ {
					if err := check(tup.At(i).Type()); err != nil {
						return err
					}
				}
			}
		case *types.Struct:
			for i := 0; i < t.NumFields(); i++ {
				f := t.Field(i)
				if f.Pkg() != nil && f.Pkg() != main && !f.Exported() {
					return fmt.Errorf("has the unexported field %s of package %s", f.Name(), f.Pkg().Path())
				}
				if err := check(f.Type()); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return check(t)
}
