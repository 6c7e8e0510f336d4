package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"go/version"
	"os"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
	"github.com/gohotfix/hotfix/internal/symbol"
	"golang.org/x/tools/go/packages"
)

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
					s.funcs[layout.FuncKey(d)] = fd
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
	std     bool // a standard package, compared with a new Go root's (goroot.go)
	b, f    *side
	changed []*change
	// addedConsts are declarations of the fix's new unexported constants,
	// written at the end of the package (added.go).
	addedConsts []string
	sigCands    []*change // see signature.go
	// genericBodies: under inlining: keep, the changed generic functions,
	// whose new bodies the package is compiled with (spliced) so that the
	// holders of their inlined copies get them (holders.go).
	genericBodies []*change
	// What only a rebuilt copy of the package can carry (rebuild.go).
	carried    []Finding
	rebuild    bool
	newVars    []*types.Var // the fix's new package-level variables
	newTypes   map[*types.TypeName]bool
	ifaces     map[string]string // interfaceWith's answers, by method name
	constUsers []string          // keys of functions that use a changed constant
	// New struct fields, kept as shadow state (fields.go), and the
	// parameters the fix reaches them through.
	shadows      []*shadowField
	shadowParams map[string]string
	kept         []*keptField // removed fields the patch's structs keep
}

// change is a function whose code differs.
type change struct {
	key  string
	b, f *funcDecl
	own  bool // its own code changed, not only its closures'
	// sig: an unexported function whose signature changed and whose every
	// caller is a changed function: compiled into the patch with its new
	// signature for them, never redirected (signature.go).
	sig bool
	why string // the target's reason, when not its own code
	// xcallers: the functions of other packages that call an exported
	// sig, to be replaced too, or xwhy, why they cannot be
	// (xpkgcallers.go); xdone once looked for.
	xcallers []outsideCaller
	xwhy     string
	xdone    bool
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
			if v, ok := fo.(*types.Var); ok {
				d.addVar(v) // rebuild.go
			} else if c, ok := fo.(*types.Const); ok && !c.Exported() {
				d.addConst(c)
			} else {
				if tn, ok := fo.(*types.TypeName); ok {
					if d.newTypes == nil {
						d.newTypes = map[*types.TypeName]bool{}
					}
					d.newTypes[tn] = true
				}
				d.carry(f.pos(fo.Pos()), d.obj(name), "new package-level object", kind(fo)+" "+name)
			}
		case fo == nil:
			if _, ok := bo.(*types.Var); ok {
				d.carry(b.pos(bo.Pos()), d.obj(name), "package-level variable removed", "var "+name+": the release's code keeps its own")
			} else {
				d.carry(b.pos(bo.Pos()), d.obj(name), "package-level object removed", kind(bo)+" "+name+": the release's code keeps its own")
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
	d.funcLits()
	d.settle() // rebuild.go
}

// funcLits refuses a change in the number of function literals of a
// package, other than main, that declares a named type: each is a function of the object
// file, numbered before the type descriptors whose indices the export
// data records (TestFingerprintFacts), so plugin.Open would refuse the
// patch. The build's self-check would catch it; this names the cause.
func (d *pkgDiff) funcLits() {
	bn, fn := countFuncLits(d.b.pkg.Syntax...), countFuncLits(d.f.pkg.Syntax...)
	if bn == fn || d.main || !declaresType(d.b.pkg.Types) || !closuresNumbered(d.a.in.GoVersion) {
		return // main's copy in the patch is a package of its own
	}
	pos, obj := d.f.pos(d.f.pkg.Syntax[0].Name.Pos()), d.path
	for _, c := range d.changed {
		if countFuncLits(c.b.decl) != countFuncLits(c.f.decl) {
			pos, obj = d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key)
			break
		}
	}
	d.carry(pos, obj, "function literals added or removed", fmt.Sprintf("%d in the package's release, %d in the fix", bn, fn))
}

func countFuncLits[N ast.Node](nodes ...N) int {
	n := 0
	for _, node := range nodes {
		ast.Inspect(node, func(x ast.Node) bool {
			if _, ok := x.(*ast.FuncLit); ok {
				n++
			}
			return true
		})
	}
	return n
}

// closuresNumbered reports whether the toolchain v numbers closures among
// its package's symbols: up to Go 1.26. From Go 1.27 closures are local
// static symbols (TestPluginClosureSymbols) and move no index
// (TestFingerprintFacts).
func closuresNumbered(v string) bool {
	return version.Compare(version.Lang(v), "go1.27") < 0
}

func declaresType(p *types.Package) bool {
	for _, name := range p.Scope().Names() {
		if tn, ok := p.Scope().Lookup(name).(*types.TypeName); ok && !tn.IsAlias() {
			return true
		}
	}
	return false
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
			d.carry(d.f.pos(fm[p].Pos()), d.path, "import added", p)
		}
		// A removed import is kept in the patch as a blank import.
	}
}

func (d *pkgDiff) variable(bo, fo *types.Var) {
	name := d.obj(bo.Name())
	if bt, ft := typeKey(bo.Type()), typeKey(fo.Type()); bt != ft {
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
// which run at start-up like any other, except those that do nothing when
// they run (pureInit).
func (d *pkgDiff) blankVars() {
	list := func(s *side) []*ast.ValueSpec {
		var out []*ast.ValueSpec
		for _, f := range s.pkg.Syntax {
			for _, dcl := range f.Decls {
				if g, ok := dcl.(*ast.GenDecl); ok && g.Tok == token.VAR {
					for _, sp := range g.Specs {
						vs := sp.(*ast.ValueSpec)
						for _, n := range vs.Names {
							if n.Name == "_" && !pureSpec(vs, s.info()) {
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
	// Another package holds the old value only where its source names the
	// constant: a version string bumped with the fix (VERSION = "2.10.27")
	// is named by none, often.
	if bo.Exported() && !d.main {
		if users := d.outsideUses(bo.Name(), false); len(users) > 0 {
			detail += ": " + strings.Join(users, ", ") + " refer(s) to it, compiled with the old value"
			d.refuse(d.f.pos(fo.Pos()), d.obj(bo.Name()), "constant changed", detail)
			return
		}
	}
	users := d.users(bo, fo)
	d.carry(d.f.pos(fo.Pos()), d.obj(bo.Name()), "constant changed", detail+": its users are replaced")
	d.constUsers = append(d.constUsers, users...)
}

// importers lists the release's packages that import this one.
func (d *pkgDiff) importers() []string {
	var out []string
	for p, imps := range d.a.plan.imports {
		if p != d.path && slices.Contains(imps, d.path) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// users lists the functions of the package, by key, that use a constant
// in the release or in the fix.
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
					out = append(out, layout.FuncKey(fd))
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
		if bt, ft := typeKey(types.Unalias(bo.Type())), typeKey(types.Unalias(fo.Type())); bt != ft {
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
	if bt, ft := typeKey(bn.Underlying()), typeKey(fn.Underlying()); bt != ft {
		what := "layout"
		if _, ok := bn.Underlying().(*types.Interface); ok {
			what = "method set"
		}
		detail := what + ": " + short(bt) + " → " + short(ft)
		bs, ok1 := bn.Underlying().(*types.Struct)
		fs, ok2 := fn.Underlying().(*types.Struct)
		if ok1 && ok2 {
			if sameFields(bs, fs) {
				d.carry(pos, name, "types respelled", "fields of the same types, written otherwise (interface{} as any)")
				goto methods
			}
			if added, removed, ok := fieldChanges(bs, fs); ok {
				d.addFields(fn, added) // fields.go
				d.keepFields(bn, fn, removed)
				goto methods
			}
			detail = "layout: " + structChange(bs, fs) + ": the release's code and objects have the old layout"
		}
		d.refuse(pos, name, "type changed", detail)
	}
methods:
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
			d.addMethod(name, fn, fm[m]) // rebuild.go
		case fm[m] == nil:
			d.carry(pos, name, "method removed", "method "+m+": the release's code keeps its own")
		case ptrRecv(bm[m]) != ptrRecv(fm[m]):
			d.refuse(d.f.pos(fm[m].Pos()), name, "type changed", "method set: method "+m+" changed receiver")
		}
	}
}

// sameFields reports whether two structs have the same fields, in the
// same order, of the same types (typeKey) with the same tags.
func sameFields(b, f *types.Struct) bool {
	if b.NumFields() != f.NumFields() {
		return false
	}
	for i := range b.NumFields() {
		bf, ff := b.Field(i), f.Field(i)
		if bf.Name() != ff.Name() || bf.Embedded() != ff.Embedded() || b.Tag(i) != f.Tag(i) || typeKey(bf.Type()) != typeKey(ff.Type()) {
			return false
		}
	}
	return true
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
				continue // a method set change, taken with its type
			}
			d.carry(d.f.pos(ff.decl.Name.Pos()), d.sym(k), "new package-level object", "func "+k)
			continue
		case ff == nil:
			if isMethod {
				continue
			}
			d.carry(d.b.pos(bf.decl.Name.Pos()), d.sym(k), "package-level object removed", "func "+k+": the release's code keeps its own")
			continue
		}
		pos := d.f.pos(ff.decl.Name.Pos())
		if bf.obj == nil || ff.obj == nil {
			continue
		}
		bsig, fsig := bf.obj.Type().(*types.Signature), ff.obj.Type().(*types.Signature)
		if bt, ft := sigTypes(bsig), sigTypes(fsig); bt == ft && types.TypeString(bsig, qualifyPath) != types.TypeString(fsig, qualifyPath) {
			// The same types under other names, or spelled otherwise
			// (interface{} as any): the same function to every caller,
			// but the names and spellings are in the export data.
			rule := "parameters renamed"
			if typeKey(bsig) == typeKey(fsig) {
				rule = "types respelled"
			}
			d.carry(pos, d.sym(k), rule, short(types.TypeString(bsig, qualifyName))+" → "+short(types.TypeString(fsig, qualifyName)))
		}
		if bt, ft := sigTypes(bsig), sigTypes(fsig); bt != ft || tparams(bsig.TypeParams()) != tparams(fsig.TypeParams()) {
			if d.newSignature(k, bf, ff) {
				continue
			}
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
			if d.generic(k, bf, ff) && d.a.in.KeepInlining { // generic.go
				// Its inlined copies are replaced with their holders
				// (holders.go), compiled against the new body.
				d.genericBodies = append(d.genericBodies, &change{key: k, b: bf, f: ff, own: true})
			}
			continue
		}
		c := &change{key: k, b: bf, f: ff}
		c.own = form(bf.decl.Body, d.b.info(), d.b.pkg.Types, true) != form(ff.decl.Body, d.f.info(), d.f.pkg.Types, true)
		d.changed = append(d.changed, c)
	}
	d.checkSignatures()
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

// structChange says how a struct's fields changed: added, removed,
// retyped, retagged or moved, by name.
func structChange(b, f *types.Struct) string {
	type field struct{ typ, tag string }
	fields := func(s *types.Struct) map[string]field {
		m := map[string]field{}
		for i := 0; i < s.NumFields(); i++ {
			m[s.Field(i).Name()] = field{types.TypeString(s.Field(i).Type(), qualifyName), s.Tag(i)}
		}
		return m
	}
	bm, fm := fields(b), fields(f)
	var parts []string
	for _, n := range unionKeys(bm, fm) {
		bf, inB := bm[n]
		ff, inF := fm[n]
		switch {
		case !inB:
			parts = append(parts, "field "+n+" "+ff.typ+" added")
		case !inF:
			parts = append(parts, "field "+n+" removed")
		case bf.typ != ff.typ:
			parts = append(parts, "field "+n+" "+bf.typ+" → "+ff.typ)
		case bf.tag != ff.tag:
			parts = append(parts, "field "+n+" tag changed")
		}
	}
	order := func(s *types.Struct, other map[string]field) []string {
		var out []string
		for i := 0; i < s.NumFields(); i++ {
			if _, ok := other[s.Field(i).Name()]; ok {
				out = append(out, s.Field(i).Name())
			}
		}
		return out
	}
	if !slices.Equal(order(b, fm), order(f, bm)) {
		parts = append(parts, "fields reordered")
	}
	if len(parts) == 0 {
		return "fields changed"
	}
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("and %d more", len(parts)-4))
	}
	return strings.Join(parts, ", ")
}

// sigTypes writes a signature's receiver, parameter and result types,
// without their names: what a caller's code depends on.
func sigTypes(sig *types.Signature) string {
	var b strings.Builder
	list := func(t *types.Tuple) {
		b.WriteString("(")
		for i := 0; i < t.Len(); i++ {
			b.WriteString(typeKey(t.At(i).Type()) + ",")
		}
		b.WriteString(")")
	}
	if sig.Recv() != nil {
		b.WriteString(typeKey(sig.Recv().Type()))
	}
	list(sig.Params())
	list(sig.Results())
	if sig.Variadic() {
		b.WriteString("...")
	}
	return b.String()
}
