package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

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
	inits   int               // init functions renamed so far (copyName)
}

type mainVar struct {
	Name, Type string
	UsedBy     []string // targets whose code uses it
}

func (d *pkgDiff) rewriteMain() error {
	mp := &mainPatch{files: map[string][]byte{}, imports: map[string]string{}}
	if importsCgo(d.f.pkg) {
		// The parsed files are the ones cgo wrote, without import "C".
		d.refuse(d.f.pos(d.f.pkg.Syntax[0].Package), "main", "cgo or assembly changed", "package main uses cgo: the patch cannot compile a copy of it")
		return nil
	}
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

// copyName is the name in the patch's copy of main of the function of
// main the compiler named f: init functions are numbered in the order of
// the files and of their declarations (init.0, init.1), and the copy
// renames them so that nothing calls them.
func copyName(f string) string {
	if n, ok := strings.CutPrefix(f, "init."); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		return "hotfixMainInit" + n
	}
	return f
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
	out, err := layout.Apply(d.f.src[file], edits)
	if err != nil {
		return false, err
	}
	mp.files[filepath.Base(tf.Name())] = out
	return true, nil
}

// removeVarsAndInits blanks out the variable declarations of a file of
// main, line for line, records the variables, and renames its init
// functions (copyName): the plugin must not run them, but the closures
// they made at start-up (an http handler) may hold an inlined copy of a
// target, and are redirected to the copy's.
func (d *pkgDiff) removeVarsAndInits(mp *mainPatch, file *ast.File, usedBy map[types.Object][]string) ([]layout.Edit, map[ast.Decl]bool) {
	info, pkg := d.f.info(), d.f.pkg.Types
	tf, src := d.f.pkg.Fset.File(file.Pos()), d.f.src[file]
	var edits []layout.Edit
	removed := map[ast.Decl]bool{}
	blankOut := func(dcl ast.Decl, doc *ast.CommentGroup) {
		from := dcl.Pos()
		if doc != nil {
			from = doc.Pos()
		}
		a, b := tf.Offset(from), tf.Offset(dcl.End())
		edits = append(edits, layout.Edit{Start: a, End: b, Text: strings.Repeat("\n", strings.Count(string(src[a:b]), "\n"))})
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
				at := tf.Offset(dcl.Name.Pos())
				edits = append(edits, layout.Edit{Start: at, End: at + len("init"), Text: copyName(fmt.Sprintf("init.%d", mp.inits))})
				mp.inits++
			}
		}
	}
	return edits, removed
}

// blankUnusedImports makes blank the imports of a file of main that only
// the removed declarations used.
func (d *pkgDiff) blankUnusedImports(file *ast.File, removed map[ast.Decl]bool) []layout.Edit {
	info, pkg := d.f.info(), d.f.pkg.Types
	tf := d.f.pkg.Fset.File(file.Pos())
	used := map[importKey]bool{}
	for _, dcl := range file.Decls {
		if g, ok := dcl.(*ast.GenDecl); (ok && g.Tok == token.IMPORT) || removed[dcl] {
			continue
		}
		usesOutside(dcl, info, pkg, func(token.Pos) bool { return false }, func(k importKey) { used[k] = true })
	}
	var edits []layout.Edit
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
