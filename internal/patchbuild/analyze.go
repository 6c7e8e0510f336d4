package patchbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gohotfix/hotfix/loader"
	"golang.org/x/tools/go/packages"
)

// analyzeInput says what to compare: two checkouts of one module.
type analyzeInput struct {
	Base  string    // module root of the release source
	Fix   string    // module root of the fixed working tree
	Main  string    // import path of the release's main package; "" for the only one
	Flags []string  // the release's build flags: type-checking reuses its export data
	Log   io.Writer // progress lines
	// GoVersion is the toolchain that built the release ("go1.27.3"); ""
	// means the one the go command in Fix selects. Some facts about the
	// export data depend on it (funcLits).
	GoVersion string
	// GoRoot is a Go root holding the fixed standard library (hotfix build
	// -goroot): the release's standard packages are compared with its.
	// "" compares the packages of modules only.
	GoRoot string
	// RootFlag is how the operator named GoRoot, for messages: "-goroot
	// DIR", or "-go go1.26.9" for the root the go command fetched.
	RootFlag string
	// Bin is the release binary, and KeepInlining says that it was built
	// with the compiler's full optimization (policy inlining: keep): the
	// functions holding an inlined copy of a target are replaced too
	// (holders.go). Without Bin none are looked for.
	Bin          *loader.Binary
	KeepInlining bool
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
	// releaseRoot is the Go root of the release's toolchain, set when the
	// standard library is compared (GoRoot).
	releaseRoot string

	// For callers in other packages of a function whose exported
	// signature changed (xpkgcallers.go): the release's packages
	// type-checked so far, the fix's, the changed packages, the callers
	// to replace, and the functions whose own new signature is carried.
	ctx        context.Context
	typed      map[string]*packages.Package
	fixTyped   map[string]*packages.Package
	changedSet map[string]bool
	xcallers   []outsideCaller
	sigKept    map[string]bool
	linked     map[string]bool // releasePackages, once asked
}

// analyze compares the release source with the fix, package by package,
// and returns the plan: the functions to replace and why, and every
// change that cannot be hot-patched.
func analyze(ctx context.Context, in analyzeInput) (*Plan, error) {
	if in.Log == nil {
		in.Log = io.Discard
	}
	a := &analysis{in: in, plan: &Plan{newSigs: map[string]bool{}}, cgo: map[string]bool{}, ctx: ctx, typed: map[string]*packages.Package{}, changedSet: map[string]bool{}}
	a.sigKept = a.plan.newSigs
	var err error
	if a.module, err = goOut(ctx, in.Fix, nil, "list", "-m"); err != nil {
		return nil, err
	}
	a.plan.Module = a.module
	if a.in.GoVersion == "" {
		if a.in.GoVersion, err = goOut(ctx, in.Fix, nil, "env", "GOVERSION"); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(in.Log, "comparing the working tree with the release source\n")
	var berr, ferr error
	both(func() { a.base, berr = loadFiles(ctx, in.Base, in.GoRoot != "", in.Flags) }, func() { a.fix, ferr = loadFiles(ctx, in.Fix, false, in.Flags) })
	if berr != nil {
		return nil, fmt.Errorf("release source: %w", berr)
	}
	if ferr != nil {
		return nil, fmt.Errorf("working tree: %w", ferr)
	}
	a.compareModules()
	if err := a.findMain(); err != nil {
		return nil, err
	}
	a.plan.Main = a.main
	if in.GoRoot != "" {
		if err := a.loadStd(ctx); err != nil {
			return nil, err
		}
	}
	a.plan.imports = map[string][]string{}
	for path, p := range a.base {
		for _, ip := range p.Imports {
			a.plan.imports[path] = append(a.plan.imports[path], importedPath(ip))
		}
	}
	changed := a.changedPackages()
	if len(changed) == 0 {
		a.plan.sort()
		return a.plan, nil
	}
	fmt.Fprintf(in.Log, "type-checking %d changed package(s) in both trees\n", len(changed))
	bt, ft, err := a.loadChanged(ctx, changed)
	if err != nil {
		return nil, err
	}
	maps.Copy(a.typed, bt)
	a.fixTyped = ft
	for _, path := range changed {
		a.changedSet[path] = true
	}
	if err := a.diffPackages(changed, bt, ft); err != nil {
		return nil, err
	}
	if err := a.addOutsideCallers(); err != nil {
		return nil, err
	}
	if err := a.addInlineHolders(); err != nil {
		return nil, err
	}
	a.plan.sort()
	return a.plan, nil
}

// diffPackages compares each changed package, type-checked in both trees
// (bt, ft), declaration by declaration, and plans its targets.
func (a *analysis) diffPackages(changed []string, bt, ft map[string]*packages.Package) error {
	for _, path := range changed {
		if a.cgo[path] {
			continue // refused as a whole: what cgo generates is not the source
		}
		broot, froot := a.roots(path)
		bs, err := newSide(broot, bt[path])
		if err != nil {
			return err
		}
		fs, err := newSide(froot, ft[path])
		if err != nil {
			return err
		}
		d := &pkgDiff{a: a, path: path, main: bt[path].Name == "main" && path == a.main, std: a.std(path), b: bs, f: fs}
		d.decls()
		if err := d.targets(); err != nil {
			return err
		}
	}
	return nil
}

// loadChanged type-checks the changed packages in both trees: the fix's
// standard packages against the release's imports (typeStd), the others
// with go/packages.
func (a *analysis) loadChanged(ctx context.Context, changed []string) (bt, ft map[string]*packages.Package, err error) {
	var mods []string
	for _, path := range changed {
		if !a.std(path) {
			mods = append(mods, path)
		}
	}
	var berr, ferr error
	both(func() { bt, berr = loadTyped(ctx, a.in.Base, changed, a.in.Flags) }, func() { ft, ferr = loadTyped(ctx, a.in.Fix, mods, a.in.Flags) })
	if berr != nil {
		return nil, nil, fmt.Errorf("release source: %w", berr)
	}
	if ferr != nil {
		return nil, nil, fmt.Errorf("working tree: %w", ferr)
	}
	for _, path := range changed {
		if !a.std(path) || a.cgo[path] {
			continue
		}
		if ft[path], err = typeStd(a.fix[path], bt[path]); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", a.rootFlag(), err)
		}
	}
	return bt, ft, nil
}

// rootFlag names the fixed Go root in messages as the operator named it.
func (a *analysis) rootFlag() string {
	if a.in.RootFlag != "" {
		return a.in.RootFlag
	}
	return "-goroot " + a.in.GoRoot
}

// std reports whether path is a package of the standard library compared
// with a new Go root's.
func (a *analysis) std(path string) bool {
	return a.in.GoRoot != "" && stdPackage(path) && a.base[path] != nil && a.base[path].Module == nil
}

// roots returns the directories the positions of a package's files are
// given relative to, in the release and in the fix.
func (a *analysis) roots(path string) (base, fix string) {
	if a.std(path) {
		return filepath.Join(a.releaseRoot, "src"), filepath.Join(a.in.GoRoot, "src")
	}
	return a.in.Base, a.in.Fix
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

// releasePackages returns the packages linked into the release's main
// package, of the module and of its dependencies.
func (a *analysis) releasePackages() map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(path string) {
		p := a.base[path]
		if p == nil || seen[path] {
			return
		}
		seen[path] = true
		for _, ip := range p.Imports {
			walk(importedPath(ip))
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
	// differ lists the names whose files differ between the trees, and
	// hands each to refuse with its path (the fix's, or the release's if
	// the fix has none).
	differ := func(b, f set, refuse func(name, where string)) {
		for _, name := range unionKeys(b, f) {
			if sameFile(b[name], f[name]) {
				continue
			}
			changed = append(changed, name)
			where := f[name]
			if where == "" {
				where = b[name]
			}
			refuse(name, where)
		}
	}
	at := func(where string) string { return rel(a.rootOf(where), where) }
	differ(bgo, fgo, func(name, where string) {
		if importsC(bgo[name]) || importsC(fgo[name]) {
			a.cgo[fp.PkgPath] = true
			a.refuse(Finding{Pos: at(where), Object: fp.PkgPath, Rule: "cgo or assembly changed", Detail: "a file that uses cgo changed: cgo code is compiled outside the Go toolchain's control"})
		}
	})
	differ(bother, fother, func(_, where string) {
		a.refuse(Finding{Pos: at(where), Object: fp.PkgPath, Rule: "cgo or assembly changed", Detail: "assembly, C or object files are not rebuilt into a patch"})
	})
	differ(bemb, femb, func(_, where string) {
		a.refuse(Finding{Pos: at(where), Object: fp.PkgPath, Rule: "embedded file changed", Detail: "embedded files are package-level data of the release; a patch shares, never replaces, them"})
	})
	return changed
}

func (a *analysis) rootOf(path string) string {
	for _, root := range []string{a.in.Base, filepath.Join(a.releaseRoot, "src"), filepath.Join(a.in.GoRoot, "src")} {
		if strings.HasPrefix(path, root+string(filepath.Separator)) {
			return root
		}
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

// loadFiles lists the packages the module at dir builds, of every module,
// and with std those of the standard library.
func loadFiles(ctx context.Context, dir string, std bool, flags []string) (map[string]*packages.Package, error) {
	cfg := &packages.Config{
		Context:    ctx,
		Dir:        dir,
		BuildFlags: listFlags(flags), // the build's -tags pick its files
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedEmbedFiles | packages.NeedImports | packages.NeedModule,
	}
	// "all": the module's packages and every package they import, from
	// whatever module (a replaced directory, vendor/, the module cache),
	// so that a fix in a dependency is seen like one in the module.
	pkgs, err := packages.Load(cfg, "all")
	if err != nil {
		return nil, err
	}
	m := map[string]*packages.Package{}
	for _, p := range pkgs {
		if p.Module == nil && !(std && stdPackage(p.PkgPath)) {
			continue // the standard library comes with the toolchain
		}
		m[p.PkgPath] = p
	}
	return m, nil
}

func loadTyped(ctx context.Context, dir string, paths, flags []string) (map[string]*packages.Package, error) {
	if len(paths) == 0 {
		return map[string]*packages.Package{}, nil // no pattern would load "."
	}
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

// rel names a file for a reader: relative to root, or as module@version/
// file for one of the module cache.
func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(r, "..") {
		if mc := modCache(); mc != "" && strings.HasPrefix(path, mc+string(filepath.Separator)) {
			return filepath.ToSlash(strings.TrimPrefix(path, mc+string(filepath.Separator)))
		}
		return path
	}
	return filepath.ToSlash(r)
}

var modCache = sync.OnceValue(func() string {
	out, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	return strings.TrimSpace(string(out))
})

func sameFile(a, b string) bool {
	if a == "" || b == "" || a == b {
		return a == b // one path: the same module version in the module cache
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
