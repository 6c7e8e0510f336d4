package patchbuild

import (
	"go/constant"
	"go/types"
	"strconv"
	"strings"
)

// A constant is folded into the code that uses it: a new unexported one
// neither enters the package's export data nor adds a symbol
// (TestFingerprintFacts). The patch declares it, with its value, after
// every declaration of the release's last file of the package, where it
// moves nothing.

// addConst takes a constant the fix adds, or refuses it.
func (d *pkgDiff) addConst(c *types.Const) {
	pos, name := d.f.pos(c.Pos()), c.Name()
	decl, why := constDecl(c, d.f.pkg.Types)
	if why != "" {
		// Not written into the release's file: the package is rebuilt
		// from the fix's files, which declare it as the fix does.
		d.carry(pos, d.obj(name), "constant added", "const "+name+": not declared into the release's file ("+why+")")
		return
	}
	if d.main {
		d.carry(pos, d.obj(name), "constant added", "const "+name)
		return
	}
	d.addedConsts = append(d.addedConsts, decl)
	d.note(pos, d.obj(name), "constant added", "unexported: declared with its value at the end of the package")
}

// constDecl writes a declaration of c with its value, or says why it
// cannot: the value must be written exactly, and its type named without
// an import.
func constDecl(c *types.Const, pkg *types.Package) (string, string) {
	v := c.Val()
	var lit string
	switch v.Kind() {
	case constant.Bool, constant.Int:
		lit = v.ExactString()
	case constant.String:
		lit = strconv.Quote(constant.StringVal(v))
	case constant.Float:
		if f, exact := constant.Float64Val(v); exact {
			lit = strconv.FormatFloat(f, 'g', -1, 64) // exact: it reads back as the same float64
			if !strings.ContainsAny(lit, ".eIN") {
				lit += ".0" // "2" would make an untyped float constant an integer one
			}
		}
	}
	if lit == "" {
		return "", "its value " + v.String() + " cannot be written exactly"
	}
	typ := ""
	switch t := c.Type().(type) {
	case *types.Basic:
		if t.Info()&types.IsUntyped == 0 {
			typ = t.Name() + " "
		}
	case *types.Named:
		if t.Obj().Pkg() != pkg || t.TypeArgs() != nil {
			return "", "its type " + t.String() + " is not declared in its package"
		}
		typ = t.Obj().Name() + " "
	default:
		return "", "its type " + t.String() + " cannot be named"
	}
	if b, ok := c.Type().(*types.Basic); ok && b.Kind() == types.UntypedRune {
		r, _ := constant.Int64Val(v)
		lit = strconv.QuoteRune(rune(r)) // an untyped rune constant stays one
	}
	return "const " + c.Name() + " " + typ + "= " + lit, ""
}
