package patchbuild

import (
	"crypto/sha256"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// A fix that adds a function, a variable, a type, an import or a method,
// removes an object, changes a constant or the number of function
// literals changes its package's export data, and with it the linker
// fingerprint that plugin.Open compares with the host's. Such a package is
// rebuilt: the patch compiles the fix's own files of it, and the build
// writes the release's fingerprint over the plugin's (adopt.go) once the
// analysis has shown that nothing the release's compiled code relies on
// changed: the layout and method sets of its types, the signatures of its
// functions, its variables' types, the constants other packages use, and
// the escape analysis of every replaced function's parameters (escape.go).
// The plugin's copy of the package then shares the host's variables and
// type descriptors, and keeps its new objects for itself
// (TestAdoptedFingerprintFacts).
//
// The host's init task of the package ran when the release started, and
// the plugin's copy of it is the host's, so a new variable's initializer
// would never run: it is moved into a function of the package that the
// patch's main package calls when the plugin opens, before any jump is
// written. A flag beside the variable, named after it, its type and its
// initializer, makes it run once per process: a later patch that declares
// the same variable binds to the first one's (the dynamic linker resolves
// both to the first definition), flag included.

// carry records a change that only a rebuilt package can ship; settle
// decides.
func (d *pkgDiff) carry(pos, obj, rule, detail string) {
	d.carried = append(d.carried, Finding{Pos: pos, Object: obj, Rule: rule, Detail: detail})
}

// settle turns what was carried into notes of a rebuilt package, or into
// refusals where a rebuild cannot ship it.
func (d *pkgDiff) settle() {
	if len(d.carried) == 0 {
		return
	}
	if d.main {
		d.settleMain()
		return
	}
	why := ""
	switch {
	case d.std:
		why = stdSpliceOnly
	case d.hasGeneric() && !d.a.in.KeepInlining:
		why = "the package also has a changed generic function, whose copy needs the release's package as it is: ship them in two patches (or build hosts with inlining: keep)"
	}
	for _, f := range d.carried {
		if why != "" {
			f.Detail += ": " + why
			d.a.refuse(f)
			continue
		}
		f.Detail += " (the package is rebuilt from the fix's files)"
		d.a.note(f)
	}
	if why != "" {
		return
	}
	d.rebuild = true
	d.addConstUsers()
}

// settleMain takes what package main's fix carries: the patch compiles a
// copy of main from the fix's files (mainpkg.go), a package of its own, so
// new functions, types, constants and imports are simply in it. A new
// variable is not: the copy's variables are the running program's, and a
// new one would be the patch's own instance, another in the next patch.
func (d *pkgDiff) settleMain() {
	for _, f := range d.carried {
		if f.Rule == "package-level variable added" {
			f.Detail, _, _ = strings.Cut(f.Detail, ":")
			f.Detail += ": package main's new variables are not carried yet (the patch's copy of main would hold its own instance, and the next patch another); declare it in a package"
			d.a.refuse(f)
			continue
		}
		f.Detail += " (in the patch's copy of main)"
		d.a.note(f)
	}
	d.addConstUsers()
}

func (d *pkgDiff) hasGeneric() bool {
	for _, g := range d.a.plan.generics {
		if g.pkg == d.path {
			return true
		}
	}
	return false
}

// addConstUsers makes every function that uses a changed constant a
// target: its code holds the old value.
func (d *pkgDiff) addConstUsers() {
	have := map[string]*change{}
	for _, c := range d.changed {
		have[c.key] = c
	}
	for _, k := range d.constUsers {
		bf, ff := d.b.funcs[k], d.f.funcs[k]
		if c := have[k]; c != nil && d.b.text(c.b, c.b.decl.Body) == d.f.text(c.f, c.f.decl.Body) {
			c.why = "uses a changed constant" // the value is compiled in
		}
		if have[k] != nil || bf == nil || ff == nil || ff.decl.Body == nil || ff.decl.Type.TypeParams != nil || ff.obj.Type().(*types.Signature).RecvTypeParams().Len() > 0 {
			continue
		}
		c := &change{key: k, b: bf, f: ff, own: true, why: "uses a changed constant"}
		have[k] = c
		d.changed = append(d.changed, c)
	}
}

// addVar takes a new package-level variable.
func (d *pkgDiff) addVar(v *types.Var) {
	d.newVars = append(d.newVars, v)
	detail := "var " + v.Name()
	if vs := d.f.specs[v]; vs != nil && len(vs.Values) > 0 {
		detail += ": initialized once, when the plugin opens, before any jump"
	}
	d.carry(d.f.pos(v.Pos()), d.obj(v.Name()), "package-level variable added", detail)
}

// addMethod takes a method the fix adds to a type of the release. The
// release's type descriptor lacks it: a call written t.M() reaches it,
// an interface never does. It is refused when an interface the program
// knows has a method of that name.
func (d *pkgDiff) addMethod(typ string, n *types.Named, m *types.Func) {
	pos := d.f.pos(m.Pos())
	if iface := d.interfaceWith(m.Name()); iface != "" {
		d.refuse(pos, typ, "method added", "method "+m.Name()+": the interface "+iface+" has a method of that name, and the release's type descriptor of "+n.Obj().Name()+", which interfaces are checked against, lacks it")
		return
	}
	d.carry(pos, typ, "method added", "method "+m.Name()+": called directly only; the release's type descriptor lacks it, so no interface sees it")
}

// dynamicMethods are the names the standard library looks for by type
// assertion, wherever the value travels.
var dynamicMethods = map[string]string{
	"String": "fmt.Stringer", "GoString": "fmt.GoStringer", "Format": "fmt.Formatter", "Error": "error",
	"MarshalJSON": "encoding/json.Marshaler", "UnmarshalJSON": "encoding/json.Unmarshaler",
	"MarshalText": "encoding.TextMarshaler", "UnmarshalText": "encoding.TextUnmarshaler",
	"MarshalBinary": "encoding.BinaryMarshaler", "UnmarshalBinary": "encoding.BinaryUnmarshaler",
	"Unwrap": "errors (Unwrap)", "Is": "errors (Is)", "As": "errors (As)",
	"WriteTo": "io.WriterTo", "ReadFrom": "io.ReaderFrom", "LogValue": "log/slog.LogValuer",
}

// interfaceWith names an interface with a method called name: one the
// standard library asserts dynamically, one declared in this package or
// any package it imports, directly or not, or one written as a literal
// in the fix.
func (d *pkgDiff) interfaceWith(name string) string {
	if found, ok := d.ifaces[name]; ok {
		return found
	}
	if d.ifaces == nil {
		d.ifaces = map[string]string{}
	}
	d.ifaces[name] = d.findInterface(name)
	return d.ifaces[name]
}

// findInterface is interfaceWith, uncached. An unexported method name can
// only be in an interface of its own package.
func (d *pkgDiff) findInterface(name string) string {
	if s, ok := dynamicMethods[name]; ok {
		return s
	}
	exported := token.IsExported(name)
	has := func(t types.Type) bool {
		it, ok := t.Underlying().(*types.Interface)
		if !ok {
			return false
		}
		for i := 0; i < it.NumMethods(); i++ {
			if it.Method(i).Name() == name {
				return true
			}
		}
		return false
	}
	seen := map[*types.Package]bool{}
	var found string
	var visit func(p *types.Package)
	visit = func(p *types.Package) {
		if p == nil || seen[p] || found != "" {
			return
		}
		seen[p] = true
		for _, n := range p.Scope().Names() {
			if tn, ok := p.Scope().Lookup(n).(*types.TypeName); ok && has(tn.Type()) {
				found = p.Path() + "." + n
				return
			}
		}
		if !exported {
			return
		}
		for _, imp := range p.Imports() {
			visit(imp)
		}
	}
	visit(d.f.pkg.Types)
	if found != "" {
		return found
	}
	for e, tv := range d.f.info().Types {
		if _, lit := e.(*ast.InterfaceType); lit && has(tv.Type) {
			return "interface{...} at " + d.f.pos(e.Pos())
		}
	}
	return ""
}

// rebuiltPkg is what the build needs of a rebuilt package.
type rebuiltPkg struct {
	path string
	init string // linker name of the function that runs new initializers, or ""
}

// rebuildFiles puts the fix's files of the package in place of the
// release's, with new variables' initializers moved into functions.
func (d *pkgDiff) rebuildFiles() error {
	if d.a.plan.overlays == nil {
		d.a.plan.overlays = map[string][]byte{}
	}
	bdir := filepath.Dir(d.b.pkg.Fset.File(d.b.pkg.Syntax[0].Pos()).Name())
	fixed := map[string]bool{}
	inits, err := d.varInits()
	if err != nil {
		return err
	}
	for _, f := range d.f.pkg.Syntax {
		base := filepath.Base(d.f.pkg.Fset.File(f.Pos()).Name())
		fixed[base] = true
		d.a.plan.overlays[filepath.Join(bdir, base)] = inits.files[f]
	}
	for _, f := range d.b.pkg.Syntax {
		name := d.b.pkg.Fset.File(f.Pos()).Name()
		if !fixed[filepath.Base(name)] {
			d.a.plan.overlays[name] = nil // removed by the fix
		}
	}
	rp := &rebuiltPkg{path: d.path}
	if gen := d.generatedFile(inits.calls, inits.aliases); gen != nil {
		d.a.plan.overlays[filepath.Join(bdir, "zz_hotfix_init.go")] = gen
	}
	if gen := d.shadowFile(); gen != nil {
		d.a.plan.overlays[filepath.Join(bdir, "zz_hotfix_shadow.go")] = gen
	}
	if len(inits.calls) > 0 {
		rp.init = d.path + ".hotfixInitVars"
	}
	d.escapes(d.f)
	d.a.plan.rebuilt = append(d.a.plan.rebuilt, rp)
	d.a.plan.pkgs = append(d.a.plan.pkgs, d.path)
	return nil
}

// varInitSet is the fix's files with new initializers moved out and new
// types renamed, the calls that run the initializers, in order, and the
// aliases that keep the new types' names.
type varInitSet struct {
	files   map[*ast.File][]byte
	calls   []string
	aliases []string
}

// A later patch built on the same release may declare the same new
// variable or type, and the dynamic linker binds its symbol to the first
// patch's: the same instance, as wanted, as long as the declaration is the
// same. So each new variable's and type's symbol is named after its type
// (and a type's methods): an unchanged declaration in the next patch
// shares it, a changed one gets a symbol of its own instead of the first
// one's storage or type descriptor, of another layout.

// contentName is the symbol name, in package path, of a new object name
// declared as decl.
func contentName(name, decl string) string {
	sum := sha256.Sum256([]byte(decl))
	return fmt.Sprintf("%s_hotfix%x", name, sum[:4])
}

// typeDecl describes a new type as far as its descriptor goes: its
// underlying type and its methods.
func typeDecl(tn *types.TypeName) string {
	named, ok := tn.Type().(*types.Named)
	if !ok {
		return types.TypeString(tn.Type(), qualifyPath)
	}
	var b strings.Builder
	b.WriteString(types.TypeString(named.Underlying(), qualifyPath))
	ms := types.NewMethodSet(types.NewPointer(named))
	for i := 0; i < ms.Len(); i++ {
		b.WriteString(";" + ms.At(i).Obj().Name() + types.TypeString(ms.At(i).Type(), qualifyPath))
	}
	return b.String()
}

// renameTypes renames each new defined type's declaration to its content
// name; an alias under the old name (generatedFile) keeps every use.
// Generic types keep their names.
func (d *pkgDiff) renameTypes(edits map[*ast.File][]layout.Edit) []string {
	var aliases []string
	for _, f := range d.f.pkg.Syntax {
		tf := d.f.pkg.Fset.File(f.Pos())
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, sp := range g.Specs {
				ts := sp.(*ast.TypeSpec)
				tn, _ := d.f.info().Defs[ts.Name].(*types.TypeName)
				if tn == nil || !d.newTypes[tn] || ts.Assign.IsValid() || ts.TypeParams != nil {
					continue
				}
				to := contentName(ts.Name.Name, typeDecl(tn))
				edits[f] = append(edits[f], layout.Edit{Start: tf.Offset(ts.Name.Pos()), End: tf.Offset(ts.Name.End()), Text: to})
				aliases = append(aliases, "type "+ts.Name.Name+" = "+to)
			}
		}
	}
	return aliases
}

// generatedFile is the package's generated file: the new variables'
// symbol names, the new types' aliases, and hotfixInitVars.
func (d *pkgDiff) generatedFile(calls, aliases []string) []byte {
	if len(d.newVars) == 0 && len(aliases) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by hotfix build. DO NOT EDIT.\n\npackage %s\n\nimport _ \"unsafe\" // go:linkname\n\n", d.f.pkg.Name)
	b.WriteString("// The new variables' symbols are named after their types, and the new\n// types after their declarations (rebuild.go).\n")
	for _, v := range d.newVars {
		fmt.Fprintf(&b, "//\n//go:linkname %s %s.%s\n", v.Name(), d.path, contentName(v.Name(), types.TypeString(v.Type(), qualifyPath)))
	}
	for _, a := range aliases {
		fmt.Fprintf(&b, "\n%s\n", a)
	}
	if len(calls) > 0 {
		fmt.Fprintf(&b, "\n// hotfixInitVars runs the new variables' initializers, in the fix's\n// initialization order, when the patch's plugin opens.\nfunc hotfixInitVars() {\n\t%s\n}\n", strings.Join(calls, "\n\t"))
	}
	return []byte(b.String())
}

// varInits moves every new variable's initializer into a function of its
// file, run once by hotfixInitVars.
func (d *pkgDiff) varInits() (varInitSet, error) {
	out := varInitSet{files: map[*ast.File][]byte{}}
	isNew := map[*types.Var]bool{}
	for _, v := range d.newVars {
		isNew[v] = true
	}
	fileOf := map[*ast.ValueSpec]*ast.File{}
	for _, f := range d.f.pkg.Syntax {
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				fileOf[vs] = f
			}
			_, fn := n.(*ast.FuncDecl)
			return !fn
		})
	}
	edits := map[*ast.File][]layout.Edit{}
	out.aliases = d.renameTypes(edits)
	if err := d.shadowEdits(edits); err != nil { // fields.go
		return out, err
	}
	d.keptEdits(edits) // fieldkeep.go
	tails := map[*ast.File][]string{}
	done := map[*ast.ValueSpec]bool{}
	for _, in := range d.f.info().InitOrder {
		n := 0
		for _, v := range in.Lhs {
			if isNew[v] {
				n++
			}
		}
		if n == 0 {
			continue
		}
		pos := d.f.pos(in.Lhs[0].Pos())
		if n != len(in.Lhs) {
			return out, d.refuseInit(pos, in.Lhs[0], "declared together with a variable of the release")
		}
		vs := d.f.specs[in.Lhs[0]]
		file := fileOf[vs]
		if vs == nil || file == nil {
			return out, fmt.Errorf("internal error: no declaration of %s", in.Lhs[0].Name())
		}
		if !done[vs] {
			done[vs] = true
			e, err := d.dropInitializer(file, vs)
			if err != nil {
				return out, d.refuseInit(pos, in.Lhs[0], err.Error())
			}
			edits[file] = append(edits[file], e)
		}
		fn, tail := d.initFunc(file, in)
		tails[file] = append(tails[file], tail)
		out.calls = append(out.calls, fn+"()")
	}
	for _, f := range d.f.pkg.Syntax {
		src, err := layout.Apply(d.f.src[f], edits[f])
		if err != nil {
			return out, err
		}
		if t := tails[f]; len(t) > 0 {
			src = fmt.Appendf(src, "\n%s", strings.Join(t, ""))
		}
		if len(edits[f]) > 0 {
			if src, err = blankUnusedImports(d.f.pkg.Fset.File(f.Pos()).Name(), f, d.f.info(), src); err != nil { // unusedimports.go
				return out, err
			}
		}
		out.files[f] = src
	}
	return out, nil
}

func (d *pkgDiff) refuseInit(pos string, v *types.Var, why string) error {
	d.refuse(pos, d.obj(v.Name()), "package-level variable added", "var "+v.Name()+": its initializer cannot be moved out: "+why)
	return errRefusedHere
}

// errRefusedHere ends a package's preparation after a refusal was
// recorded; the plan reports it.
var errRefusedHere = fmt.Errorf("refused")

// dropInitializer removes "= values" from a spec, naming the type where
// the spec had none; the lines keep their count, so nothing after moves.
func (d *pkgDiff) dropInitializer(file *ast.File, vs *ast.ValueSpec) (layout.Edit, error) {
	tf := d.f.pkg.Fset.File(file.Pos())
	src := d.f.src[file]
	from := tf.Offset(vs.Names[len(vs.Names)-1].End())
	text := ""
	if vs.Type != nil {
		from = tf.Offset(vs.Type.End())
	} else {
		t := d.f.info().Defs[vs.Names[0]].Type()
		for _, n := range vs.Names[1:] {
			if !types.Identical(d.f.info().Defs[n].Type(), t) {
				return layout.Edit{}, fmt.Errorf("its names have different types; declare each on its own")
			}
		}
		name, err := typeIn(file, d.f.pkg.Types, t)
		if err != nil {
			return layout.Edit{}, err
		}
		text = " " + name
	}
	to := tf.Offset(vs.Values[len(vs.Values)-1].End())
	text += strings.Repeat("\n", strings.Count(string(src[from:to]), "\n"))
	return layout.Edit{Start: from, End: to, Text: text}, nil
}

// typeIn writes t as file can name it.
func typeIn(file *ast.File, self *types.Package, t types.Type) (string, error) {
	var missing string
	s := types.TypeString(t, func(p *types.Package) string {
		if p == self {
			return ""
		}
		for _, is := range file.Imports {
			if strings.Trim(is.Path.Value, "`\"") != p.Path() {
				continue
			}
			if is.Name != nil && is.Name.Name != "_" && is.Name.Name != "." {
				return is.Name.Name
			}
			if is.Name == nil {
				return p.Name()
			}
		}
		missing = p.Path()
		return p.Name()
	})
	if missing != "" {
		return "", fmt.Errorf("its type %s needs %s, which its file does not import; write the type in the declaration", s, missing)
	}
	return s, nil
}

// initFunc writes the function that runs one initializer once.
func (d *pkgDiff) initFunc(file *ast.File, in *types.Initializer) (string, string) {
	tf := d.f.pkg.Fset.File(file.Pos())
	src := d.f.src[file]
	rhs := string(src[tf.Offset(in.Rhs.Pos()):tf.Offset(in.Rhs.End())])
	var names []string
	for _, v := range in.Lhs {
		names = append(names, v.Name())
	}
	var typs []string
	for _, v := range in.Lhs {
		typs = append(typs, types.TypeString(v.Type(), qualifyPath))
	}
	sum := sha256.Sum256([]byte(strings.Join(names, ",") + " " + strings.Join(typs, ",") + " = " + form(in.Rhs, d.f.info(), d.f.pkg.Types, false)))
	fn := "hotfixInit_" + names[0]
	flag := fmt.Sprintf("hotfixInitDone_%s_%x", names[0], sum[:4])
	return fn, fmt.Sprintf(`
// %s runs the initializer of %s once per process.
func %s() {
	if %s {
		return
	}
	%s = %s
	%s = true
}

var %s bool
`, fn, strings.Join(names, ", "), fn, flag, strings.Join(names, ", "), rhs, flag, flag)
}

func (p *Plan) rebuiltPaths() []string {
	var out []string
	for _, rp := range p.rebuilt {
		out = append(out, rp.path)
	}
	return out
}

// inits lists the functions that run new initializers, a package's after
// those of the packages it imports.
func (p *Plan) inits() []string {
	var out []string
	done := map[string]bool{}
	var visit func(rp *rebuiltPkg)
	visit = func(rp *rebuiltPkg) {
		if done[rp.path] {
			return
		}
		done[rp.path] = true
		for _, dep := range p.rebuilt {
			if slices.Contains(p.imports[rp.path], dep.path) {
				visit(dep)
			}
		}
		if rp.init != "" {
			out = append(out, rp.init)
		}
	}
	for _, rp := range p.rebuilt {
		visit(rp)
	}
	return out
}

// text is the source of a node of fd's file.
func (s *side) text(fd *funcDecl, n ast.Node) string {
	tf := s.pkg.Fset.File(fd.file.Pos())
	return string(s.src[fd.file][tf.Offset(n.Pos()):tf.Offset(n.End())])
}
