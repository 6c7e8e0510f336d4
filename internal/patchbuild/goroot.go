package patchbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"go/version"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/gohotfix/hotfix/policy"
)

// A fix to the standard library comes from a newer Go root (`hotfix build
// -goroot DIR`): a point release of the release's Go, or the release's own
// root with the fix made in a copy. The release's standard packages are
// compared with DIR's like a module's, and the changed bodies are spliced
// into the release's own files, which the patch compiles with the release's
// toolchain. What the go command does that this relies on, measured with
// Go 1.26.8 and 1.27.3 (TestGoRootFacts pins each):
//
//   - GOROOT=DIR with GOTOOLCHAIN=local makes the go command read the
//     standard library from DIR. A toolchain switch (GOTOOLCHAIN=go1.27.3
//     given to a go1.26.8 go command) sets GOROOT to the root it switches
//     to, whatever the environment says: DIR, and anything keyed by its
//     paths, is then silently ignored.
//   - A go command of another release lists DIR's packages but cannot
//     compile them (`compile: version "go1.27.3" does not match go tool
//     version "go1.26.8"`): DIR's own bin/go runs every go command on DIR
//     (goBinary). go/packages runs whatever "go" the process's PATH finds,
//     so the fix side of a standard package is listed with DIR's go
//     command and type-checked here (typeStd), not by go/packages.
//   - The go command refuses an overlay of a file beneath GOMODCACHE, where
//     every toolchain it downloads lives ("Files beneath GOMODCACHE must
//     not be replaced"), and ignores, silently, an overlay keyed by one
//     root's file while GOROOT names another. The patch is therefore built
//     in a private copy of the release's root (linkTree: hard links, a
//     fraction of a second), with the spliced files given as an overlay
//     keyed by the copy's paths, GOROOT set to it, GOTOOLCHAIN=local and
//     its own bin/go.
//   - With -trimpath, a build from such a copy is the same binary, byte for
//     byte, as one from the root itself, and reuses its build cache: the
//     plugin's unchanged standard packages keep the host's fingerprints.

// goRootEnv is the environment of a go command that must use the Go root
// dir and nothing else: no toolchain switch may replace it.
func goRootEnv(dir string) []string {
	return []string{"GOROOT=" + dir, "GOTOOLCHAIN=local"}
}

// goBinary returns the go command to run with env: the bin/go of the Go
// root env names, when it has one, because a go command of another
// release cannot compile that root's packages; otherwise "go" from PATH.
func goBinary(env []string) string {
	root := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOROOT="); ok {
			root = v
		}
	}
	if root == "" {
		return "go"
	}
	bin := filepath.Join(root, "bin", "go")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin
	}
	return "go"
}

// fixRootFits says why a Go root of version fix cannot be the fixed source
// of a release built by Go release, or "": it must be the same Go, at the
// same point release or a later one. Another Go changes too much for a
// live patch, and its export data is another format.
func fixRootFits(release, fix string) string {
	switch {
	case !version.IsValid(fix):
		return fmt.Sprintf("its go command reports %q, not a Go release", fix)
	case version.Lang(release) != version.Lang(fix):
		return fmt.Sprintf("it is %s and the release %s: take the fixes of a point release of %s", fix, release, version.Lang(release))
	case version.Compare(fix, release) < 0:
		return fmt.Sprintf("it is %s, older than the release's %s", fix, release)
	}
	return ""
}

// stdPackage reports whether the import path is a standard package that a
// Go root holds and a program can link: cmd/ is the toolchain's own.
func stdPackage(path string) bool {
	return policy.Standard(path) && path != "cmd" && !strings.HasPrefix(path, "cmd/")
}

// listStd lists, under the Go root goroot, the standard packages at paths
// as the release's build would compile them (flags: its tags), in the form
// loadFiles gives: absolute file names, cgo files among GoFiles, the plain
// Go files as CompiledGoFiles. A path goroot lacks is left out.
func listStd(ctx context.Context, dir, goroot string, paths, flags []string) (map[string]*packages.Package, error) {
	args := []string{"list", "-e", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,Imports,Error"}
	args = append(append(args, listFlags(flags)...), paths...)
	out, err := goOut(ctx, dir, goRootEnv(goroot), args...)
	if err != nil {
		return nil, err
	}
	m := map[string]*packages.Package{}
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var lp struct {
			ImportPath, Name, Dir                                                                string
			GoFiles, CgoFiles, EmbedFiles, Imports                                               []string
			CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles, SwigFiles, SwigCXXFiles, SysoFiles []string
			Error                                                                                *struct{ Err string }
		}
		if err := dec.Decode(&lp); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list in %s: %w", goroot, err)
		}
		if lp.Error != nil || lp.Dir == "" {
			continue // not in this root: the analysis notes it as removed
		}
		abs := func(lists ...[]string) []string {
			var out []string
			for _, l := range lists {
				for _, f := range l {
					out = append(out, filepath.Join(lp.Dir, f))
				}
			}
			return out
		}
		p := &packages.Package{ID: lp.ImportPath, PkgPath: lp.ImportPath, Name: lp.Name,
			GoFiles: abs(lp.GoFiles, lp.CgoFiles), CompiledGoFiles: abs(lp.GoFiles), EmbedFiles: abs(lp.EmbedFiles),
			OtherFiles: abs(lp.CFiles, lp.CXXFiles, lp.MFiles, lp.HFiles, lp.FFiles, lp.SFiles, lp.SwigFiles, lp.SwigCXXFiles, lp.SysoFiles),
			Imports:    map[string]*packages.Package{}}
		for _, imp := range lp.Imports {
			p.Imports[imp] = &packages.Package{ID: imp, PkgPath: imp}
		}
		m[p.PkgPath] = p
	}
	return m, nil
}

// listFlags keeps the build flags that decide which files a package has.
func listFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.HasPrefix(f, "-tags") {
			out = append(out, f)
		}
	}
	return out
}

// typeStd type-checks the fix's version of a standard package, as listed
// by listStd, against the release's types of the packages it imports
// (release, loaded by go/packages): what an unchanged import offers is
// the same in both roots, and a changed one is compared on its own. The
// files cgo generated for the release are reused: a changed cgo file is
// refused before (changedFiles).
func typeStd(fix, release *packages.Package) (*packages.Package, error) {
	files := fix.CompiledGoFiles
	relDir := ""
	if len(release.GoFiles) > 0 {
		relDir = filepath.Dir(release.GoFiles[0])
	}
	for _, f := range release.CompiledGoFiles {
		if filepath.Dir(f) != relDir {
			files = append(files, f) // generated by cgo
		}
	}
	p := &packages.Package{ID: fix.ID, PkgPath: fix.PkgPath, Name: fix.Name, GoFiles: fix.GoFiles,
		CompiledGoFiles: files, OtherFiles: fix.OtherFiles, EmbedFiles: fix.EmbedFiles, Imports: fix.Imports,
		Fset: token.NewFileSet(), TypesSizes: release.TypesSizes}
	for _, f := range files {
		af, err := parser.ParseFile(p.Fset, f, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.Syntax = append(p.Syntax, af)
	}
	byPath := map[string]*types.Package{"unsafe": types.Unsafe}
	for _, imp := range release.Types.Imports() {
		byPath[imp.Path()] = imp
	}
	var errs []error
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if ip := release.Imports[path]; ip != nil {
				path = importedPath(ip) // vendor/golang.org/x/... for golang.org/x/...
			}
			if t := byPath[path]; t != nil {
				return t, nil
			}
			return nil, fmt.Errorf("the release's %s does not import %s", release.PkgPath, path)
		}),
		Sizes: release.TypesSizes,
		Error: func(err error) { errs = append(errs, err) },
	}
	p.TypesInfo = &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{},
		Implicits: map[ast.Node]types.Object{}, Instances: map[*ast.Ident]types.Instance{}, Scopes: map[ast.Node]*types.Scope{},
		Selections: map[*ast.SelectorExpr]*types.Selection{}, FileVersions: map[*ast.File]string{},
	}
	p.Types, _ = conf.Check(p.PkgPath, p.Fset, p.Syntax, p.TypesInfo)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s does not compile:\n%w", fix.PkgPath, errors.Join(errs...))
	}
	return p, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// importedPath is the package path of an entry of a Package's Imports,
// which go/packages keys by the path written in the source: the standard
// library's vendored packages are vendor/golang.org/x/... to the linker
// and to `go list`.
func importedPath(ip *packages.Package) string {
	if ip.PkgPath != "" {
		return ip.PkgPath
	}
	return ip.ID
}

// linkTree makes dst a copy of the directory tree src: directories of its
// own (writable, so that the copy can be removed, even of a read-only
// module cache), and each file a hard link, or a copy where no link can
// be made (another file system, or fs.protected_hardlinks for a root the
// user does not own).
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, r)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		}
		if os.Link(path, to) == nil {
			return nil
		}
		return copyFile(path, to)
	})
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, fi.Mode().Perm()|0o200)
}

// underRoot returns files with every path under the Go root from moved to
// the same place under to; the others are kept as they are.
func underRoot(files map[string][]byte, from, to string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for path, src := range files {
		if r, err := filepath.Rel(from, path); from != "" && err == nil && !strings.HasPrefix(r, "..") {
			path = filepath.Join(to, r)
		}
		out[path] = src
	}
	return out
}

// inRoot reports whether any of files is under the Go root dir.
func inRoot(files map[string][]byte, dir string) bool {
	for path := range files {
		if dir != "" && strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// loadStd adds to the fix the release's standard packages as the Go root
// a.in.GoRoot has them, once it has checked that the root is one of the
// release's Go.
func (a *analysis) loadStd(ctx context.Context) error {
	v, err := rootVersion(ctx, a.in.Fix, a.in.GoRoot)
	if err != nil {
		return fmt.Errorf("%s: %w", a.rootFlag(), err)
	}
	if why := fixRootFits(a.in.GoVersion, v); why != "" {
		return fmt.Errorf("%w: %s: %s", ErrRefused, a.rootFlag(), why)
	}
	if a.releaseRoot, err = goOut(ctx, a.in.Base, nil, "env", "GOROOT"); err != nil {
		return err
	}
	var paths []string
	for path, p := range a.base {
		if stdPackage(path) && p.Module == nil {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	fmt.Fprintf(a.in.Log, "comparing %d standard package(s) of %s with %s\n", len(paths), a.releaseRoot, a.in.GoRoot)
	std, err := listStd(ctx, a.in.Fix, a.in.GoRoot, paths, a.in.Flags)
	if err != nil {
		return fmt.Errorf("%s: %w", a.rootFlag(), err)
	}
	for path, p := range std {
		a.fix[path] = p
	}
	a.plan.goroot = a.releaseRoot
	return nil
}

// stdSpliceOnly is why a change to a standard package other than a
// changed body is refused: the patch compiles the release's files of the
// package with the new bodies spliced in (splice.go), and the ways other
// changes ship (a package rebuilt from the fix's files, a generic copy, a
// new signature beside the old) are not carried over to the standard
// library yet.
const stdSpliceOnly = "the standard library's fixes ship as changed function bodies only, spliced into the release's files; this change needs the package rebuilt from the new release's files, which is not done for the standard library yet"

// privateRoot returns the files of the build, those of the release's Go
// root moved into a private copy of it under b.tmp, which it makes when a
// standard package is spliced; shadowEnv then points every go command of
// the build at the copy (see the facts at the top of this file).
func (b *pluginBuild) privateRoot(opt Options) (map[string][]byte, error) {
	if b.plan == nil || !inRoot(b.files, b.plan.goroot) {
		return b.files, nil
	}
	fmt.Fprintf(opt.Log, "copying the release's Go root %s (hard links) to build the spliced standard packages\n", b.plan.goroot)
	if err := linkTree(b.plan.goroot, privateRootDir(b.tmp)); err != nil {
		return nil, fmt.Errorf("private copy of %s: %w", b.plan.goroot, err)
	}
	return b.inPrivateRoot(b.files), nil
}

// inPrivateRoot moves the files of the release's Go root into the private
// copy, once privateRoot has made it.
func (b *pluginBuild) inPrivateRoot(files map[string][]byte) map[string][]byte {
	if b.plan == nil || b.plan.goroot == "" {
		return files
	}
	if _, err := os.Stat(privateRootDir(b.tmp)); err != nil {
		return files
	}
	return underRoot(files, b.plan.goroot, privateRootDir(b.tmp))
}

func privateRootDir(tmp string) string { return filepath.Join(tmp, "goroot") }

// rootVersion returns the Go release of the root dir: the first line of
// its VERSION file, as release archives and the toolchains the go command
// downloads have it, or else what its go command says. A go command of
// another release reports its own version whatever GOROOT says.
func rootVersion(ctx context.Context, dir, root string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(root, "VERSION")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSpace(line), nil
	}
	return goOut(ctx, dir, goRootEnv(root), "env", "GOVERSION")
}
