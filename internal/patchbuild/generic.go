package patchbuild

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// A changed generic function is not redirected to its package's new
// shape functions: a generic body is in the package's export data, so the
// package compiled with the new body has another fingerprint
// (TestGenericFingerprintFacts), and the plugin's own shape functions are
// DUPOK symbols the dynamic linker may bind to the host's. Instead the
// patch compiles the new body as a renamed generic function of the
// plugin's own main package (hotfixG0, a method becoming a function of
// its receiver), instantiated once per shape the release binary holds
// (genericplan.go); each release shape function p.F[go.shape.int] is
// redirected to hotfixG0[go.shape.int]. Under inlining: keep the package
// is also compiled with the new body (spliced, or rebuilt) and takes the
// release's fingerprint, for the functions holding inlined copies of it
// (holders.go); under inlining: off it is compiled as it is. The copy
// reaches p's exported names through an import, and p's unexported
// functions and variables through go:linkname (hosts and patches link
// with -checklinkname=0); a body that needs p's unexported types, fields
// or methods, or an unexported generic function, is refused.
//
// The redirected code runs with the dictionary its caller passes, the
// release's: finish compares the two word by word (checkDicts).

// genericFunc is one changed generic function or method.
type genericFunc struct {
	pkg      string // import path
	sym      string // linker name with "[...]"
	pos      string
	basePos  string // the release's declaration, file:line
	sig      string
	copyName string // hotfixG<n>
	recv     string // receiver type name, "" for a function
	ptr      bool   // pointer receiver
	name     string // function or method name
	decls    string // the generated file's declarations, without its keep-alive list
	tparams  []string
	closures map[string]bool // closures of the release replaced with the copy's
	// The parameters, receiver first, as the copy names them and as the
	// release does ("" where unnamed), and where the release's package
	// is: for the comparison of their escape analysis (escapegeneric.go).
	params, relParams   []string
	results, relResults []string
	dir, pkgName        string
	orig                types.Type // the generic signature, or the receiver's generic type
	// Filled by Plan.check from the release binary.
	shapes [][]string // type arguments of each shape function
	dicts  []string   // the release's dictionaries
	fresh  []string   // underlying types of the named types the dictionary is checked with
}

// generic takes a changed generic function as a copy, or refuses it; it
// reports whether it took it.
func (d *pkgDiff) generic(k string, bf, ff *funcDecl) bool {
	pos, sym := d.f.pos(ff.decl.Name.Pos()), d.sym(k)
	if d.main {
		d.refuse(pos, sym, "generic function changed", "a generic function of package main: the patch's copy of main cannot hold a second generic copy of it")
		return false
	}
	if d.std {
		d.refuse(pos, sym, "generic function changed", stdSpliceOnly)
		return false
	}
	g := &genericFunc{pkg: d.path, sym: sym, pos: pos, basePos: d.b.pos(bf.decl.Name.Pos()), sig: types.TypeString(ff.obj.Type(), qualifyName),
		copyName: fmt.Sprintf("hotfixG%d", len(d.a.plan.generics)), name: ff.decl.Name.Name}
	sig := ff.obj.Type().(*types.Signature)
	g.orig = sig
	if recv := sig.Recv(); recv != nil {
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			t, g.ptr = p.Elem(), true
		}
		named, _ := t.(*types.Named)
		if named == nil {
			d.refuse(pos, sym, "generic function changed", "receiver is not a named type")
			return false
		}
		g.recv, g.orig = named.Obj().Name(), named.Origin()
	}
	r := &rewriter{d: d, fd: ff, imports: map[string]string{}}
	src, err := r.copyDecl(g)
	if err != nil {
		d.refuse(pos, sym, "generic function changed", err.Error()+": the new body is compiled outside "+d.path+" (its package's export data holds the release's body), where only exported names, and unexported functions and variables, can be reached")
		return false
	}
	g.decls = src
	g.params, g.relParams = paramNames(ff.decl, "hotfixRecv"), paramNames(bf.decl, "")
	g.results, g.relResults = resultNames(ff.decl), resultNames(bf.decl)
	if len(d.b.pkg.GoFiles) > 0 {
		g.dir, g.pkgName = filepath.Dir(d.b.pkg.GoFiles[0]), d.b.pkg.Name
	}
	bc, fc := closures(bf.decl, d.b.info(), d.b.sizes), closures(ff.decl, d.f.info(), d.f.sizes)
	if why := sameClosures(bc, fc); why != "" && len(bc) > 0 {
		d.note(pos, sym, "closures not replaced", why+": closures the release already created keep the old code")
	} else if why == "" {
		g.closures = map[string]bool{}
		for _, c := range fc {
			g.closures[c.name] = true
		}
	}
	d.note(pos, sym, "generic body changed", "replaced in every shape function of the release binary by "+g.copyName+", a copy compiled in the patch's main package; its dictionary is compared with the release's after the build")
	d.a.plan.generics = append(d.a.plan.generics, g)
	return true
}

// paramNames lists fd's receiver and parameters by name, "" for an
// unnamed or blank one; an unnamed or blank receiver is named recv (the
// copy of a method names it so).
func paramNames(fd *ast.FuncDecl, recv string) []string {
	var names []string
	if fd.Recv != nil {
		name := recv
		if ns := fd.Recv.List[0].Names; len(ns) > 0 && ns[0].Name != "_" {
			name = ns[0].Name
		}
		names = append(names, name)
	}
	return append(names, fieldNames(fd.Type.Params)...)
}

// resultNames lists fd's results by name, "" for an unnamed or blank
// one.
func resultNames(fd *ast.FuncDecl) []string { return fieldNames(fd.Type.Results) }

// fieldNames lists the names a field list declares, "" for an unnamed or
// blank one.
func fieldNames(l *ast.FieldList) []string {
	var names []string
	if l == nil {
		return nil
	}
	for _, f := range l.List {
		if len(f.Names) == 0 {
			names = append(names, "")
		}
		for _, n := range f.Names {
			if n.Name == "_" {
				names = append(names, "")
			} else {
				names = append(names, n.Name)
			}
		}
	}
	return names
}

// rewriter writes the fix's generic function as a function of another
// package.
type rewriter struct {
	d       *pkgDiff
	fd      *funcDecl
	imports map[string]string // path -> name
	extra   []string          // go:linkname and constant declarations
	errs    []string
	// A method's receiver, and the conversion that makes it the release's
	// type again where the body uses it other than through a field.
	recv     types.Object
	recvConv string
}

const pkgAlias = "hotfixpkg"

// copyDecl returns the generated file's declarations: the copy and what
// it needs. A method becomes a method of a generic type of the plugin
// defined as its receiver's type (hotfixG0R[T] p.Ring[T]): a shape
// method takes its receiver first and the dictionary second
// (cmd/compile/internal/noder/reader.go, shapeSig), a function the
// dictionary first. Its body starts by converting the receiver back.
func (r *rewriter) copyDecl(g *genericFunc) (string, error) {
	decl := r.fd.decl
	sig := r.fd.obj.Type().(*types.Signature)
	tps := sig.TypeParams()
	if sig.Recv() != nil {
		tps = sig.RecvTypeParams()
	}
	var tp []string
	for i := 0; i < tps.Len(); i++ {
		tp = append(tp, tps.At(i).Obj().Name()+" "+r.typeText(tps.At(i).Constraint()))
		g.tparams = append(g.tparams, tps.At(i).Obj().Name())
	}
	if decl.Recv != nil && len(decl.Recv.List[0].Names) > 0 {
		r.recv = r.d.f.info().Defs[decl.Recv.List[0].Names[0]]
		orig := pkgAlias + "." + g.recv + "[" + strings.Join(g.tparams, ", ") + "]"
		r.recvConv = orig
		if g.ptr {
			r.recvConv = "(*" + orig + ")"
		}
	}
	var params []string
	for _, f := range decl.Type.Params.List {
		params = append(params, r.text(f))
	}
	results := ""
	if decl.Type.Results != nil {
		results = " " + r.text(decl.Type.Results)
	}
	body := r.text(decl.Body)
	var code strings.Builder
	fmt.Fprintf(&code, "// %s is the fix's %s.\n//\n//go:noinline\n", g.copyName, g.sym)
	if decl.Recv == nil {
		fmt.Fprintf(&code, "func %s[%s](%s)%s %s\n", g.copyName, strings.Join(tp, ", "), strings.Join(params, ", "), results, body)
	} else {
		r.method(&code, g, tp, strings.Join(params, ", ")+")"+results, body)
	}
	if len(r.errs) > 0 {
		sort.Strings(r.errs)
		return "", fmt.Errorf("%s", strings.Join(dedup(r.errs), "; "))
	}
	for _, e := range r.extra {
		code.WriteString("\n" + e + "\n")
	}
	var b strings.Builder
	b.WriteString("import (\n\t_ \"unsafe\" // go:linkname\n")
	if strings.Contains(code.String(), pkgAlias+".") {
		fmt.Fprintf(&b, "\t%s %q\n", pkgAlias, r.d.path)
	}
	uses(decl.Body, r.d.f.info(), r.d.f.pkg.Types, func(k importKey, _ string) { r.imports[k.path] = k.name })
	for _, path := range sortedStrings(r.imports) {
		fmt.Fprintf(&b, "\t%s %q\n", r.imports[path], path)
	}
	b.WriteString(")\n\n")
	b.WriteString(code.String())
	return b.String(), nil
}

// method writes the copy of a method: the receiver type's stand-in and
// the method on it. The stand-in has the receiver's fields, and the body
// converts the receiver back where it uses it otherwise (text).
func (r *rewriter) method(code *strings.Builder, g *genericFunc, tp []string, rest, body string) {
	if !ast.IsExported(g.recv) {
		r.errs = append(r.errs, "a method of the unexported type "+g.recv+", which cannot be named outside its package")
		return
	}
	names := strings.Join(g.tparams, ", ")
	orig := pkgAlias + "." + g.recv + "[" + names + "]"
	recvType := g.recvType() + "[" + names + "]"
	if g.ptr {
		recvType = "*" + recvType
	}
	name := "hotfixRecv"
	if r.recv != nil && r.recv.Name() != "_" {
		name = r.recv.Name()
	}
	fmt.Fprintf(code, "func (%s %s) %s(%s %s\n\n", name, recvType, g.name, rest, body)
	fmt.Fprintf(code, "// %s stands for %s in the copy of its method %s.\ntype %s[%s] %s\n", g.recvType(), orig, g.name, g.recvType(), strings.Join(tp, ", "), orig)
}

// recvType is the name of the stand-in for a method's receiver type.
func (g *genericFunc) recvType() string { return g.copyName + "R" }

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func sortedStrings(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// typeText writes t as the generated file names it; unexported names of
// the package are errors.
func (r *rewriter) typeText(t types.Type) string {
	s := types.TypeString(t, func(p *types.Package) string {
		if p.Path() == r.d.path {
			return pkgAlias
		}
		r.imports[p.Path()] = p.Name()
		return p.Name()
	})
	for rest := s; ; {
		i := strings.Index(rest, pkgAlias+".")
		if i < 0 {
			break
		}
		rest = rest[i+len(pkgAlias)+1:]
		if c, _ := utf8.DecodeRuneInString(rest); !unicode.IsUpper(c) {
			r.errs = append(r.errs, "uses an unexported type of "+r.d.path+" ("+s+")")
			break
		}
	}
	return s
}

// text returns the fix's source of n with every name of the package
// rewritten for the generated file.
func (r *rewriter) text(n ast.Node) string {
	info, fset := r.d.f.info(), r.d.f.pkg.Fset
	tf := fset.File(r.fd.file.Pos())
	src := r.d.f.src[r.fd.file]
	var edits []layout.Edit
	sels, fieldOf := map[*ast.Ident]bool{}, map[*ast.Ident]bool{}
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.SelectorExpr:
			sels[m.Sel] = true
			if s := info.Selections[m]; s != nil {
				r.member(s.Obj())
				if id, ok := m.X.(*ast.Ident); ok && s.Kind() == types.FieldVal {
					fieldOf[id] = true
				}
			}
		case *ast.Ident:
			if r.recv != nil && info.Uses[m] == r.recv && !fieldOf[m] {
				edits = append(edits, layout.Edit{Start: tf.Offset(m.Pos()), End: tf.Offset(m.End()), Text: r.recvConv + "(" + m.Name + ")"})
			} else if e, ok := r.ident(m, sels[m], info); ok {
				edits = append(edits, layout.Edit{Start: tf.Offset(m.Pos()), End: tf.Offset(m.End()), Text: e})
			}
		}
		return true
	})
	out, err := layout.Apply(src[tf.Offset(n.Pos()):tf.Offset(n.End())], shift(edits, -tf.Offset(n.Pos())))
	if err != nil {
		r.errs = append(r.errs, err.Error())
	}
	return string(out)
}

func shift(es []layout.Edit, by int) []layout.Edit {
	out := make([]layout.Edit, len(es))
	for i, e := range es {
		out[i] = layout.Edit{Start: e.Start + by, End: e.End + by, Text: e.Text}
	}
	return out
}

// member refuses a field or method of the package that is not exported.
func (r *rewriter) member(obj types.Object) {
	if obj.Pkg() != nil && obj.Pkg().Path() == r.d.path && !obj.Exported() {
		what := "method"
		if v, ok := obj.(*types.Var); ok && v.IsField() {
			what = "field"
		}
		r.errs = append(r.errs, "uses the unexported "+what+" "+obj.Name())
	}
}

// ident returns the text that replaces a name of the package.
func (r *rewriter) ident(id *ast.Ident, sel bool, info *types.Info) (string, bool) {
	obj := info.Uses[id]
	if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != r.d.path {
		return "", false
	}
	if v, ok := obj.(*types.Var); ok && v.IsField() {
		if !sel {
			r.member(v) // a composite literal's key
		}
		return "", false
	}
	if sel || obj.Parent() != obj.Pkg().Scope() {
		return "", false // a method, or local to the function
	}
	if obj.Exported() {
		return pkgAlias + "." + id.Name, true
	}
	n := len(r.extra)
	switch o := obj.(type) {
	case *types.Func:
		sig := o.Type().(*types.Signature)
		if sig.TypeParams().Len() > 0 {
			r.errs = append(r.errs, "calls the unexported generic function "+o.Name()+" (go:linkname cannot reach generic code)")
			return "", false
		}
		name := fmt.Sprintf("hotfixL%d_%s", n, o.Name())
		r.extra = append(r.extra, fmt.Sprintf("//go:linkname %s %s.%s\nfunc %s%s", name, r.d.path, o.Name(), name, strings.TrimPrefix(r.typeText(sig), "func")))
		return name, true
	case *types.Var:
		name := fmt.Sprintf("hotfixL%d_%s", n, o.Name())
		sym := o.Name()
		if r.d.b.pkg.Types.Scope().Lookup(sym) == nil {
			// New in the fix (a rebuilt package, inlining: keep): its
			// symbol is named after its type (rebuild.go), and a link to
			// the plain name would make a variable of the patch's own.
			sym = contentName(sym, types.TypeString(o.Type(), qualifyPath))
		}
		r.extra = append(r.extra, fmt.Sprintf("//go:linkname %s %s.%s\nvar %s %s", name, r.d.path, sym, name, r.typeText(o.Type())))
		return name, true
	case *types.Const:
		name := fmt.Sprintf("hotfixC%d_%s", n, o.Name())
		typ := ""
		if b, ok := o.Type().(*types.Basic); !ok || b.Info()&types.IsUntyped == 0 {
			typ = " " + r.typeText(o.Type())
		}
		r.extra = append(r.extra, fmt.Sprintf("const %s%s = %s", name, typ, o.Val().ExactString()))
		return name, true
	}
	r.errs = append(r.errs, "uses the unexported "+kind(obj)+" "+obj.Name())
	return "", false
}
