package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
	"github.com/gohotfix/hotfix/policy"
)

// splice builds, for each file of the release that holds a changed
// function, the file the patch compiles: the release's file, byte for
// byte, with only the changed bodies replaced, each fitted into the lines
// of the old one (see fit), and the imports the new bodies need. New
// constants (added.go) go at the end of the package's last file.
func (d *pkgDiff) splice() error {
	byFile := map[*ast.File][]*change{}
	var files []*ast.File
	for _, c := range append(slices.Clip(d.changed), d.genericBodies...) {
		if byFile[c.b.file] == nil {
			files = append(files, c.b.file)
		}
		byFile[c.b.file] = append(byFile[c.b.file], c)
	}
	last := d.b.pkg.Syntax[len(d.b.pkg.Syntax)-1]
	if len(d.addedConsts) > 0 && byFile[last] == nil {
		files = append(files, last)
	}
	for _, file := range files {
		out, err := d.spliceFile(file, byFile[file])
		if err != nil {
			return err
		}
		if out == nil {
			continue // refused
		}
		if file == last && len(d.addedConsts) > 0 {
			// After every declaration of the release: nothing moves.
			out = fmt.Appendf(out, "\n\n%s\n", strings.Join(d.addedConsts, "\n"))
		}
		if d.a.plan.overlays == nil {
			d.a.plan.overlays = map[string][]byte{}
		}
		d.a.plan.overlays[d.b.pkg.Fset.File(file.Pos()).Name()] = out
	}
	d.a.plan.pkgs = append(d.a.plan.pkgs, d.path)
	d.escapes(d.b) // the spliced files keep the release's declarations in place
	return nil
}

// spliceFile is one file of splice; nil when its layout cannot be kept
// (refused here).
func (d *pkgDiff) spliceFile(file *ast.File, changes []*change) ([]byte, error) {
	src := d.b.src[file]
	tf := d.b.pkg.Fset.File(file.Pos())
	var edits []layout.Edit
	keys, sigs := map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		keys[c.key] = true
		if c.sig {
			sigs[c.key] = true
			e, err := d.signatureEdit(tf, c)
			if err != nil {
				d.refuse(d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key), "layout cannot be kept", err.Error())
				return nil, nil
			}
			edits = append(edits, e)
		}
		lb, rb := tf.Offset(c.b.decl.Body.Lbrace)+1, tf.Offset(c.b.decl.Body.Rbrace)
		ff := d.f.pkg.Fset.File(c.f.file.Pos())
		fsrc := d.f.src[c.f.file]
		flb, frb := ff.Offset(c.f.decl.Body.Lbrace)+1, ff.Offset(c.f.decl.Body.Rbrace)
		text, how, err := layout.Fit(string(src[lb:rb]), string(fsrc[flb:frb]))
		if err != nil {
			return nil, fmt.Errorf("%s: fit new body: %v", d.f.pos(c.f.decl.Pos()), err)
		}
		edits = append(edits, layout.Edit{Start: lb, End: rb, Text: text})
		if how != "" {
			d.a.plan.target(d.sym(c.key)).Layout = how // none for a generic body: its targets are its shapes
		}
	}
	ie, err := d.importEdits(file, changes)
	if err != nil {
		return nil, err
	}
	edits = append(edits, ie...)
	out, err := layout.Apply(src, edits)
	if err != nil {
		return nil, err
	}
	name := tf.Name()
	if err := layout.Check(name, src, out, keys, sigs); err != nil {
		d.refuse(rel(d.b.root, name), d.path, "layout cannot be kept", strings.TrimPrefix(err.Error(), name+": ")+" (a declaration shares a line with a changed body)")
		return nil, nil
	}
	return out, nil
}

type importKey struct{ name, path string }

// importEdits makes the imports of a release file fit its new bodies:
// an import a new body needs and the file lacks is added on the line of
// the last import (or of the package clause), and an import no longer
// used becomes a blank import, so the package keeps its import list and
// no line moves.
func (d *pkgDiff) importEdits(file *ast.File, changes []*change) ([]layout.Edit, error) {
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
	var edits []layout.Edit
	have := map[importKey]bool{}
	byName := map[string]string{}
	for _, is := range file.Imports {
		pn := bi.PkgNameOf(is)
		path, _ := strconv.Unquote(is.Path.Value)
		name := "_"
		if pn != nil {
			// The package's path, as needed and used have it: a
			// standard package's vendored import is vendor/... there.
			name, path = pn.Name(), pn.Imported().Path()
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
		src := strconv.Quote(sourceImport(d.path, k.path))
		switch {
		case k.name == ".":
			add = append(add, ". "+src)
		case k.name == needed[k]:
			add = append(add, src)
		default:
			add = append(add, k.name+" "+src)
		}
	}
	if len(add) == 0 {
		return edits, nil
	}
	return append(edits, insertImports(tf, file, add)), nil
}

// blankImport turns an import into a blank one in place: the package still
// imports it, and nothing moves.
func blankImport(tf *token.File, is *ast.ImportSpec) layout.Edit {
	if is.Name != nil {
		return layout.Edit{Start: tf.Offset(is.Name.Pos()), End: tf.Offset(is.Name.End()), Text: "_"}
	}
	return layout.Edit{Start: tf.Offset(is.Path.Pos()), End: tf.Offset(is.Path.Pos()), Text: "_ "}
}

// insertImports adds import specs on the line of the file's last import,
// or of its package clause, so that no line moves.
func insertImports(tf *token.File, file *ast.File, add []string) layout.Edit {
	var last *ast.GenDecl
	for _, dcl := range file.Decls {
		if g, ok := dcl.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			last = g
		}
	}
	switch {
	case last == nil:
		off := tf.Offset(file.Name.End())
		return layout.Edit{Start: off, End: off, Text: "; import (" + strings.Join(add, "; ") + ")"}
	case last.Lparen.IsValid():
		off := tf.Offset(last.Specs[len(last.Specs)-1].End())
		return layout.Edit{Start: off, End: off, Text: "; " + strings.Join(add, "; ")}
	}
	off := tf.Offset(last.End())
	return layout.Edit{Start: off, End: off, Text: "; import (" + strings.Join(add, "; ") + ")"}
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

// sourceImport returns how a file of package pkg writes the import of the
// package at path: a standard package imports the standard library's
// vendored copy of golang.org/x/net as golang.org/x/net, which is
// vendor/golang.org/x/net to the type checker and the linker
// (`go list -f {{.ImportMap}} net/http`).
func sourceImport(pkg, path string) string {
	if policy.Standard(pkg) {
		if p, ok := strings.CutPrefix(path, "vendor/"); ok {
			return p
		}
	}
	return path
}
