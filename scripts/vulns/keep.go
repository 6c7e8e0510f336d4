package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// decls is what the host needs to know about one package to keep its
// symbols linked: read from the source, for this GOOS/GOARCH with cgo.
type decls struct {
	name    string
	funcs   map[string]bool            // top-level function -> generic
	vars    map[string]bool            // package-level variables (a func value can be one)
	types   map[string]typeDecl        // declared types
	methods map[string]map[string]bool // receiver type -> method -> pointer receiver
}

type typeDecl struct{ generic, iface bool }

// buildContext is the go command's view of which files make up a package
// here: cgo is on (plugins need it).
func buildContext() build.Context {
	ctx := build.Default
	ctx.CgoEnabled = true
	return ctx
}

// errNoGo is a package with no Go files for this platform (a Windows-only
// package, say).
var errNoGo = errors.New("no Go files")

// readDecls parses the package in dir.
func readDecls(dir string) (*decls, error) {
	ctx := buildContext()
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil, fmt.Errorf("%w for %s/%s", errNoGo, ctx.GOOS, ctx.GOARCH)
		}
		return nil, err
	}
	d := &decls{name: bp.Name, funcs: map[string]bool{}, vars: map[string]bool{}, types: map[string]typeDecl{}, methods: map[string]map[string]bool{}}
	fset := token.NewFileSet()
	for _, name := range append(append([]string(nil), bp.GoFiles...), bp.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					d.funcs[decl.Name.Name] = decl.Type.TypeParams != nil
					continue
				}
				if len(decl.Recv.List) == 0 {
					continue
				}
				recv, ptr := recvType(decl.Recv.List[0].Type)
				if recv == "" {
					continue
				}
				if d.methods[recv] == nil {
					d.methods[recv] = map[string]bool{}
				}
				d.methods[recv][decl.Name.Name] = ptr
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						_, iface := spec.Type.(*ast.InterfaceType)
						d.types[spec.Name.Name] = typeDecl{generic: spec.TypeParams != nil, iface: iface}
					case *ast.ValueSpec:
						if decl.Tok == token.VAR {
							for _, n := range spec.Names {
								d.vars[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	return d, nil
}

// recvType is the receiver's type name and whether it is a pointer.
func recvType(e ast.Expr) (string, bool) {
	ptr := false
	if s, ok := e.(*ast.StarExpr); ok {
		ptr, e = true, s.X
	}
	switch x := e.(type) {
	case *ast.IndexExpr:
		e = x.X
	case *ast.IndexListExpr:
		e = x.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name, ptr
	}
	return "", false
}

// keepRef is one symbol the host keeps linked, with the Go expressions
// that may name it, best first.
type keepRef struct {
	pkg   string // import path
	alias string
	sym   string // as the extract spells it
	forms []string
}

// resolve turns a symbol of the extract into expressions of the host's
// main package. The extract spells functions "F" and every method "T.M",
// whatever its receiver; a pointer method is kept with (*p.T).M, a value
// method with p.T.M. Without forms, the reason says why it cannot be kept.
func resolve(d *decls, alias, sym string) (forms []string, reason string) {
	typ, name, isMethod := strings.Cut(sym, ".")
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "(*"), ")")
	if !isMethod {
		if generic, ok := d.funcs[sym]; ok {
			if generic {
				return nil, "generic function (needs an instantiation)"
			}
			return []string{alias + "." + sym}, ""
		}
		if d.vars[sym] {
			return []string{alias + "." + sym}, ""
		}
		return nil, "not declared in the package for this platform"
	}
	td, declared := d.types[typ]
	if declared && td.generic {
		return nil, "method of a generic type (needs an instantiation)"
	}
	if ptr, ok := d.methods[typ][name]; ok {
		if ptr {
			return []string{"(*" + alias + "." + typ + ")." + name}, ""
		}
		return []string{alias + "." + typ + "." + name, "(*" + alias + "." + typ + ")." + name}, ""
	}
	if !declared {
		return nil, "type not declared in the package for this platform"
	}
	// An interface's method, or one promoted from an embedded field: the
	// compiler decides.
	if td.iface {
		return []string{alias + "." + typ + "." + name}, ""
	}
	return []string{"(*" + alias + "." + typ + ")." + name, alias + "." + typ + "." + name}, ""
}

// hostImport is one package the host imports.
type hostImport struct {
	path, alias string
}

// hostMain is the source of the host's main package: it imports every
// package, keeps the symbols linked, and starts the agent like a real
// service. lines maps a line of the source to the index in refs it keeps.
func hostMain(imports []hostImport, refs []keepRef) (src []byte, lines map[int]int) {
	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	used := map[string]bool{}
	for _, r := range refs {
		used[r.alias] = true
	}
	line("// Command vulnhost links the vulnerable packages of one report of the Go")
	line("// vulnerability database and runs the hotfix agent, as a service would.")
	line("package main")
	line("")
	line("import (")
	line("\t\"context\"")
	line("\t\"fmt\"")
	line("\t\"log/slog\"")
	line("\t\"os\"")
	line("")
	line("\t\"github.com/gohotfix/hotfix\"")
	for _, im := range imports {
		if used[im.alias] {
			line("\t%s %q", im.alias, im.path)
		} else {
			line("\t_ %q", im.path)
		}
	}
	line(")")
	line("")
	line("// keep links the symbols a service using these packages would call.")
	line("var keep = []any{")
	lines = map[int]int{}
	for i, r := range refs {
		lines[bytes.Count(b.Bytes(), []byte("\n"))+1] = i
		line("\t%s,", r.forms[0])
	}
	line("}")
	line("")
	line("func main() {")
	line("\tagent, err := hotfix.Start(context.Background(), hotfix.Config{PolicyPath: \"hotfix.yaml\", Logger: slog.Default()})")
	line("\tif err != nil {")
	line("\t\tfmt.Fprintln(os.Stderr, \"vulnhost:\", err)")
	line("\t\tos.Exit(1)")
	line("\t}")
	line("\tdefer agent.Close()")
	line("\tif len(os.Args) > 1 && os.Args[1] == \"-keep\" {")
	line("\t\tfmt.Println(len(keep), keep)")
	line("\t}")
	line("}")
	return b.Bytes(), lines
}

// importable says whether a package of another module can be imported
// by the host: not internal to its module, and not a command.
func importable(path string) bool {
	for _, el := range strings.Split(path, "/") {
		if el == "internal" {
			return false
		}
	}
	return true
}

// importers finds packages of the module (source in modDir, path modPath)
// that the host can import and that reach pkg, directly or through at
// most two other internal packages: the way a service reaches code
// internal to a library. Nearest first, then by path.
func importers(modDir, modPath, pkg string) []string {
	ctx := buildContext()
	imports := map[string][]string{} // package -> its imports within the module
	filepath.WalkDir(modDir, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return nil
		}
		base := e.Name()
		if p != modDir && (base == "vendor" || base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
			return filepath.SkipDir
		}
		bp, err := ctx.ImportDir(p, 0)
		if err != nil || bp.Name == "main" {
			return nil
		}
		rel, _ := filepath.Rel(modDir, p)
		path := modPath
		if rel != "." {
			path += "/" + filepath.ToSlash(rel)
		}
		imports[path] = bp.Imports
		return nil
	})
	found := map[string]bool{}
	var out []string
	frontier := []string{pkg}
	for depth := 0; depth < 3 && len(frontier) > 0; depth++ {
		var next, level []string
		for p, imps := range imports {
			if found[p] {
				continue
			}
			for _, im := range imps {
				if contains(frontier, im) {
					found[p] = true
					if importable(p) {
						level = append(level, p)
					} else {
						next = append(next, p)
					}
					break
				}
			}
		}
		sort.Strings(level)
		out = append(out, level...)
		frontier = next
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exported lists up to max exported, non-generic functions and methods
// of d, as the extract would spell them, sorted: what a host keeps of a
// package that leads to an internal one.
func exported(d *decls, max int) []string {
	var out []string
	for f, generic := range d.funcs {
		if ast.IsExported(f) && !generic {
			out = append(out, f)
		}
	}
	for t, ms := range d.methods {
		if !ast.IsExported(t) || d.types[t].generic {
			continue
		}
		for m := range ms {
			if ast.IsExported(m) {
				out = append(out, t+"."+m)
			}
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = out[:max]
	}
	return out
}
