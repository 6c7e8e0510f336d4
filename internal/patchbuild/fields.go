package patchbuild

import (
	"crypto/sha256"
	_ "embed"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// A field the fix adds to a struct of the release cannot be in the
// release's objects: they were allocated with the old layout, and the
// release's code, type descriptors and reflection know only that one. It
// becomes shadow state, as kpatch's klp_shadow_get_or_alloc: the struct
// keeps the release's layout in the patch, and every use of the new field
// in the fix's code becomes a call that returns its storage beside the
// object (shadow/shadow.go, carried into the package's generated file),
// created on first use and freed with the object. Objects made before the
// patch read the zero value, or the value a //hotfix:default directive on
// the field gives; a copy of the struct value does not carry the field.
//
// Its storage is keyed by the object's address, so the object must not
// live on a goroutine stack, which moves. Where the fix reaches the field
// through a local variable, the accessor makes it escape, and the
// compiler puts the object on the heap. Through a parameter it must not
// (the release's callers were compiled for the parameter's old escape
// analysis, escape.go), and an object on the caller's stack would get a
// new zero value on each use; the build notes it when the release's
// escape analysis allows a caller to do so.

// shadowField is a field the fix adds to a struct of the release.
type shadowField struct {
	named *types.Named // the struct's type, in the fix
	field *types.Var
	decl  *ast.Field
	file  *ast.File
	def   string // the //hotfix:default expression, or ""
	// defFile is the file def was written in, whose imports it may use.
	defFile *ast.File
	sets    []fieldSet // the fix's literals that set it
}

// name is the suffix of the generated declarations of the field.
func (sf *shadowField) name() string { return sf.named.Obj().Name() + "_" + sf.field.Name() }

// fieldChanges returns the fields f adds to b and those it removes, when
// that is all it changes: the fields of both are in the same order, with
// the same types, tags and embedding.
func fieldChanges(b, f *types.Struct) (added, removed []*types.Var, ok bool) {
	index := func(s *types.Struct) map[string]int {
		m := map[string]int{}
		for i := 0; i < s.NumFields(); i++ {
			m[s.Field(i).Name()] = i
		}
		return m
	}
	bi, fi := index(b), index(f)
	last := -1
	for i := 0; i < b.NumFields(); i++ {
		bf := b.Field(i)
		j, in := fi[bf.Name()]
		if !in {
			removed = append(removed, bf)
			continue
		}
		ff := f.Field(j)
		if j < last || bf.Embedded() != ff.Embedded() || b.Tag(i) != f.Tag(j) ||
			typeKey(bf.Type()) != typeKey(ff.Type()) {
			return nil, nil, false
		}
		last = j
	}
	for i := 0; i < f.NumFields(); i++ {
		if _, in := bi[f.Field(i).Name()]; !in {
			added = append(added, f.Field(i))
		}
	}
	return added, removed, len(added)+len(removed) > 0
}

// addFields takes the fields the fix adds to the struct type named, or
// refuses them, naming the reason.
func (d *pkgDiff) addFields(named *types.Named, added []*types.Var) {
	typ := d.obj(named.Obj().Name())
	for _, fv := range added {
		pos := d.f.pos(fv.Pos())
		what := "field " + fv.Name() + " " + types.TypeString(fv.Type(), qualifyName)
		decl, file := d.fieldDecl(fv)
		why := d.fieldRule(named, fv, "declare the type in a package", "")
		switch {
		case why != "":
		case decl == nil || len(decl.Names) != 1:
			why = "declare it on its own line, apart from the release's fields"
		case decl.Tag != nil:
			why = "it has a tag: code that reads fields by reflection (encoding/json and the like) sees the release's type, which lacks it"
		}
		if why != "" {
			d.refuse(pos, typ, "field added", what+": "+why)
			continue
		}
		sf := &shadowField{named: named, field: fv, decl: decl, file: file, def: fieldDefault(decl), defFile: file}
		d.shadows = append(d.shadows, sf)
		detail := what + ": kept beside each object (shadow state)"
		if sf.def != "" {
			detail += "; objects made before the patch read " + sf.def
		}
		d.carry(pos, typ, "field added", detail+"; a copy of the struct value does not carry it")
	}
}

// fieldRule says why a field added to or removed from the struct named
// cannot be shipped whatever its uses, or "": package main's structs,
// generic ones and embedded fields are not handled; inMain and embedded
// say what the fix author can do instead.
func (d *pkgDiff) fieldRule(named *types.Named, fv *types.Var, inMain, embedded string) string {
	switch {
	case d.main:
		return "package main's structs do not change fields yet; " + inMain
	case named.TypeParams().Len() > 0:
		return "the struct is generic"
	case fv.Embedded():
		return "an embedded field is part of the struct's method set, which the release's type descriptor fixes" + embedded
	}
	return ""
}

// fieldDecl finds the declaration of a struct field in the fix.
func (d *pkgDiff) fieldDecl(fv *types.Var) (*ast.Field, *ast.File) {
	for _, f := range d.f.pkg.Syntax {
		if f.Pos() > fv.Pos() || fv.Pos() > f.End() {
			continue
		}
		var found *ast.Field
		ast.Inspect(f, func(n ast.Node) bool {
			if fl, ok := n.(*ast.Field); ok && found == nil {
				for _, id := range fl.Names {
					if d.f.info().Defs[id] == fv {
						found = fl
					}
				}
			}
			return found == nil
		})
		return found, f
	}
	return nil, nil
}

// fieldDefault is the expression of a field's //hotfix:default directive.
func fieldDefault(decl *ast.Field) string {
	for _, g := range []*ast.CommentGroup{decl.Doc, decl.Comment} {
		if g == nil {
			continue
		}
		for _, c := range g.List {
			if rest, ok := strings.CutPrefix(c.Text, "//hotfix:default "); ok {
				return strings.TrimSpace(rest)
			}
		}
	}
	return ""
}

// fieldSet is a composite literal's value for a new field.
type fieldSet struct {
	kv   *ast.KeyValueExpr
	file *ast.File
}

// settleDefaults decides what the objects made before the patch read for
// each new field the fix's literals set, as a constructor does. A field
// with a //hotfix:default reads that. Otherwise, when every literal gives
// it the same value, written with nothing but the package's names,
// constants and make or new, that value is its default, and a note says
// so; when they give it different values, or values of their context
// (a parameter, a local), the field is refused: zero could break the new
// code (a nil map it writes to, a limit of 0), so the fix author says.
func (d *pkgDiff) settleDefaults() {
	for _, sf := range d.shadows {
		if sf.def != "" {
			continue
		}
		text, at := "", (*fieldSet)(nil)
		for i := range sf.sets {
			set := &sf.sets[i]
			if isZeroValue(set.kv.Value, d.f.info()) {
				continue
			}
			t := d.f.text(&funcDecl{file: set.file}, set.kv.Value)
			if at != nil && t != text || !contextFree(set.kv.Value, d.f.info(), d.f.pkg.Types) || d.namesNewField(set.kv.Value) {
				d.refuse(d.f.pos(set.kv.Pos()), d.obj(sf.named.Obj().Name()), "field added",
					"field "+sf.field.Name()+": the fix sets it here, and the objects made before the patch would read its zero value; say what they read with a comment on the field: //hotfix:default EXPR (//hotfix:default 0 keeps zero)")
				at = nil
				break
			}
			text, at = t, set
		}
		if at != nil {
			sf.def, sf.defFile = text, at.file
			d.note(d.f.pos(at.kv.Pos()), d.obj(sf.named.Obj().Name()), "field added",
				"field "+sf.field.Name()+": objects made before the patch read "+text+", the value the fix's literals give it (a //hotfix:default comment on the field chooses another)")
		}
	}
}

// namesNewField reports whether e names a field the fix adds: the default
// is copied as written into the generated file, where the struct lacks it.
func (d *pkgDiff) namesNewField(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			for _, sf := range d.shadows {
				found = found || d.f.info().Uses[id] == sf.field
			}
		}
		return !found
	})
	return found
}

// isZeroValue reports whether e is written as a zero value: 0, "", nil,
// false.
func isZeroValue(e ast.Expr, info *types.Info) bool {
	tv := info.Types[e]
	if tv.Value != nil {
		switch tv.Value.ExactString() {
		case "0", `""`, "false":
			return true
		}
	}
	return tv.IsNil()
}

// contextFree reports whether e can be evaluated anywhere in the package:
// it names only the package's objects, imported packages' (through their
// package names), predeclared ones and fields, and calls only make, new
// and conversions. A function literal that captures nothing (nosurf's
// isTLS: func(r *http.Request) bool { return true }) is such a value too:
// its body runs only when the function is called, and names only what it
// declares itself besides.
func contextFree(e ast.Expr, info *types.Info, pkg *types.Package) bool {
	var lits []*ast.FuncLit // the literals around the node visited
	qualified := map[*ast.Ident]bool{}
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		if !ok || n == nil {
			return false
		}
		for len(lits) > 0 && n.Pos() >= lits[len(lits)-1].End() {
			lits = lits[:len(lits)-1]
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			lits = append(lits, n)
		case *ast.SelectorExpr:
			if id, isID := n.X.(*ast.Ident); isID {
				_, qualified[n.Sel] = info.Uses[id].(*types.PkgName)
			}
		case *ast.CallExpr:
			if len(lits) > 0 {
				break // it runs when the function is called
			}
			if tv := info.Types[n.Fun]; !tv.IsType() && !tv.IsBuiltin() {
				ok = false
			} else if id, isID := ast.Unparen(n.Fun).(*ast.Ident); isID && tv.IsBuiltin() && id.Name != "make" && id.Name != "new" {
				ok = false
			}
		case *ast.Ident:
			ok = nameFree(info.Uses[n], pkg, qualified[n], lits)
		}
		return ok
	})
	return ok
}

// nameFree reports whether a name that resolves to obj can be evaluated
// anywhere in package pkg, inside the function literals lits: a field or
// a method; an object of pkg's top level, or of an imported package's
// named through its package name (qualified: a dot import is not written
// in the generated file); a predeclared one; or one declared inside the
// outermost literal.
func nameFree(obj types.Object, pkg *types.Package, qualified bool, lits []*ast.FuncLit) bool {
	switch obj := obj.(type) {
	case nil, *types.PkgName, *types.Builtin, *types.Nil, *types.Label:
		return true
	case *types.Var:
		if obj.IsField() {
			return true
		}
	case *types.Func:
		if obj.Signature().Recv() != nil {
			return true
		}
	}
	switch {
	case obj.Parent() == types.Universe:
		return true
	case obj.Pkg() == pkg && obj.Parent() == pkg.Scope():
		return true
	case obj.Pkg() != nil && obj.Pkg() != pkg:
		return qualified
	}
	return len(lits) > 0 && lits[0].Pos() <= obj.Pos() && obj.Pos() < lits[0].End()
}

// shadowPlan is where the fix's files use the new fields: the edits that
// turn the uses into the accessors' calls, and the parameters through
// which the fix reaches a field (for escape.go's note).
type shadowPlan struct {
	fields map[*types.Var]*shadowField
	params map[string]string // "file:line:col name" of a parameter -> "S.F, S.G"
}

// shadowEdits adds to edits what turns each use of a new field into its
// accessor, and removes the fields from the structs.
func (d *pkgDiff) shadowEdits(edits map[*ast.File][]layout.Edit) error {
	if len(d.shadows) == 0 {
		return nil
	}
	sp := &shadowPlan{fields: map[*types.Var]*shadowField{}, params: map[string]string{}}
	for _, sf := range d.shadows {
		sp.fields[sf.field] = sf
	}
	refused := len(d.a.plan.Refusals)
	for _, f := range d.f.pkg.Syntax {
		r := &shadowRewriter{d: d, sp: sp, file: f, tf: d.f.pkg.Fset.File(f.Pos()), src: d.f.src[f]}
		r.collect()
		edits[f] = append(edits[f], r.edits()...)
	}
	for _, sf := range d.shadows {
		tf := d.f.pkg.Fset.File(sf.file.Pos())
		from, to := tf.Offset(sf.decl.Pos()), tf.Offset(sf.decl.End())
		edits[sf.file] = append(edits[sf.file], layout.Edit{Start: from, End: to, Text: newlines(d.f.src[sf.file][from:to])})
	}
	d.shadowParams = sp.params
	d.settleDefaults()
	if len(d.a.plan.Refusals) > refused {
		return errRefusedHere
	}
	return nil
}

func newlines(b []byte) string { return strings.Repeat("\n", strings.Count(string(b), "\n")) }

// shadowRewriter rewrites one file: each site (a selector of a new field,
// or &S{...} that sets one) becomes text built from the text of its
// operands, in which the sites they hold are rewritten too.
type shadowRewriter struct {
	d     *pkgDiff
	sp    *shadowPlan
	file  *ast.File
	tf    *token.File
	src   []byte
	sites []*shadowSite
}

type shadowSite struct {
	node   ast.Node
	render func() string
}

func (r *shadowRewriter) collect() {
	var stack []ast.Node
	ast.Inspect(r.file, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.SelectorExpr:
			r.selector(n, stack)
		case *ast.CompositeLit:
			r.literal(n, stack)
		}
		return true
	})
	// Outer sites first: a selector of a selector starts where it does.
	slices.SortFunc(r.sites, func(a, b *shadowSite) int {
		if a.node.Pos() != b.node.Pos() {
			return int(a.node.Pos()) - int(b.node.Pos())
		}
		return int(b.node.End()) - int(a.node.End())
	})
}

// refuse refuses a use of a new field, naming its place.
func (r *shadowRewriter) refuse(n ast.Node, sf *shadowField, why string) {
	r.d.refuse(r.d.f.pos(n.Pos()), r.d.obj(sf.named.Obj().Name()), "field added", "field "+sf.field.Name()+": "+why)
}

func (r *shadowRewriter) selector(sel *ast.SelectorExpr, stack []ast.Node) {
	s := r.d.f.info().Selections[sel]
	if s == nil || s.Kind() != types.FieldVal {
		return
	}
	sf := r.sp.fields[s.Obj().(*types.Var)]
	if sf == nil {
		return
	}
	if r.inPackageVar(stack) {
		r.refuse(sel, sf, "a package-level variable's initializer uses it; set it in a function")
		return
	}
	// The object the field belongs to: the operand, through the embedded
	// fields the selector promotes it from.
	path, t := "", s.Recv()
	viaPointer := isPointer(t)
	for _, i := range s.Index()[:len(s.Index())-1] {
		st := derefType(t).Underlying().(*types.Struct)
		path += "." + st.Field(i).Name()
		t = st.Field(i).Type()
		viaPointer = viaPointer || isPointer(t)
	}
	ptr := isPointer(t)
	if !ptr && !viaPointer && !r.d.f.info().Types[sel.X].Addressable() {
		r.refuse(sel, sf, "read from a value that has no address (a copy, or a map element): a copy does not carry the field")
		return
	}
	accessor := r.accessor(sf, sel.X, stack)
	r.sites = append(r.sites, &shadowSite{node: sel, render: func() string {
		base := "(" + r.text(sel.X.Pos(), sel.X.End()) + ")" + path
		if !ptr {
			base = "&" + base
		}
		return "(*" + accessor + "(" + base + "))"
	}})
}

// accessor chooses the field's accessor for an object reached from x: one
// that makes the object escape, so that the compiler puts it on the heap,
// unless the object comes from a parameter, whose escape analysis the
// release's callers rely on (the parameter is recorded for the note).
func (r *shadowRewriter) accessor(sf *shadowField, x ast.Expr, stack []ast.Node) string {
	v := originVar(x, r.d.f.info())
	if v == nil || v.Parent() == r.d.f.pkg.Types.Scope() {
		return "hotfixField_" + sf.name()
	}
	if id := r.paramIdent(v, stack); id != nil {
		key, f := paramPos(r.d.f.pkg.Fset.Position(id.Pos()), id.Name), sf.named.Obj().Name()+"."+sf.field.Name()
		if have := r.sp.params[key]; have == "" {
			r.sp.params[key] = f
		} else if !slices.Contains(strings.Split(have, ", "), f) {
			r.sp.params[key] = have + ", " + f
		}
		return "hotfixField_" + sf.name()
	}
	return "hotfixFieldEscaping_" + sf.name()
}

// paramIdent returns the declaration of v if it is a receiver or a
// parameter of a function around the node on top of stack.
func (r *shadowRewriter) paramIdent(v *types.Var, stack []ast.Node) *ast.Ident {
	for _, n := range stack {
		var lists []*ast.FieldList
		switch n := n.(type) {
		case *ast.FuncDecl:
			lists = []*ast.FieldList{n.Recv, n.Type.Params}
		case *ast.FuncLit:
			lists = []*ast.FieldList{n.Type.Params}
		}
		for _, l := range lists {
			if l == nil {
				continue
			}
			for _, f := range l.List {
				for _, id := range f.Names {
					if r.d.f.info().Defs[id] == v {
						return id
					}
				}
			}
		}
	}
	return nil
}

// originVar is the variable an expression reaches its object from,
// through selectors, indexing, dereferences and parentheses, or nil.
func originVar(x ast.Expr, info *types.Info) *types.Var {
	for {
		switch e := x.(type) {
		case *ast.ParenExpr:
			x = e.X
		case *ast.SelectorExpr:
			if s := info.Selections[e]; s == nil || s.Kind() != types.FieldVal {
				v, _ := info.Uses[e.Sel].(*types.Var) // a package's variable
				return v
			}
			x = e.X
		case *ast.StarExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.UnaryExpr:
			if e.Op != token.AND {
				return nil
			}
			x = e.X
		case *ast.Ident:
			v, _ := info.Uses[e].(*types.Var)
			return v
		default:
			return nil
		}
	}
}

func (r *shadowRewriter) inPackageVar(stack []ast.Node) bool {
	for _, n := range stack {
		if g, ok := n.(*ast.GenDecl); ok && g.Tok == token.VAR {
			return true
		}
		if _, ok := n.(*ast.FuncDecl); ok {
			return false
		}
	}
	return false
}

// literal takes a composite literal of a struct with new fields: &S{...}
// becomes hotfixWith_S_F(&S{...}, value), the field's value set once the
// object is on the heap. A value literal that sets one has no address to
// keep it at, and an unkeyed one would not compile without the field.
func (r *shadowRewriter) literal(lit *ast.CompositeLit, stack []ast.Node) {
	tv, ok := r.d.f.info().Types[lit]
	if !ok {
		return
	}
	named, _ := types.Unalias(tv.Type).(*types.Named)
	var set []*ast.KeyValueExpr
	var fields []*shadowField
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			for _, sf := range r.d.shadows {
				if sf.named == named {
					r.refuse(lit, sf, "an unkeyed literal of "+named.Obj().Name()+" sets it; name the fields")
					return
				}
			}
			return
		}
		id, _ := kv.Key.(*ast.Ident)
		if id == nil {
			return // a map or slice literal
		}
		if v, _ := r.d.f.info().Uses[id].(*types.Var); v != nil && r.sp.fields[v] != nil {
			set, fields = append(set, kv), append(fields, r.sp.fields[v])
		}
	}
	if len(set) == 0 {
		return
	}
	amp, _ := stack[len(stack)-2].(*ast.UnaryExpr)
	if lit.Type == nil || amp == nil || amp.Op != token.AND {
		r.refuse(lit, fields[0], "a struct value literal sets it, and a copy of the value does not carry the field; write &"+named.Obj().Name()+"{...}")
		return
	}
	if r.inPackageVar(stack) {
		r.refuse(lit, fields[0], "a package-level variable's initializer sets it; set it in a function")
		return
	}
	for i, kv := range set {
		fields[i].sets = append(fields[i].sets, fieldSet{kv: kv, file: r.file})
	}
	r.sites = append(r.sites, &shadowSite{node: amp, render: func() string {
		holes := map[token.Pos]token.Pos{}
		for _, kv := range set {
			holes[kv.Pos()] = r.afterComma(kv.End())
		}
		out := "&" + r.textWithout(lit.Pos(), lit.End(), holes)
		for i, kv := range set {
			out = "hotfixWith_" + fields[i].name() + "(" + out + ", " + r.text(kv.Value.Pos(), kv.Value.End()) + ")"
		}
		return out
	}})
}

// afterComma is the position after the comma that follows an element, or
// the element's end.
func (r *shadowRewriter) afterComma(end token.Pos) token.Pos {
	off := r.tf.Offset(end)
	for i := off; i < len(r.src); i++ {
		switch r.src[i] {
		case ' ', '\t':
			continue
		case ',':
			return r.tf.Pos(i + 1)
		}
		break
	}
	return end
}

// text is the source from..to with the sites in it rewritten.
func (r *shadowRewriter) text(from, to token.Pos) string {
	var b strings.Builder
	at := from
	for _, s := range r.sites {
		if s.node.Pos() < at || s.node.End() > to {
			continue // before, after, or inside one rendered already
		}
		b.Write(r.src[r.tf.Offset(at):r.tf.Offset(s.node.Pos())])
		b.WriteString(s.render())
		at = s.node.End()
	}
	b.Write(r.src[r.tf.Offset(at):r.tf.Offset(to)])
	return b.String()
}

// textWithout is text with the ranges of holes (start -> end) left out
// but for their line breaks; a hole holds whole sites or none.
func (r *shadowRewriter) textWithout(from, to token.Pos, holes map[token.Pos]token.Pos) string {
	starts := make([]token.Pos, 0, len(holes))
	for s := range holes {
		starts = append(starts, s)
	}
	slices.Sort(starts)
	var b strings.Builder
	at := from
	for _, s := range starts {
		b.WriteString(r.text(at, s))
		b.WriteString(newlines(r.src[r.tf.Offset(s):r.tf.Offset(holes[s])]))
		at = holes[s]
	}
	b.WriteString(r.text(at, to))
	return b.String()
}

// edits are the file's outermost sites, rendered.
func (r *shadowRewriter) edits() []layout.Edit {
	var out []layout.Edit
	end := token.NoPos
	for _, s := range r.sites {
		if s.node.Pos() < end {
			continue // inside the previous one, which renders it
		}
		out = append(out, layout.Edit{Start: r.tf.Offset(s.node.Pos()), End: r.tf.Offset(s.node.End()), Text: s.render()})
		end = s.node.End()
	}
	return out
}

func derefType(t types.Type) types.Type {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

//go:embed shadow/shadow.go
var shadowSource string

var carriedImport = regexp.MustCompile(`\b(sync|weak|runtime|unsafe)\.`)

// shadowFile is the package's generated file of struct fields: the
// storage's code (shadow/shadow.go) and, per new field, its table and
// accessors; per removed field, the alias of its type (fieldkeep.go). The table's symbol is named after the struct, the field and
// its type: a later patch that keeps the field shares its table.
func (d *pkgDiff) shadowFile() []byte {
	if len(d.shadows) == 0 && len(d.kept) == 0 {
		return nil
	}
	_, body, _ := strings.Cut(shadowSource, "// ---- carried into patches ----\n")
	if len(d.shadows) == 0 {
		body = ""
	}
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, "//go:linkname") {
			l = carriedImport.ReplaceAllString(l, "hotfix$1.")
		}
		lines = append(lines, l)
	}
	imports := map[string]string{}
	qual := func(p *types.Package) string {
		if p.Path() == d.path {
			return "" // the fix's or the release's: kept fields have the release's types
		}
		if imports[p.Path()] == "" {
			imports[p.Path()] = fmt.Sprintf("hotfiximport%d", len(imports))
		}
		return imports[p.Path()]
	}
	var decls strings.Builder
	for _, sf := range d.shadows {
		s, t, n := sf.named.Obj().Name(), types.TypeString(sf.field.Type(), qual), sf.name()
		sum := sha256.Sum256([]byte(s + "." + sf.field.Name() + " " + types.TypeString(sf.field.Type(), qualifyPath)))
		def := "nil"
		if sf.def != "" {
			def = "func(v *" + t + ") { *v = " + sf.def + " }"
		}
		fmt.Fprintf(&decls, `
// The new field %[2]s of %[1]s.
//
//go:linkname hotfixShadow_%[3]s %[6]s.hotfixShadow_%[3]s_%[7]x
var hotfixShadow_%[3]s hotfixsync.Map

func hotfixField_%[3]s(p *%[1]s) *%[4]s {
	return hotfixShadowGet[%[1]s, %[4]s](&hotfixShadow_%[3]s, hotfixShadowNoEscape(p), %[5]s)
}

func hotfixFieldEscaping_%[3]s(p *%[1]s) *%[4]s {
	return hotfixShadowGet[%[1]s, %[4]s](&hotfixShadow_%[3]s, p, %[5]s)
}

func hotfixWith_%[3]s(p *%[1]s, v %[4]s) *%[1]s {
	*hotfixFieldEscaping_%[3]s(p) = v
	return p
}
`, s, sf.field.Name(), n, t, def, d.path, sum[:4])
	}
	var b strings.Builder
	b.WriteString("// Code generated by hotfix build. DO NOT EDIT.\n\n")
	if len(d.shadows) > 0 {
		// The storage is generic and uses package weak: the file needs a
		// newer language version than an old go.mod may give the package.
		b.WriteString("//go:build go1.24\n\n")
	}
	fmt.Fprintf(&b, "package %s\n\nimport (\n", d.f.pkg.Name)
	for name, path := range d.defaultImports() {
		fmt.Fprintf(&b, "\t%s %q\n", name, path)
	}
	for _, p := range []string{"runtime", "sync", "unsafe", "weak"} {
		if len(d.shadows) > 0 {
			fmt.Fprintf(&b, "\thotfix%s %q\n", p, p)
		}
	}
	aliases := d.keptAliases(qual) // before the imports are written: it adds to them
	for _, p := range slices.Sorted(maps.Keys(imports)) {
		fmt.Fprintf(&b, "\t%s %q\n", imports[p], p)
	}
	b.WriteString(")\n")
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString(decls.String())
	b.WriteString(aliases)
	return []byte(b.String())
}

// defaultImports are the imports the fields' defaults name, as their files
// import them: a default is evaluated in the generated file.
func (d *pkgDiff) defaultImports() map[string]string {
	out := map[string]string{}
	for _, sf := range d.shadows {
		e, err := parser.ParseExpr(sf.def)
		if sf.def == "" || err != nil {
			continue
		}
		names := map[string]string{}
		for _, spec := range sf.defFile.Imports {
			if pn := d.f.info().PkgNameOf(spec); pn != nil {
				names[pn.Name()] = pn.Imported().Path()
			}
		}
		ast.Inspect(e, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] != "" {
					out[id.Name] = names[id.Name]
				}
			}
			return true
		})
	}
	return out
}
