package patchbuild

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/gohotfix/hotfix/loader"
)

// shapeTargets adds, for each changed generic function, a target per
// shape function of the release binary (and per closure of one), with
// the copy's instantiation for the same shape as its new code.
func (p *Plan) shapeTargets(bin *loader.Binary) {
	funcs := bin.Funcs()
	for _, g := range p.generics {
		prefix, suffix := g.symParts()
		for _, fn := range funcs {
			args, rest, ok := splitShapeSym(fn, prefix, suffix)
			if !ok {
				continue
			}
			reason := "generic body changed, shape [" + strings.Join(args, ",") + "]"
			if rest != "" {
				if !g.closures[strings.TrimPrefix(rest, ".")] {
					continue
				}
				reason = "closure of " + shortSym(g.sym) + " [" + strings.Join(args, ",") + "]"
			} else {
				g.shapes = append(g.shapes, args)
			}
			p.Targets = append(p.Targets, &Target{Name: fn, Pos: g.pos, Reason: reason, Signature: g.sig, pkg: g.pkg,
				changed: true, generic: g, plugin: g.copySym(args) + rest, ifaceCalls: []string{anyMethod}})
		}
		p.inlinedShapes(bin, g, prefix, suffix)
		dictName := g.name
		if g.recv != "" {
			dictName = g.recv
		}
		g.dicts = bin.Objects(g.pkg + "..dict." + dictName + "[")
		p.checkShapes(g)
	}
}

// inlinedShapes adds, as targets, the shape instantiations of g that the
// release holds only inlined (into a package built without -l): no jump
// reaches them, and Plan.check refuses each, naming where it was inlined.
func (p *Plan) inlinedShapes(bin *loader.Binary, g *genericFunc, prefix, suffix string) {
	names, err := bin.InlinedWithPrefix(prefix)
	if err != nil {
		return // Plan.check reads the inline trees again and says why
	}
	for _, fn := range names {
		args, rest, ok := splitShapeSym(fn, prefix, suffix)
		if _, out := bin.Func(fn); !ok || rest != "" || out {
			continue
		}
		p.Targets = append(p.Targets, &Target{Name: fn, Pos: g.pos, Reason: "generic body changed, shape [" + strings.Join(args, ",") + "], inlined only",
			Signature: g.sig, pkg: g.pkg, changed: true, generic: g, plugin: g.copySym(args)})
	}
}

// copySym is the copy's symbol for type arguments args, relative to the
// plugin path.
func (g *genericFunc) copySym(args []string) string { return g.copyInst(args, ",") }

// copyExpr is the Go expression of the copy instantiated with args.
func (g *genericFunc) copyExpr(args []string) string { return g.copyInst(args, ", ") }

// copyInst writes the copy instantiated with args, joined by sep: the
// linker writes type arguments with ",", Go source with ", ".
func (g *genericFunc) copyInst(args []string, sep string) string {
	a := strings.Join(args, sep)
	switch {
	case g.recv != "" && g.ptr:
		return "(*" + g.recvType() + "[" + a + "])." + g.name
	case g.recv != "":
		return g.recvType() + "[" + a + "]." + g.name
	}
	return g.copyName + "[" + a + "]"
}

// dictBase is the name the copy's dictionaries are under: a generic
// method uses its type's.
func (g *genericFunc) dictBase() string {
	if g.recv != "" {
		return g.recvType()
	}
	return g.copyName
}

// symParts returns what comes before and after the type arguments in the
// symbol of g's shape functions.
func (g *genericFunc) symParts() (string, string) {
	switch {
	case g.recv != "" && g.ptr:
		return g.pkg + ".(*" + g.recv + "[", ")." + g.name
	case g.recv != "":
		return g.pkg + "." + g.recv + "[", "." + g.name
	}
	return g.pkg + "." + g.name + "[", ""
}

// splitShapeSym matches a shape function (or a closure of one) of the
// generic function whose symbols are prefix + type arguments + "]" +
// suffix: every argument must be a shape ("go.shape.int"). rest is the
// closure's part of the symbol.
func splitShapeSym(sym, prefix, suffix string) (args []string, rest string, ok bool) {
	s, ok := strings.CutPrefix(sym, prefix)
	if !ok {
		return nil, "", false
	}
	args, after, ok := splitShapeSymRaw(s)
	if !ok {
		return nil, "", false
	}
	rest, ok = strings.CutPrefix(after, suffix)
	if !ok || (rest != "" && rest[0] != '.') {
		return nil, "", false
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "go.shape.") {
			return nil, "", false
		}
	}
	return args, rest, true
}

// checkShapes refuses a shape the patch cannot instantiate the copy for,
// and chooses the types the dictionaries are compared with.
func (p *Plan) checkShapes(g *genericFunc) {
	refuse := func(detail string) {
		p.Refusals = append(p.Refusals, Finding{Pos: g.pos, Object: g.sym, Rule: "generic function changed", Detail: detail})
	}
	if len(g.shapes) == 0 {
		p.Notes = append(p.Notes, Finding{Pos: g.pos, Object: g.sym, Rule: "not in the release binary", Detail: "no instantiation of it in the release: nothing to redirect"})
		return
	}
	for _, args := range g.shapes {
		targs, err := shapeTypes(args)
		if err == nil {
			_, err = types.Instantiate(nil, g.orig, targs, true)
		}
		if err != nil {
			refuse(fmt.Sprintf("shape [%s]: the patch cannot instantiate the new body for it: %v", strings.Join(args, ","), err))
			return
		}
	}
	// The dictionary is compared through named types of the patch's own,
	// which no type of the body can be but the type parameters.
	first, _ := shapeTypes(g.shapes[0])
	var named []types.Type
	for i, t := range first {
		named = append(named, types.NewNamed(types.NewTypeName(token.NoPos, nil, g.freshName(i), nil), t, nil))
		g.fresh = append(g.fresh, strings.TrimPrefix(g.shapes[0][i], "go.shape."))
	}
	if _, err := types.Instantiate(nil, g.orig, named, true); err != nil {
		g.fresh = nil
		refuse("its dictionary cannot be checked: a named type of underlying type [" + strings.Join(g.shapes[0], ",") + "] does not satisfy its constraints (" + err.Error() + ")")
	}
}

func (g *genericFunc) freshName(i int) string { return fmt.Sprintf("%sT%d", g.copyName, i) }

// shapeTypes returns the types of shape arguments that can be written in
// Go with predeclared names only ("go.shape.int", "go.shape.*uint8",
// "go.shape.[]string").
func shapeTypes(args []string) ([]types.Type, error) {
	var out []types.Type
	for _, a := range args {
		src := strings.TrimPrefix(a, "go.shape.")
		e, err := parser.ParseExpr(src)
		if err != nil || !predeclaredOnly(e) {
			return nil, fmt.Errorf("%s names types of other packages", a)
		}
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, src)
		if err != nil || !tv.IsType() {
			return nil, fmt.Errorf("%s is not a type: %v", a, err)
		}
		out = append(out, tv.Type)
	}
	return out, nil
}

func predeclaredOnly(e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr, *ast.StructType, *ast.InterfaceType, *ast.FuncType:
			ok = false
		case *ast.Ident:
			if _, isType := types.Universe.Lookup(n.Name).(*types.TypeName); !isType {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// genericFiles returns the generated files of the copies, by file name,
// and the expressions that keep them in the plugin.
func (p *Plan) genericFiles() (map[string][]byte, []string) {
	files := map[string][]byte{}
	var keep []string
	for i, g := range p.generics {
		if len(g.shapes) == 0 || g.fresh == nil {
			continue
		}
		var b strings.Builder
		b.WriteString("// Code generated by hotfix build. DO NOT EDIT.\n\npackage main\n\n")
		b.WriteString(g.decls)
		var inst []string
		for _, args := range g.shapes {
			var ts []string
			for _, a := range args {
				ts = append(ts, strings.TrimPrefix(a, "go.shape."))
			}
			inst = append(inst, g.copyExpr(ts))
		}
		var fresh []string
		for j, u := range g.fresh {
			fmt.Fprintf(&b, "\n// %s stands for %s's type parameter %s when its dictionary is compared with the release's.\ntype %s %s\n", g.freshName(j), g.copyName, g.tparams[j], g.freshName(j), u)
			fresh = append(fresh, g.freshName(j))
		}
		inst = append(inst, g.copyExpr(fresh))
		keepVar := fmt.Sprintf("hotfixKeep%d", i)
		fmt.Fprintf(&b, "\n// %s instantiates %s for every shape of the release.\nvar %s = []any{%s}\n", keepVar, g.copyName, keepVar, strings.Join(inst, ", "))
		files[fmt.Sprintf("zz_hotfix_g%d.go", i)] = []byte(b.String())
		keep = append(keep, keepVar)
	}
	return files, keep
}

// checkDicts compares, word by word, the dictionary the copy of each
// changed generic function was compiled for with each dictionary of the
// release: the redirected code runs with the release's (its callers pass
// it), so at every index the new code uses the words must agree. The new
// dictionary is the copy's for named types of the patch's own (genericFiles);
// in the release's, the type arguments are put in their place.
func (p *Plan) checkDicts(w io.Writer, release, plugin, pluginPath string) error {
	var syms []string
	for _, g := range p.generics {
		syms = append(syms, g.dicts...)
	}
	rel, err := loader.Dictionaries(release, syms)
	if err != nil {
		return err
	}
	var refusals []Finding
	for _, g := range p.generics {
		if len(g.shapes) == 0 || g.fresh == nil {
			continue
		}
		var fresh []string
		for i := range g.fresh {
			fresh = append(fresh, pluginPath+"."+g.freshName(i))
		}
		newSym := pluginPath + "..dict." + g.dictBase() + "[" + strings.Join(fresh, ",") + "]"
		nd, err := loader.Dictionaries(plugin, []string{newSym})
		if err != nil {
			return err
		}
		newWords, ok := nd[newSym]
		if !ok {
			// No dictionary: the new body uses none.
			fmt.Fprintf(w, "dictionary: %s: the new body needs none\n", shortSym(g.sym))
			continue
		}
		for i, word := range newWords {
			newWords[i] = g.unfresh(word, pluginPath)
		}
		for _, d := range g.dicts {
			if f, bad := compareDict(g, d, rel[d], newWords); bad {
				refusals = append(refusals, f)
			}
		}
		if len(refusals) == 0 {
			fmt.Fprintf(w, "dictionary: %s: the new body's %d word(s) [%s] agree with the release's %d dictionar(ies)\n", shortSym(g.sym), len(newWords), strings.Join(newWords, "; "), len(g.dicts))
		}
	}
	if len(refusals) == 0 {
		return nil
	}
	var lines []string
	for _, f := range refusals {
		lines = append(lines, "  "+f.String())
	}
	return fmt.Errorf("%w: the new code would read the release's generic dictionaries, which do not hold what it needs:\n%s", ErrRefused, strings.Join(lines, "\n"))
}

// compareDict compares one release dictionary with the new body's words.
func compareDict(g *genericFunc, sym string, relWords, newWords []string) (Finding, bool) {
	args := dictArgs(sym)
	for i, nw := range newWords {
		if nw == "nil" {
			continue // nothing the new code reads
		}
		rw := "nothing (the release's dictionary has " + fmt.Sprint(len(relWords)) + " words)"
		if i < len(relWords) {
			rw = g.generalize(relWords[i], args)
		}
		if rw != nw {
			return Finding{Pos: g.pos, Object: g.sym, Rule: "dictionary changed",
				Detail: fmt.Sprintf("word %d of %s: the release's code passes %s, the new body needs %s", i, sym, rw, nw)}, true
		}
	}
	return Finding{}, false
}

// dictArgs returns the type arguments of a dictionary symbol.
func dictArgs(sym string) []string {
	i := strings.Index(sym, "..dict.")
	if i < 0 {
		return nil
	}
	s := sym[i:]
	j := strings.IndexByte(s, '[')
	if j < 0 || !strings.HasSuffix(s, "]") {
		return nil
	}
	args, _, ok := splitShapeSymRaw(s[j+1:])
	if !ok {
		return nil
	}
	return args
}

// splitShapeSymRaw splits "A,B]" at its top-level commas.
func splitShapeSymRaw(s string) ([]string, string, bool) {
	var args []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '(', '{':
			depth++
		case ')', '}':
			depth--
		case ']':
			if depth == 0 {
				return append(args, s[start:i]), s[i+1:], true
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
	}
	return nil, "", false
}

// unfresh writes the patch's named types in a word of the new dictionary
// as the type parameters they stand for.
func (g *genericFunc) unfresh(word, pluginPath string) string {
	for i := range g.fresh {
		for _, q := range []string{pluginPath + "." + g.freshName(i), "main." + g.freshName(i)} {
			word = replaceName(word, q, g.tparams[i])
		}
	}
	if g.recv != "" {
		// The receiver's stand-in is the release's receiver type: the
		// copy only converts it (copyDecl).
		word = replaceName(word, pluginPath+"."+g.recvType(), g.pkg+"."+g.recv)
		word = replaceName(word, "main."+g.recvType(), path.Base(g.pkg)+"."+g.recv)
	}
	return word
}

// generalize writes a release dictionary's type arguments in one of its
// words as the type parameters: by symbol ("example.com/q.ID") and by
// the name reflect prints ("q.ID").
func (g *genericFunc) generalize(word string, args []string) string {
	if len(args) != len(g.tparams) {
		return word
	}
	for i, a := range args {
		word = replaceName(word, a, g.tparams[i])
		if short := shortTypeName(a); short != a {
			word = replaceName(word, short, g.tparams[i])
		}
	}
	return word
}

// shortTypeName drops import paths but their last element:
// "[]example.com/q.ID" -> "[]q.ID".
var pathElems = regexp.MustCompile(`[\w.~-]+(/[\w.~-]+)*/`)

func shortTypeName(s string) string { return pathElems.ReplaceAllString(s, "") }

// replaceName replaces old in s where it is a whole name: not part of a
// longer identifier or qualified name.
func replaceName(s, old, new string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		before := i == 0 || !isNameByte(s[i-1])
		after := end == len(s) || !isNameByte(s[end])
		b.WriteString(s[:i])
		if before && after {
			b.WriteString(new)
		} else {
			b.WriteString(old)
		}
		s = s[end:]
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
