package patchbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"

	"github.com/gohotfix/hotfix/internal/symbol"
)

// analyzeInput says what to compare: two checkouts of one module.
type analyzeInput struct {
	Base  string    // module root of the release source
	Fix   string    // module root of the fixed working tree
	Main  string    // import path of the release's main package; "" for the only one
	Flags []string  // the release's build flags: type-checking reuses its export data
	Log   io.Writer // progress lines
}

// analysis is one comparison of the release with the fix.
type analysis struct {
	in     analyzeInput
	module string
	main   string // import path of the release's main package
	plan   *Plan
	base   map[string]*packages.Package // by import path, files only
	fix    map[string]*packages.Package
	cgo    map[string]bool // packages with a changed cgo file
}

// analyze compares the release source with the fix, package by package,
// and returns the plan: the functions to replace and why, and every
// change that cannot be hot-patched.
func analyze(ctx context.Context, in analyzeInput) (*Plan, error) {
	if in.Log == nil {
		in.Log = io.Discard
	}
	a := &analysis{in: in, plan: &Plan{}, cgo: map[string]bool{}}
	var err error
	if a.module, err = goOut(ctx, in.Fix, nil, "list", "-m"); err != nil {
		return nil, err
	}
	a.plan.Module = a.module
	fmt.Fprintf(in.Log, "comparing the working tree with the release source\n")
	var berr, ferr error
	both(func() { a.base, berr = loadFiles(ctx, in.Base) }, func() { a.fix, ferr = loadFiles(ctx, in.Fix) })
	if berr != nil {
		return nil, fmt.Errorf("release source: %w", berr)
	}
	if ferr != nil {
		return nil, fmt.Errorf("working tree: %w", ferr)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !sameFile(filepath.Join(in.Base, f), filepath.Join(in.Fix, f)) {
			a.refuse(Finding{Pos: f, Object: a.module, Rule: "module changed", Detail: f + " differs from the release's: every dependency is fixed by the release binary"})
		}
	}
	if err := a.findMain(); err != nil {
		return nil, err
	}
	a.plan.Main = a.main
	changed := a.changedPackages()
	if len(changed) == 0 {
		a.plan.sort()
		return a.plan, nil
	}
	fmt.Fprintf(in.Log, "type-checking %d changed package(s) in both trees\n", len(changed))
	var bt, ft map[string]*packages.Package
	both(func() { bt, berr = loadTyped(ctx, in.Base, changed, in.Flags) }, func() { ft, ferr = loadTyped(ctx, in.Fix, changed, in.Flags) })
	if berr != nil {
		return nil, fmt.Errorf("release source: %w", berr)
	}
	if ferr != nil {
		return nil, fmt.Errorf("working tree: %w", ferr)
	}
	for _, path := range changed {
		if a.cgo[path] {
			continue // refused as a whole: what cgo generates is not the source
		}
		bs, err := newSide(in.Base, bt[path])
		if err != nil {
			return nil, err
		}
		fs, err := newSide(in.Fix, ft[path])
		if err != nil {
			return nil, err
		}
		d := &pkgDiff{a: a, path: path, main: bt[path].Name == "main" && path == a.main, b: bs, f: fs}
		d.decls()
		if err := d.targets(); err != nil {
			return nil, err
		}
	}
	a.plan.sort()
	return a.plan, nil
}

// changedPackages returns the packages linked into the release whose
// files differ between the trees, and notes the others that changed.
func (a *analysis) changedPackages() []string {
	inRelease := a.releasePackages()
	var changed []string
	for _, path := range unionKeys(a.base, a.fix) {
		bp, fp := a.base[path], a.fix[path]
		if bp == nil {
			continue // new package: only an added import can bring it in, and that is refused where it is added
		}
		if fp == nil {
			if inRelease[path] {
				a.note(Finding{Pos: a.relDir(a.in.Base, bp), Object: path, Rule: "package removed", Detail: "the release keeps its copy"})
			}
			continue
		}
		files := a.changedFiles(bp, fp)
		if len(files) == 0 {
			continue
		}
		if !inRelease[path] {
			a.note(Finding{Pos: a.relDir(a.in.Fix, fp), Object: path, Rule: "not in the release", Detail: "changed, but not linked into " + a.main + ": ignored"})
			continue
		}
		changed = append(changed, path)
	}
	return changed
}

// both runs f and g at the same time and returns when both have.
func both(f, g func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); g() }()
	f()
	wg.Wait()
}

func (a *analysis) refuse(f Finding) { a.plan.Refusals = append(a.plan.Refusals, f) }
func (a *analysis) note(f Finding)   { a.plan.Notes = append(a.plan.Notes, f) }

func (a *analysis) relDir(root string, p *packages.Package) string {
	if len(p.GoFiles) == 0 {
		return p.PkgPath
	}
	return rel(root, filepath.Dir(p.GoFiles[0])) + "/"
}

func (a *analysis) findMain() error {
	if a.in.Main != "" {
		p := a.in.Main
		if strings.HasPrefix(p, "./") || p == "." {
			p = strings.TrimSuffix(a.module+"/"+strings.TrimPrefix(strings.TrimPrefix(p, "."), "/"), "/")
		}
		if bp := a.base[p]; bp == nil || bp.Name != "main" {
			return fmt.Errorf("-main %s: no main package %s in the release source", a.in.Main, p)
		}
		a.main = p
		return nil
	}
	var mains []string
	for path, p := range a.base {
		if p.Name == "main" {
			mains = append(mains, path)
		}
	}
	sort.Strings(mains)
	if len(mains) != 1 {
		return fmt.Errorf("found %d main packages (%s): say which one the release is built from with -main", len(mains), strings.Join(mains, ", "))
	}
	a.main = mains[0]
	return nil
}

// releasePackages returns the packages of the module linked into the
// release's main package.
func (a *analysis) releasePackages() map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(path string) {
		p := a.base[path]
		if p == nil || seen[path] {
			return
		}
		seen[path] = true
		for imp := range p.Imports {
			walk(imp)
		}
	}
	walk(a.main)
	return seen
}

// changedFiles compares what the go command compiles or embeds for a
// package in both trees and returns the files that differ, as paths
// relative to the package directory; it refuses the changes no patch can
// carry: C, assembly and embedded files.
func (a *analysis) changedFiles(bp, fp *packages.Package) []string {
	type set map[string]string // name relative to the package dir -> abs path
	collect := func(p *packages.Package, lists ...[]string) set {
		s := set{}
		dir := ""
		if len(p.GoFiles) > 0 {
			dir = filepath.Dir(p.GoFiles[0])
		}
		for _, l := range lists {
			for _, f := range l {
				r := f
				if dir != "" {
					if x, err := filepath.Rel(dir, f); err == nil {
						r = filepath.ToSlash(x)
					}
				}
				s[r] = f
			}
		}
		return s
	}
	bgo, fgo := collect(bp, bp.GoFiles), collect(fp, fp.GoFiles)
	bother, fother := collect(bp, bp.OtherFiles), collect(fp, fp.OtherFiles)
	bemb, femb := collect(bp, bp.EmbedFiles), collect(fp, fp.EmbedFiles)
	var changed []string
	for _, name := range unionKeys(bgo, fgo) {
		if sameFile(bgo[name], fgo[name]) {
			continue
		}
		changed = append(changed, name)
		if importsC(bgo[name]) || importsC(fgo[name]) {
			a.cgo[fp.PkgPath] = true
			where := fgo[name]
			if where == "" {
				where = bgo[name]
			}
			a.refuse(Finding{Pos: rel(a.rootOf(where), where), Object: fp.PkgPath, Rule: "cgo or assembly changed", Detail: "a file that uses cgo changed: cgo code is compiled outside the Go toolchain's control"})
		}
	}
	for _, name := range unionKeys(bother, fother) {
		if sameFile(bother[name], fother[name]) {
			continue
		}
		changed = append(changed, name)
		where := fother[name]
		if where == "" {
			where = bother[name]
		}
		a.refuse(Finding{Pos: rel(a.rootOf(where), where), Object: fp.PkgPath, Rule: "cgo or assembly changed", Detail: "assembly, C or object files are not rebuilt into a patch"})
	}
	for _, name := range unionKeys(bemb, femb) {
		if sameFile(bemb[name], femb[name]) {
			continue
		}
		changed = append(changed, name)
		where := femb[name]
		if where == "" {
			where = bemb[name]
		}
		a.refuse(Finding{Pos: rel(a.rootOf(where), where), Object: fp.PkgPath, Rule: "embedded file changed", Detail: "embedded files are package-level data of the release; a patch shares, never replaces, them"})
	}
	return changed
}

func (a *analysis) rootOf(path string) string {
	if strings.HasPrefix(path, a.in.Base+string(filepath.Separator)) {
		return a.in.Base
	}
	return a.in.Fix
}

func importsC(path string) bool {
	if path == "" {
		return false
	}
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		return false
	}
	for _, is := range f.Imports {
		if is.Path.Value == `"C"` {
			return true
		}
	}
	return false
}

func loadFiles(ctx context.Context, dir string) (map[string]*packages.Package, error) {
	cfg := &packages.Config{
		Context: ctx,
		Dir:     dir,
		Mode:    packages.NeedName | packages.NeedFiles | packages.NeedEmbedFiles | packages.NeedImports | packages.NeedModule,
	}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, err
	}
	m := map[string]*packages.Package{}
	for _, p := range pkgs {
		if p.Module != nil && !p.Module.Main {
			continue
		}
		m[p.PkgPath] = p
	}
	return m, nil
}

func loadTyped(ctx context.Context, dir string, paths, flags []string) (map[string]*packages.Package, error) {
	var build []string
	for _, f := range flags {
		if !strings.HasPrefix(f, "-ldflags") {
			build = append(build, f)
		}
	}
	cfg := &packages.Config{
		Context:    ctx,
		Dir:        dir,
		BuildFlags: build,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo,
		Fset: token.NewFileSet(),
	}
	pkgs, err := packages.Load(cfg, paths...)
	if err != nil {
		return nil, err
	}
	m := map[string]*packages.Package{}
	var errs []error
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, errors.New(relMsg(dir, e.Error())))
		}
		m[p.PkgPath] = p
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("does not compile:\n%w", errors.Join(errs...))
	}
	for _, path := range paths {
		if m[path] == nil || m[path].Types == nil {
			return nil, fmt.Errorf("package %s not loaded", path)
		}
	}
	return m, nil
}

// relMsg shortens absolute paths under root in a message.
func relMsg(root, msg string) string {
	return strings.ReplaceAll(msg, root+string(filepath.Separator), "")
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return filepath.ToSlash(r)
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil {
		return os.IsNotExist(err1) && os.IsNotExist(err2)
	}
	return bytes.Equal(x, y)
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// side is one version of a package, type-checked, with its declarations
// indexed.
type side struct {
	root  string
	pkg   *packages.Package
	funcs map[string]*funcDecl // by funcKey, without init and _
	inits []*funcDecl
	specs map[types.Object]*ast.ValueSpec
	docs  map[types.Object][]*ast.CommentGroup // doc comments of var declarations
	src   map[*ast.File][]byte
	sizes types.Sizes
}

type funcDecl struct {
	decl *ast.FuncDecl
	file *ast.File
	obj  *types.Func
}

func newSide(root string, p *packages.Package) (*side, error) {
	s := &side{root: root, pkg: p, funcs: map[string]*funcDecl{}, specs: map[types.Object]*ast.ValueSpec{},
		docs: map[types.Object][]*ast.CommentGroup{}, src: map[*ast.File][]byte{}, sizes: p.TypesSizes}
	if s.sizes == nil {
		s.sizes = types.SizesFor("gc", "amd64")
	}
	for _, f := range p.Syntax {
		name := p.Fset.File(f.Pos()).Name()
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		s.src[f] = b
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				fd := &funcDecl{decl: d, file: f}
				fd.obj, _ = p.TypesInfo.Defs[d.Name].(*types.Func)
				switch {
				case d.Recv == nil && d.Name.Name == "init":
					s.inits = append(s.inits, fd)
				case d.Name.Name == "_":
				default:
					s.funcs[funcKey(d)] = fd
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					vs, ok := sp.(*ast.ValueSpec)
					if !ok {
						continue
					}
					for _, n := range vs.Names {
						if obj := p.TypesInfo.Defs[n]; obj != nil {
							s.specs[obj] = vs
							s.docs[obj] = []*ast.CommentGroup{d.Doc, vs.Doc}
						}
					}
				}
			}
		}
	}
	return s, nil
}

func (s *side) pos(p token.Pos) string {
	pos := s.pkg.Fset.Position(p)
	return fmt.Sprintf("%s:%d", rel(s.root, pos.Filename), pos.Line)
}

func (s *side) info() *types.Info { return s.pkg.TypesInfo }

// pkgDiff compares the two versions of one package.
type pkgDiff struct {
	a       *analysis
	path    string
	main    bool // the release's main package
	b, f    *side
	changed []*change
}

// change is a function whose code differs.
type change struct {
	key  string
	b, f *funcDecl
	own  bool // its own code changed, not only its closures'
}

func (d *pkgDiff) refuse(pos, obj, rule, detail string) {
	d.a.refuse(Finding{Pos: pos, Object: obj, Rule: rule, Detail: detail})
}

func (d *pkgDiff) note(pos, obj, rule, detail string) {
	d.a.note(Finding{Pos: pos, Object: obj, Rule: rule, Detail: detail})
}

// obj names a package-level object for people: its linker name.
func (d *pkgDiff) obj(name string) string {
	if d.main {
		return "main." + name
	}
	return symbol.Name{Package: d.path, Func: name}.String()
}

// sym returns the linker symbol of the function with key k.
func (d *pkgDiff) sym(k string) string {
	pkg := d.path
	if d.main {
		pkg = "main"
	}
	n := symbol.Name{Package: pkg}
	switch {
	case strings.HasPrefix(k, "(*"):
		recv, fn, _ := strings.Cut(strings.TrimPrefix(k, "(*"), ").")
		n.Receiver, n.Pointer, n.Func = recv, true, fn
	case strings.Contains(k, "."):
		n.Receiver, n.Func, _ = strings.Cut(k, ".")
	default:
		n.Func = k
	}
	return n.String()
}

// decls compares every package-level declaration.
func (d *pkgDiff) decls() {
	b, f := d.b, d.f
	if b.pkg.Name != f.pkg.Name {
		d.refuse(f.pos(f.pkg.Syntax[0].Name.Pos()), d.path, "package name changed", b.pkg.Name+" → "+f.pkg.Name)
	}
	d.imports()
	bs, fs := b.pkg.Types.Scope(), f.pkg.Types.Scope()
	names := slices.Concat(bs.Names(), fs.Names())
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		bo, fo := bs.Lookup(name), fs.Lookup(name)
		if _, ok := bo.(*types.Func); ok {
			bo = nil // compared below, with methods
		}
		if _, ok := fo.(*types.Func); ok {
			fo = nil
		}
		switch {
		case bo == nil && fo == nil:
		case bo == nil:
			if _, ok := fo.(*types.Var); ok {
				d.refuse(f.pos(fo.Pos()), d.obj(name), "package-level variable added", "a patch shares the release's variables and cannot add one")
			} else {
				d.refuse(f.pos(fo.Pos()), d.obj(name), "new package-level object", kind(fo)+" "+name+": the package's export data, and so its fingerprint, would change")
			}
		case fo == nil:
			if _, ok := bo.(*types.Var); ok {
				d.refuse(b.pos(bo.Pos()), d.obj(name), "package-level variable removed", "the release's code still uses it")
			} else {
				d.refuse(b.pos(bo.Pos()), d.obj(name), "package-level object removed", kind(bo)+" "+name+": the package's export data, and so its fingerprint, would change")
			}
		case kind(bo) != kind(fo):
			d.refuse(f.pos(fo.Pos()), d.obj(name), "package-level object changed", kind(bo)+" → "+kind(fo))
		default:
			switch bo := bo.(type) {
			case *types.Var:
				d.variable(bo, fo.(*types.Var))
			case *types.Const:
				d.constant(bo, fo.(*types.Const))
			case *types.TypeName:
				d.typeName(bo, fo.(*types.TypeName))
			}
		}
	}
	d.funcs()
	d.initFuncs()
	d.blankVars()
}

func kind(o types.Object) string {
	switch o.(type) {
	case *types.Var:
		return "var"
	case *types.Const:
		return "const"
	case *types.TypeName:
		return "type"
	case *types.Func:
		return "func"
	}
	return "object"
}

func (d *pkgDiff) imports() {
	paths := func(s *side) map[string]*ast.ImportSpec {
		m := map[string]*ast.ImportSpec{}
		for _, f := range s.pkg.Syntax {
			for _, is := range f.Imports {
				p := strings.Trim(is.Path.Value, "`\"")
				if _, ok := m[p]; !ok {
					m[p] = is
				}
			}
		}
		return m
	}
	bm, fm := paths(d.b), paths(d.f)
	for _, p := range unionKeys(bm, fm) {
		if bm[p] == nil {
			d.refuse(d.f.pos(fm[p].Pos()), d.path, "import added", p+": a package's imports are part of its export data, and so of its fingerprint")
		}
		// A removed import is kept in the patch as a blank import.
	}
}

func (d *pkgDiff) variable(bo, fo *types.Var) {
	name := d.obj(bo.Name())
	if bt, ft := types.TypeString(bo.Type(), qualifyPath), types.TypeString(fo.Type(), qualifyPath); bt != ft {
		d.refuse(d.f.pos(fo.Pos()), name, "package-level variable changed", "type "+short(bt)+" → "+short(ft))
		return
	}
	if directives(d.b.docs[bo]) != directives(d.f.docs[fo]) {
		d.refuse(d.f.pos(fo.Pos()), name, "package-level variable changed", "its //go: directives changed")
		return
	}
	if d.initializer(d.b, bo) != d.initializer(d.f, fo) {
		d.refuse(d.f.pos(fo.Pos()), name, "package-level variable changed", "initializer changed: it ran once, when the release started; the patch shares the variable and never runs it")
	}
}

func (d *pkgDiff) initializer(s *side, v *types.Var) string {
	vs := s.specs[v]
	if vs == nil || len(vs.Values) == 0 {
		return ""
	}
	if len(vs.Values) == len(vs.Names) {
		for i, n := range vs.Names {
			if s.info().Defs[n] == v {
				return form(vs.Values[i], s.info(), s.pkg.Types, false)
			}
		}
	}
	var b strings.Builder
	for _, e := range vs.Values {
		b.WriteString(form(e, s.info(), s.pkg.Types, false))
	}
	return b.String()
}

// blankVars compares the initializers of "var _ = ..." declarations,
// which run at start-up like any other.
func (d *pkgDiff) blankVars() {
	list := func(s *side) []*ast.ValueSpec {
		var out []*ast.ValueSpec
		for _, f := range s.pkg.Syntax {
			for _, dcl := range f.Decls {
				if g, ok := dcl.(*ast.GenDecl); ok && g.Tok == token.VAR {
					for _, sp := range g.Specs {
						vs := sp.(*ast.ValueSpec)
						for _, n := range vs.Names {
							if n.Name == "_" {
								out = append(out, vs)
								break
							}
						}
					}
				}
			}
		}
		return out
	}
	bl, fl := list(d.b), list(d.f)
	formOf := func(s *side, vs *ast.ValueSpec) string {
		var b strings.Builder
		b.WriteString(form(vs.Type, s.info(), s.pkg.Types, false))
		for _, e := range vs.Values {
			b.WriteString(form(e, s.info(), s.pkg.Types, false))
		}
		return b.String()
	}
	for i := 0; i < len(bl) || i < len(fl); i++ {
		switch {
		case i >= len(bl):
			d.refuse(d.f.pos(fl[i].Pos()), d.obj("_"), "package-level variable added", "a blank variable's initializer runs only when the program starts")
		case i >= len(fl):
			d.refuse(d.b.pos(bl[i].Pos()), d.obj("_"), "package-level variable removed", "a blank variable's initializer runs only when the program starts")
		case formOf(d.b, bl[i]) != formOf(d.f, fl[i]):
			d.refuse(d.f.pos(fl[i].Pos()), d.obj("_"), "package-level variable changed", "initializer changed: it ran once, when the release started")
		}
	}
}

func (d *pkgDiff) constant(bo, fo *types.Const) {
	bt, ft := types.TypeString(bo.Type(), qualifyPath), types.TypeString(fo.Type(), qualifyPath)
	bv, fv := bo.Val().ExactString(), fo.Val().ExactString()
	if bt == ft && bv == fv {
		return
	}
	detail := short(bv) + " → " + short(fv)
	if bt != ft {
		detail = "type " + short(bt) + " → " + short(ft)
	}
	detail += ": its users were compiled with the old value"
	if users := d.users(bo, fo); len(users) > 0 {
		detail += " (" + strings.Join(users, ", ")
		if bo.Exported() && !d.main {
			detail += ", and every package that imports " + d.path
		}
		detail += ")"
	} else if bo.Exported() && !d.main {
		detail += " (every package that imports " + d.path + ")"
	}
	d.refuse(d.f.pos(fo.Pos()), d.obj(bo.Name()), "constant changed", detail)
}

// users lists the functions of the package that use a constant, in the
// release or in the fix.
func (d *pkgDiff) users(bo, fo types.Object) []string {
	var out []string
	for _, s := range []*side{d.b, d.f} {
		o := bo
		if s == d.f {
			o = fo
		}
		for _, f := range s.pkg.Syntax {
			for _, dcl := range f.Decls {
				fd, ok := dcl.(*ast.FuncDecl)
				if !ok {
					continue
				}
				uses := false
				ast.Inspect(fd, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok && s.info().Uses[id] == o {
						uses = true
					}
					return !uses
				})
				if uses {
					out = append(out, d.sym(funcKey(fd)))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (d *pkgDiff) typeName(bo, fo *types.TypeName) {
	name := d.obj(bo.Name())
	pos := d.f.pos(fo.Pos())
	if bo.IsAlias() != fo.IsAlias() {
		d.refuse(pos, name, "type changed", "alias ↔ defined type")
		return
	}
	if bo.IsAlias() {
		if bt, ft := types.TypeString(types.Unalias(bo.Type()), qualifyPath), types.TypeString(types.Unalias(fo.Type()), qualifyPath); bt != ft {
			d.refuse(pos, name, "type changed", "alias of "+short(bt)+" → "+short(ft))
		}
		return
	}
	bn, ok1 := bo.Type().(*types.Named)
	fn, ok2 := fo.Type().(*types.Named)
	if !ok1 || !ok2 {
		return
	}
	if bt, ft := tparams(bn.TypeParams()), tparams(fn.TypeParams()); bt != ft {
		d.refuse(pos, name, "type changed", "type parameters "+bt+" → "+ft)
	}
	if bt, ft := types.TypeString(bn.Underlying(), qualifyPath), types.TypeString(fn.Underlying(), qualifyPath); bt != ft {
		what := "layout"
		if _, ok := bn.Underlying().(*types.Interface); ok {
			what = "method set"
		}
		d.refuse(pos, name, "type changed", what+": "+short(bt)+" → "+short(ft))
	}
	methods := func(n *types.Named) map[string]*types.Func {
		m := map[string]*types.Func{}
		for i := 0; i < n.NumMethods(); i++ {
			m[n.Method(i).Name()] = n.Method(i)
		}
		return m
	}
	bm, fm := methods(bn), methods(fn)
	for _, m := range unionKeys(bm, fm) {
		switch {
		case bm[m] == nil:
			d.refuse(d.f.pos(fm[m].Pos()), name, "type changed", "method set: method "+m+" added")
		case fm[m] == nil:
			d.refuse(pos, name, "type changed", "method set: method "+m+" removed")
		case ptrRecv(bm[m]) != ptrRecv(fm[m]):
			d.refuse(d.f.pos(fm[m].Pos()), name, "type changed", "method set: method "+m+" changed receiver")
		}
	}
}

func ptrRecv(f *types.Func) bool {
	sig := f.Type().(*types.Signature)
	return sig.Recv() != nil && isPointer(sig.Recv().Type())
}

func tparams(l *types.TypeParamList) string {
	var parts []string
	for i := 0; i < l.Len(); i++ {
		parts = append(parts, l.At(i).Obj().Name()+" "+types.TypeString(l.At(i).Constraint(), qualifyPath))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// funcs compares every function and method.
func (d *pkgDiff) funcs() {
	for _, k := range unionKeys(d.b.funcs, d.f.funcs) {
		bf, ff := d.b.funcs[k], d.f.funcs[k]
		isMethod := strings.Contains(k, ".")
		switch {
		case bf == nil:
			if isMethod {
				continue // a method set change, refused with its type
			}
			d.refuse(d.f.pos(ff.decl.Name.Pos()), d.sym(k), "new package-level object", "func "+k+": the package's export data, and so its fingerprint, would change")
			continue
		case ff == nil:
			if isMethod {
				continue
			}
			d.refuse(d.b.pos(bf.decl.Name.Pos()), d.sym(k), "package-level object removed", "func "+k+": the package's export data, and so its fingerprint, would change")
			continue
		}
		pos := d.f.pos(ff.decl.Name.Pos())
		if bf.obj == nil || ff.obj == nil {
			continue
		}
		bsig, fsig := bf.obj.Type().(*types.Signature), ff.obj.Type().(*types.Signature)
		if bt, ft := types.TypeString(bsig, qualifyPath), types.TypeString(fsig, qualifyPath); bt != ft || tparams(bsig.TypeParams()) != tparams(fsig.TypeParams()) {
			d.refuse(pos, d.sym(k), "signature changed", short(types.TypeString(bsig, qualifyName))+" → "+short(types.TypeString(fsig, qualifyName))+": its callers were compiled against the old one")
			continue
		}
		if directives([]*ast.CommentGroup{bf.decl.Doc}) != directives([]*ast.CommentGroup{ff.decl.Doc}) {
			d.refuse(pos, d.sym(k), "compiler directive changed", "//go: directives of a function are part of its package's export data")
			continue
		}
		if (bf.decl.Body == nil) != (ff.decl.Body == nil) {
			d.refuse(pos, d.sym(k), "cgo or assembly changed", "a function moved between Go and assembly")
			continue
		}
		if bf.decl.Body == nil {
			continue
		}
		bb := form(bf.decl.Body, d.b.info(), d.b.pkg.Types, false)
		fb := form(ff.decl.Body, d.f.info(), d.f.pkg.Types, false)
		if bb == fb {
			continue
		}
		if bsig.TypeParams().Len() > 0 || bsig.RecvTypeParams().Len() > 0 {
			d.refuse(pos, d.sym(k), "generic function changed", "generic code is compiled once per shape of its type arguments, not by name, and cannot be replaced")
			continue
		}
		c := &change{key: k, b: bf, f: ff}
		c.own = form(bf.decl.Body, d.b.info(), d.b.pkg.Types, true) != form(ff.decl.Body, d.f.info(), d.f.pkg.Types, true)
		d.changed = append(d.changed, c)
	}
}

func (d *pkgDiff) initFuncs() {
	bl, fl := d.b.inits, d.f.inits
	for i := 0; i < len(bl) || i < len(fl); i++ {
		switch {
		case i >= len(bl):
			d.refuse(d.f.pos(fl[i].decl.Name.Pos()), d.obj("init"), "init changed", "init function added: init functions run once, when the program starts")
		case i >= len(fl):
			d.refuse(d.b.pos(bl[i].decl.Name.Pos()), d.obj("init"), "init changed", "init function removed: it already ran when the release started")
		case form(bl[i].decl.Body, d.b.info(), d.b.pkg.Types, false) != form(fl[i].decl.Body, d.f.info(), d.f.pkg.Types, false):
			d.refuse(d.f.pos(fl[i].decl.Name.Pos()), d.obj("init"), "init changed", "init functions run once, when the program starts: the change would never run")
		}
	}
}

// directives returns the //go: lines of doc comments.
func directives(groups []*ast.CommentGroup) string {
	var out []string
	for _, g := range groups {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:") {
				out = append(out, strings.TrimSpace(c.Text))
			}
		}
	}
	return strings.Join(out, "\n")
}

func short(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
