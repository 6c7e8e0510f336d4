package patchbuild

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gohotfix/hotfix/internal/symbol"
)

// The binary's inline trees do not list every function that holds an
// inlined copy: the compiler keeps a tree node only for a call some of
// whose instructions survive with its position, and a body merged into
// its caller's instructions (2*n+i folded into one LEAQ) leaves none,
// while the caller still computes the old 2*n (TestInlineTreeMisses). The
// compiler's own report is complete: compiled with -m, it prints every
// call it inlined, at the outermost call site in the package's own files,
// nested copies included. So the holders are read from the release's
// packages compiled again with -m, as the release compiled them.

// inlCall is one inlined call the compiler reported: the base name of
// the file, the position of the outermost call site, and the callee as
// the compiler prints it ("Rate" in its own package, "meter.Rate" and
// "strings.(*Builder).WriteString" elsewhere).
type inlCall struct {
	file      string
	line, col int
	callee    string
}

// compilerInlines compiles pkgs of the release at dir with its flags and
// -m, and returns the inlined calls of each package's own code.
func compilerInlines(ctx context.Context, dir string, flags, pkgs []string) (map[string][]inlCall, error) {
	args := append([]string{"build"}, flags...)
	for _, p := range pkgs {
		v, err := gcflagsFor(flags, p)
		if err != nil {
			return nil, err
		}
		args = append(args, "-gcflags="+p+"="+strings.TrimSpace(v+" -m"))
	}
	args = append(args, "-o", "/dev/null")
	args = append(args, pkgs...)
	out, err := runAll(ctx, dir, nil, args...)
	if err != nil {
		return nil, err
	}
	return parseInlines(out), nil
}

// parseInlines reads the "inlining call to" lines of the go command's
// -m output, under each "# package" header.
func parseInlines(out string) map[string][]inlCall {
	calls := map[string][]inlCall{}
	pkg := ""
	for _, l := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(l, "# "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := mLine.FindStringSubmatch(l)
		if m == nil || pkg == "" {
			continue
		}
		callee, ok := strings.CutPrefix(m[4], "inlining call to ")
		if !ok {
			continue
		}
		callee, _, _ = strings.Cut(callee, " with score ")
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		calls[pkg] = append(calls[pkg], inlCall{file: filepath.Base(m[1]), line: line, col: col, callee: callee})
	}
	return calls
}

// printedNames are the forms in which the compiler prints a call to the
// function sym inlined: unqualified in its own package, by package name
// elsewhere.
func printedNames(sym, pkgName string) (local, qualified string) {
	n, err := symbol.Parse(sym)
	if err != nil {
		return "", ""
	}
	local = funcKeyOf(n)
	return local, pkgName + "." + local
}

// enclosing is what holds a position of a package's file: the function
// declared around it (fd; nil in a variable's initializer), whether it is
// inside a function literal, and for an init function its place among
// the file's init functions.
type enclosing struct {
	fd    *ast.FuncDecl
	inLit bool
	init  int
}

// enclosingAt parses file and finds what holds line:col.
func enclosingAt(file string, line, col int) (enclosing, error) {
	f, tf, err := parseFile(file)
	if err != nil {
		return enclosing{}, err
	}
	if line < 1 || line > tf.LineCount() {
		return enclosing{}, nil
	}
	pos := tf.LineStart(line) + token.Pos(col-1)
	var e enclosing
	inits := 0
	for _, d := range f.Decls {
		if d.Pos() > pos || pos >= d.End() {
			if isInit(d) {
				inits++
			}
			continue
		}
		if fd, ok := d.(*ast.FuncDecl); ok {
			e.fd, e.init = fd, inits
		}
		ast.Inspect(d, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok && pos >= lit.Pos() && pos < lit.End() {
				e.inLit = true
			}
			return !e.inLit
		})
		break
	}
	return e, nil
}

func parseFile(file string) (*ast.File, *token.File, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	return f, fset.File(f.Pos()), nil
}

func isInit(d ast.Decl) bool {
	fd, ok := d.(*ast.FuncDecl)
	return ok && fd.Recv == nil && fd.Name.Name == "init"
}

// initsBefore counts the init functions of the files sorted before file:
// the compiler numbers a package's init functions (init.0, init.1) in the
// order of its files, as the go command lists them, sorted.
func initsBefore(files []string, file string) (int, error) {
	n := 0
	for _, f := range slices.Sorted(slices.Values(files)) {
		if filepath.Base(f) >= filepath.Base(file) {
			continue
		}
		af, _, err := parseFile(f)
		if err != nil {
			return 0, err
		}
		for _, d := range af.Decls {
			if isInit(d) {
				n++
			}
		}
	}
	return n, nil
}
