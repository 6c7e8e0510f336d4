package patchbuild

import (
	"fmt"
	"go/ast"
	"go/types"
	"maps"
	"slices"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// A replaced function whose parameter escapes more than in the release
// breaks its release callers: they were compiled for the old escape
// analysis and may keep the argument on their stack. kpatch replaces the
// callers of a changed function whose calling convention changed; so does
// this: every static caller of such a function is replaced too, compiled
// in the patch for the new escape analysis (the plugin compiles the whole
// package). Its own parameters may escape more then, and so its callers
// are replaced in turn, until nothing that runs new code is called by
// code compiled for the old. A caller in another package, or in a
// function literal, is not replaced: refused, named.

// callGraph is what escapeCallers needs of a package: the static callers
// of each function, the targets a caller would become, and the positions
// of every function's parameters on both sides.
type callGraph struct {
	callers  map[string][]caller   // callee symbol -> its static callers
	targets  map[string]*Target    // symbol -> the target it would become
	newFuncs map[string]bool       // the fix's functions the release lacks: only new code calls them
	exported map[string]bool       // symbols other packages may call
	keys     map[string]string     // symbol -> key (funcKey), of the functions with a body
	types    map[string]types.Type // "symbol #index" -> the fix's type of the parameter
	imported bool                  // other packages of the release import it
	// release, patch: "file:line:col name" -> "symbol #index" of the
	// parameters of every function of the package.
	release, patch map[string]string
	names          map[string]string
	// inlinedAt says where the release's compiler inlined a function
	// ("inlined into p.R at p/x.go:12"), "" for nowhere, and whether the
	// release has it out of line too; nil: nowhere, and it has.
	inlinedAt func(sym string) (site string, outOfLine bool)
}

type caller struct {
	sym, pos string
	closure  bool // the call is in a function literal of sym
}

// graph indexes the package for escapeCallers: the calls are the fix's,
// which the plugin compiles (in a spliced package, unchanged functions are
// the release's own text, with the same calls). patch is the side whose
// declarations the plugin compiles: the fix's files (rebuilt), or the
// release's with bodies spliced in, at the release's positions.
func (d *pkgDiff) graph(patch *side) *callGraph {
	g := &callGraph{callers: map[string][]caller{}, targets: map[string]*Target{}, exported: map[string]bool{}, newFuncs: map[string]bool{},
		imported: len(d.importers()) > 0, release: map[string]string{}, patch: map[string]string{}, names: map[string]string{}, keys: map[string]string{}, types: map[string]types.Type{}}
	for k, ff := range d.f.funcs {
		bf := d.b.funcs[k]
		if bf == nil {
			g.newFuncs[d.sym(k)] = true
			if ff.decl.Body != nil {
				d.calls(ff, d.sym(k), g)
			}
			continue
		}
		sym := d.sym(k)
		params(d.b, bf, sym, g.release, nil)
		if patch == d.f {
			params(d.f, ff, sym, g.patch, g.names)
		} else {
			params(d.b, bf, sym, g.patch, g.names)
		}
		if ff.decl.Body == nil || ff.decl.Type.TypeParams != nil || ff.obj == nil || ff.obj.Type().(*types.Signature).RecvTypeParams().Len() > 0 {
			continue // not a caller escapeCallers could replace
		}
		g.exported[sym], g.keys[sym] = ff.obj.Exported(), k
		g.paramTypes(sym, ff.obj.Type().(*types.Signature))
		g.targets[sym] = &Target{Name: sym, Pos: d.f.pos(ff.decl.Name.Pos()), Signature: types.TypeString(ff.obj.Type(), qualifyName), pkg: d.path}
		d.calls(ff, sym, g)
	}
	return g
}

// paramTypes records the types of sig's receiver and parameters, indexed
// as params indexes them.
func (g *callGraph) paramTypes(sym string, sig *types.Signature) {
	i := 0
	if sig.Recv() != nil {
		g.types[fmt.Sprintf("%s #%d", sym, i)] = sig.Recv().Type()
		i++
	}
	for v := range sig.Params().Variables() {
		g.types[fmt.Sprintf("%s #%d", sym, i)] = v.Type()
		i++
	}
}

// calls records the static calls of fd's body, by callee.
func (d *pkgDiff) calls(fd *funcDecl, sym string, g *callGraph) {
	inspectLits(fd.decl.Body, func(n ast.Node, inLit bool) {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return
		}
		fn, _ := typeutil.Callee(d.f.info(), call).(*types.Func)
		if fn == nil || fn.Pkg() != d.f.pkg.Types {
			return
		}
		if sig := fn.Type().(*types.Signature); sig.Recv() != nil && types.IsInterface(sig.Recv().Type()) {
			return // dynamic: its callers already assume the worst
		}
		callee := d.sym(keyOf(fn))
		g.callers[callee] = append(g.callers[callee], caller{sym: sym, pos: d.f.pos(call.Pos()), closure: inLit})
	})
}

// inspectLits walks n as ast.Inspect does, telling f whether each node is
// inside a function literal of n (a closure: its own symbol, created
// where the literal is).
func inspectLits(n ast.Node, f func(n ast.Node, inLit bool)) {
	lits := 0
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok {
			lits++
			ast.Inspect(lit.Body, walk)
			lits--
			return false
		}
		f(n, lits > 0)
		return true
	}
	ast.Inspect(n, walk)
}

// keyOf is funcKey for a function object.
func keyOf(fn *types.Func) string {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() == nil {
		return fn.Name()
	}
	t, ptr := sig.Recv().Type(), false
	if p, ok := t.(*types.Pointer); ok {
		t, ptr = p.Elem(), true
	}
	name := "?"
	if n, ok := types.Unalias(t).(*types.Named); ok {
		name = n.Obj().Name()
	}
	if ptr {
		return "(*" + name + ")." + fn.Name()
	}
	return name + "." + fn.Name()
}

// escapeCallers returns the functions to replace besides the targets so
// that no release code calls new code whose parameters escape more than
// it was compiled for, or the lines that say why that cannot be done.
// b and a are the diagnostics of the package's parameters in the release
// and in the patch, by "symbol #index" (byParam); replaced holds the
// symbols of the package's targets, and gets the callers added.
//
// A function other packages of the release may call is returned in
// outside, with why its callers there must be replaced (outsideEscapes).
func escapeCallers(pkg string, g *callGraph, b, a map[string]string, replaced map[string]bool) (added []*Target, refused []string, outside map[string]string) {
	outside = map[string]string{}
	more := map[string][]string{} // symbol -> its parameters that escape more
	b, a = maps.Clone(b), maps.Clone(a)
	for _, k := range unionKeys(b, a) {
		b[k], a[k] = withoutHarmlessWrites(b[k], g.types[k]), withoutHarmlessWrites(a[k], g.types[k])
		if !escapesNoMore(b[k], a[k]) {
			sym, _, _ := strings.Cut(k, " ")
			more[sym] = append(more[sym], k)
		}
	}
	queue := slices.Sorted(func(yield func(string) bool) {
		for s := range replaced {
			if !yield(s) {
				return
			}
		}
	})
	// held: replaced callers the release's compiler inlined, by why their
	// own callers, which hold copies of their calls, are replaced too.
	held := map[string]string{}
	for len(queue) > 0 {
		y := queue[0]
		queue = queue[1:]
		why := held[y]
		if len(more[y]) > 0 {
			why = escapeLine(pkg, y, g.names[more[y][0]], b[more[y][0]], a[more[y][0]])
		}
		if why == "" {
			continue
		}
		if g.exported[y] && g.imported {
			outside[y] = why
		}
		for _, c := range g.callers[y] {
			switch {
			case g.newFuncs[c.sym] || c.sym == y:
				// New code, compiled for it; or y itself, replaced.
			case c.closure:
				refused = append(refused, why+"; its caller at "+c.pos+" is a function literal, which is not replaced")
			case !replaced[c.sym] && g.targets[c.sym] == nil:
				refused = append(refused, why+"; its caller "+c.sym+" cannot be replaced")
			case !replaced[c.sym]:
				replaced[c.sym] = true
				t := g.targets[c.sym]
				t.Reason = "calls " + shortSym(y) + ", which escapes more now, or holds its inlined calls: compiled for it"
				if len(more[y]) > 0 {
					t.Reason = fmt.Sprintf("calls %s, whose parameter %s escapes now: compiled for it", shortSym(y), g.names[more[y][0]])
				}
				site, outOfLine := g.inlined(c.sym)
				if outOfLine {
					added = append(added, t) // else only its holders run it
				}
				queue = append(queue, c.sym)
				if site != "" {
					// Its inlined copies call y as the release compiled
					// them, with arguments perhaps on their holders' stacks.
					held[c.sym] = fmt.Sprintf("  %s: %s is replaced for its calls of %s, and the release's compiler inlined it (%s): the functions holding its copies make those calls as compiled for the old escape analysis, and must be replaced too", pkg, c.sym, shortSym(y), site)
				}
			}
		}
	}
	return added, refused, outside
}

func (g *callGraph) inlined(sym string) (string, bool) {
	if g.inlinedAt == nil {
		return "", true
	}
	return g.inlinedAt(sym)
}

// outsideEscapes returns the functions of other packages that call y, a
// function whose parameter escapes more now (why), each to be replaced:
// compiled in the plugin from the release's source against the new
// export data, as for a changed exported signature (xpkgcallers.go). Or
// why they cannot all be.
func outsideEscapes(opt Options, ps *paramSet, y, why string) ([]*Target, string) {
	refuse := func(s string) ([]*Target, string) {
		return nil, why + "; other packages of the release import " + ps.pkg + " and may call it, " + s
	}
	d, k := ps.diff, ps.graph.keys[y]
	if d == nil || d.f.funcs[k] == nil {
		return refuse("and their calls could not be found")
	}
	fd := d.f.funcs[k]
	callers, xwhy := d.outsideCallers(&change{key: k, b: d.b.funcs[k], f: fd}, d.outsideUses(fd.decl.Name.Name, fd.decl.Recv != nil), true)
	if xwhy != "" {
		return refuse("but not all can be replaced: " + xwhy)
	}
	var out []*Target
	for _, oc := range callers {
		site, outOfLine := ps.graph.inlined(oc.sym)
		switch {
		case site != "":
			return refuse("and its caller " + oc.sym + " was inlined by the release's compiler (" + site + "): the functions holding its copies are not replaced for it")
		case !outOfLine:
			continue // dead code: nothing runs it
		case d.a.sigKept[oc.sym]:
			return refuse("and its caller " + oc.sym + "'s own signature changed: the release's stays for old code, and calls it")
		case strings.HasPrefix(oc.sym, "main."):
			return refuse("and its caller " + oc.sym + " is in package main, whose copy the patch makes only for what the analysis finds")
		case opt.Policy != nil && opt.Policy.Permits(oc.sym) != nil:
			return refuse("and its caller " + oc.sym + " must be replaced with it: allow it (allow.packages: [" + oc.pkg + "])")
		}
		out = append(out, &Target{Name: oc.sym, Pos: oc.pos, Signature: oc.sig, pkg: oc.pkg,
			Reason: "calls " + shortSym(y) + ", whose parameter escapes now: compiled for it"})
	}
	return out, ""
}
