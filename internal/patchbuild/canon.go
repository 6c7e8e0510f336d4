package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
	"strings"
)

// canon writes a position-free, type-checked form of a syntax tree: two
// function bodies with the same form compile to the same code, whatever
// their comments, formatting and line numbers. Identifiers are written
// with what they resolve to, so the same text meaning something else (a
// local that now shadows a package-level variable) is a difference, and
// constant expressions are written as their values, so 0x10 and 16 are
// not.
type canon struct {
	info *types.Info
	pkg  *types.Package
	// elide writes function literals as their type only: the form of a
	// function's own code, without the code of its closures.
	elide bool
	// spelled writes types as written: an embedded field's name is its
	// type's name as written, which an alias changes.
	spelled bool
	b       strings.Builder
}

var (
	posType     = reflect.TypeFor[token.Pos]()
	commentType = reflect.TypeFor[*ast.CommentGroup]()
	objectType  = reflect.TypeFor[*ast.Object]()
	scopeType   = reflect.TypeFor[*ast.Scope]()
	exprType    = reflect.TypeFor[ast.Expr]()
)

// form returns the canonical form of n.
func form(n ast.Node, info *types.Info, pkg *types.Package, elide bool) string {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return "nil"
	}
	c := &canon{info: info, pkg: pkg, elide: elide}
	c.walk(reflect.ValueOf(n))
	return c.b.String()
}

func (c *canon) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			c.b.WriteString("nil")
			return
		}
		switch v.Type() {
		case commentType, objectType, scopeType:
			return
		}
		if v.Type().Implements(exprType) && c.expr(v.Interface().(ast.Expr)) {
			return
		}
		c.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			c.b.WriteString("nil")
			return
		}
		c.walk(v.Elem())
	case reflect.Struct:
		t := v.Type()
		c.b.WriteString(t.Name() + "{")
		for i := 0; i < t.NumField(); i++ {
			ft := t.Field(i).Type
			if ft == posType || ft == commentType || ft == objectType || ft == scopeType {
				continue
			}
			c.walk(v.Field(i))
			c.b.WriteByte(',')
		}
		c.b.WriteString("}")
	case reflect.Slice:
		c.b.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			c.walk(v.Index(i))
			c.b.WriteByte(',')
		}
		c.b.WriteString("]")
	case reflect.String:
		c.b.WriteString(strconv.Quote(v.String()))
	case reflect.Bool:
		c.b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		c.b.WriteString(strconv.FormatUint(v.Uint(), 10))
	default:
		fmt.Fprintf(&c.b, "?%s", v.Kind())
	}
}

// expr writes the expressions whose form is not their syntax tree's, and
// reports whether e was one.
func (c *canon) expr(e ast.Expr) bool {
	if tv, ok := c.info.Types[e]; ok && tv.Value != nil {
		// A constant: its value and type are all the code sees,
		// so a changed constant changes the code of its users.
		fmt.Fprintf(&c.b, "K(%s=%s)", types.TypeString(tv.Type, qualifyPath), tv.Value.ExactString())
		return true
	}
	if tv, ok := c.info.Types[e]; ok && tv.IsType() && !c.spelled && spelledApart(tv.Type) {
		// A type: what it is, not how it is spelled, so any and
		// interface{} (a modernized fix) are the same code.
		fmt.Fprintf(&c.b, "T(%s)", typeKey(tv.Type))
		return true
	}
	if st, ok := e.(*ast.StructType); ok && st.Fields != nil {
		c.structType(st)
		return true
	}
	if id, ok := e.(*ast.Ident); ok {
		c.ident(id)
		return true
	}
	if lit, ok := e.(*ast.FuncLit); ok && c.elide {
		c.b.WriteString("funclit(")
		c.walk(reflect.ValueOf(lit.Type))
		c.b.WriteString(")")
		return true
	}
	if lit, ok := e.(*ast.BasicLit); ok {
		c.b.WriteString(lit.Kind.String() + ":" + lit.Value)
		return true
	}
	return false
}

// structType writes a struct type's fields, an embedded one as spelled.
func (c *canon) structType(st *ast.StructType) {
	c.b.WriteString("struct{")
	for _, f := range st.Fields.List {
		saved := c.spelled
		c.spelled = c.spelled || len(f.Names) == 0
		c.walk(reflect.ValueOf(f))
		c.spelled = saved
		c.b.WriteString(";")
	}
	c.b.WriteString("}")
}

func (c *canon) ident(id *ast.Ident) {
	obj := c.info.Uses[id]
	if obj == nil {
		obj = c.info.Defs[id]
	}
	switch {
	case obj == nil:
		c.b.WriteString("id:" + id.Name)
	case obj.Pkg() == nil:
		c.b.WriteString("u:" + id.Name) // universe
	default:
		if pn, ok := obj.(*types.PkgName); ok {
			c.b.WriteString("pkg:" + pn.Imported().Path())
			return
		}
		if obj.Parent() == obj.Pkg().Scope() {
			c.b.WriteString("g:" + obj.Pkg().Path() + "." + id.Name)
			return
		}
		c.b.WriteString("l:" + id.Name) // local, field, method or label
	}
}

// unaliased returns t with the aliases in it replaced by the types they
// stand for, and the empty interface written as interface{} (TypeString
// writes the universe's as "any"), so that types that are the same write
// alike. What it does not rebuild (a named type's arguments, an interface
// with methods, a generic signature) keeps its aliases: that can only
// make two forms of the same code differ. Only types spelledApart are
// written so: for them, different types write differently.
func unaliased(t types.Type) types.Type {
	switch t := types.Unalias(t).(type) {
	case *types.Pointer:
		return types.NewPointer(unaliased(t.Elem()))
	case *types.Slice:
		return types.NewSlice(unaliased(t.Elem()))
	case *types.Array:
		return types.NewArray(unaliased(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(unaliased(t.Key()), unaliased(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), unaliased(t.Elem()))
	case *types.Signature:
		if t.Recv() != nil || t.TypeParams().Len() > 0 {
			return t
		}
		return types.NewSignatureType(nil, nil, nil, unaliasedTuple(t.Params()), unaliasedTuple(t.Results()), t.Variadic())
	case *types.Struct:
		fields, tags := make([]*types.Var, t.NumFields()), make([]string, t.NumFields())
		for i := range fields {
			f := t.Field(i)
			fields[i], tags[i] = types.NewField(f.Pos(), f.Pkg(), f.Name(), unaliased(f.Type()), f.Embedded()), t.Tag(i)
		}
		return types.NewStruct(fields, tags)
	case *types.Interface:
		if t.NumEmbeddeds() > 0 {
			return t
		}
		ms := make([]*types.Func, t.NumExplicitMethods())
		for i := range ms {
			m := t.ExplicitMethod(i)
			sig := m.Signature()
			ms[i] = types.NewFunc(m.Pos(), m.Pkg(), m.Name(), types.NewSignatureType(nil, nil, nil, unaliasedTuple(sig.Params()), unaliasedTuple(sig.Results()), sig.Variadic()))
		}
		return types.NewInterfaceType(ms, nil).Complete()
	default:
		return t
	}
}

// spelledApart reports whether TypeString tells t apart from every type
// not identical to it. It does not for a struct with an unexported or
// embedded field, or an interface with an unexported method or an
// embedded one, anywhere in t: it writes no package for an unexported
// name (a.S = struct{ x int } and p's struct{ x int } are two types), and
// an embedded field's name is its type's, lost once an alias is resolved.
// Such a type is written as spelled.
func spelledApart(t types.Type) bool {
	switch t := types.Unalias(t).(type) {
	case *types.Pointer:
		return spelledApart(t.Elem())
	case *types.Slice:
		return spelledApart(t.Elem())
	case *types.Array:
		return spelledApart(t.Elem())
	case *types.Map:
		return spelledApart(t.Key()) && spelledApart(t.Elem())
	case *types.Chan:
		return spelledApart(t.Elem())
	case *types.Signature:
		return tupleSpelledApart(t.Params()) && tupleSpelledApart(t.Results())
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); f.Embedded() || !f.Exported() || !spelledApart(f.Type()) {
				return false
			}
		}
	case *types.Interface:
		if t.NumEmbeddeds() > 0 {
			return false
		}
		for i := range t.NumExplicitMethods() {
			if m := t.ExplicitMethod(i); !m.Exported() || !spelledApart(m.Type()) {
				return false
			}
		}
	case *types.Named:
		for i := range t.TypeArgs().Len() {
			if !spelledApart(t.TypeArgs().At(i)) {
				return false
			}
		}
	}
	return true
}

func tupleSpelledApart(t *types.Tuple) bool {
	for i := range t.Len() {
		if !spelledApart(t.At(i).Type()) {
			return false
		}
	}
	return true
}

func unaliasedTuple(t *types.Tuple) *types.Tuple {
	vs := make([]*types.Var, t.Len())
	for i := range vs {
		v := t.At(i)
		vs[i] = types.NewParam(v.Pos(), v.Pkg(), v.Name(), unaliased(v.Type()))
	}
	return types.NewTuple(vs...)
}

// typeKey writes t as what it is, for comparing the release's types with
// the fix's: any and interface{} alike, aliases resolved, where its
// string tells it apart from every other type (spelledApart); as spelled
// otherwise.
func typeKey(t types.Type) string {
	if spelledApart(t) {
		return types.TypeString(unaliased(t), qualifyPath)
	}
	return types.TypeString(t, qualifyPath)
}

// qualifyPath writes types with full import paths: the form compared
// between the release and the fix.
func qualifyPath(p *types.Package) string { return p.Path() }

// qualifyName writes types the way people read them.
func qualifyName(p *types.Package) string { return p.Name() }

// A closure is a function literal the compiler compiles as its own
// function, named after the function that contains it.
type closure struct {
	name     string // suffix of its symbol: "func1", "func1.1"
	lit      *ast.FuncLit
	captures []capture
}

// A capture is a variable of an enclosing function that a closure uses:
// one field of the closure's context, laid out by the code that creates
// the closure and read by the closure's code.
type capture struct {
	name, typ string
	byRef     bool
}

func (c capture) String() string {
	if c.byRef {
		return c.name + " " + c.typ + " (by reference)"
	}
	return c.name + " " + c.typ
}

// closures lists the function literals of fd in the order the compiler
// numbers them (cmd/compile/internal/ir/func.go, closureName): literals
// directly in a function are funcN in source order, literals inside a
// closure are numbered after it (func1.1), and range-over-func bodies
// are transparent. It also works out, for each, what its context holds.
func closures(fd *ast.FuncDecl, info *types.Info, sizes types.Sizes) []closure {
	if fd.Body == nil {
		return nil
	}
	mut := mutations(fd, info)
	var out []closure
	var walk func(n ast.Node, outer string, gen *int)
	walk = func(n ast.Node, outer string, gen *int) {
		ast.Inspect(n, func(m ast.Node) bool {
			lit, ok := m.(*ast.FuncLit)
			if !ok {
				return true
			}
			*gen++
			name := fmt.Sprintf("func%d", *gen)
			if outer != "" {
				name = fmt.Sprintf("%s.%d", outer, *gen)
			}
			out = append(out, closure{name: name, lit: lit, captures: captures(lit, info, sizes, mut)})
			inner := 0
			walk(lit.Body, name, &inner)
			return false
		})
	}
	gen := 0
	walk(fd.Body, "", &gen)
	return out
}

// captures lists the variables lit uses from enclosing functions, in order
// of first use: the order in which the compiler lays out the closure's
// context (cmd/compile/internal/noder/writer.go, funcLit and useLocal).
// A variable is captured by value when it is never reassigned, its address
// is never taken and it is at most 128 bytes, else by reference
// (cmd/compile/internal/escape, flowClosure).
func captures(lit *ast.FuncLit, info *types.Info, sizes types.Sizes, mut map[*types.Var]bool) []capture {
	var out []capture
	seen := map[*types.Var]bool{}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		v, ok := info.Uses[id].(*types.Var)
		if !ok || v.IsField() || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() || seen[v] {
			return true
		}
		if v.Pos() >= lit.Pos() && v.Pos() < lit.End() {
			return true // its own
		}
		seen[v] = true
		byRef := mut[v] || sizes.Sizeof(v.Type()) > 128
		out = append(out, capture{name: v.Name(), typ: types.TypeString(v.Type(), qualifyPath), byRef: byRef})
		return true
	})
	return out
}

// mutations returns the local variables of fd that are assigned after
// their declaration or whose address is taken, explicitly or by a method
// call or slice expression: what makes the compiler capture them by
// reference (cmd/compile/internal/ir.Reassigned and escape analysis). It
// errs on the side of "mutated"; the release and the fix are judged alike.
func mutations(fd *ast.FuncDecl, info *types.Info) map[*types.Var]bool {
	mut := map[*types.Var]bool{}
	mark := func(e ast.Expr) {
		if v := rootVar(e, info); v != nil {
			mut[v] = true
		}
	}
	ast.Inspect(fd, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := ast.Unparen(l).(*ast.Ident); ok && n.Tok == token.DEFINE && info.Defs[id] != nil {
					continue // declared here
				}
				mark(l)
			}
		case *ast.IncDecStmt:
			mark(n.X)
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				if n.Key != nil {
					mark(n.Key)
				}
				if n.Value != nil {
					mark(n.Value)
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				mark(n.X)
			}
		case *ast.SelectorExpr:
			sel := info.Selections[n]
			if sel == nil || sel.Kind() == types.FieldVal {
				break
			}
			if sig, ok := sel.Obj().Type().(*types.Signature); ok && sig.Recv() != nil {
				if _, ptr := sig.Recv().Type().Underlying().(*types.Pointer); ptr && !isPointer(info.TypeOf(n.X)) {
					mark(n.X) // implicit &x
				}
			}
		case *ast.SliceExpr:
			if t := info.TypeOf(n.X); t != nil {
				if _, arr := t.Underlying().(*types.Array); arr {
					mark(n.X)
				}
			}
		}
		return true
	})
	return mut
}

func isPointer(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Pointer)
	return ok
}

// rootVar returns the variable whose storage e is part of: x for x, x.f,
// x[i] of an array, (x); nil when e reaches through a pointer, slice or
// map, or is not a variable.
func rootVar(e ast.Expr, info *types.Info) *types.Var {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		v, _ := info.Uses[e].(*types.Var)
		if v == nil {
			v, _ = info.Defs[e].(*types.Var)
		}
		return v
	case *ast.SelectorExpr:
		sel := info.Selections[e]
		if sel == nil || sel.Kind() != types.FieldVal || sel.Indirect() || isPointer(info.TypeOf(e.X)) {
			return nil
		}
		return rootVar(e.X, info)
	case *ast.IndexExpr:
		if t := info.TypeOf(e.X); t != nil {
			if _, arr := t.Underlying().(*types.Array); arr {
				return rootVar(e.X, info)
			}
		}
	}
	return nil
}
