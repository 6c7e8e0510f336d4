package patchbuild

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// checkEscapes compares, for every replaced function, the escape analysis
// of each parameter in the release and in the patch, before the plugin is
// built: the release's callers were compiled for the release's, and may
// have put on their stack what the new code would keep. In a spliced
// package the fingerprint would catch it too, after a long build; in a
// rebuilt one, whose fingerprint is adopted from the release (adopt.go),
// nothing else would. A difference is refused, naming the parameter.
//
// It returns the packages where a parameter escapes less than in the
// release: their export data differs in that alone, and the plugin gets
// the release's fingerprint for them (adopt.go), as for a rebuilt package.
//
// inlinedAt says where the release's compiler inlined a function, "" for
// nowhere, and whether the release has it out of line (escapecallers.go).
func (p *Plan) checkEscapes(ctx context.Context, opt Options, root, tmp string, inlinedAt func(string) (string, bool)) ([]string, []*Target, error) {
	var lines, less []string
	var added []*Target
	done := map[*paramSet]int{} // how many targets of each set were compared
	// The sets grow as callers in other packages are replaced: a set
	// compared already is appended again when it gets a target.
	for i := 0; i < len(p.escapes); i++ {
		ps := p.escapes[i]
		if len(ps.targets) == 0 || done[ps] == len(ps.targets) {
			continue
		}
		done[ps] = len(ps.targets)
		ps.graph.inlinedAt = inlinedAt
		r, err := p.comparePackage(ctx, opt, root, tmp, ps)
		if err != nil {
			return nil, nil, err
		}
		lines, added = append(lines, r.refused...), append(added, r.added...)
		if r.less {
			less = append(less, ps.pkg) // its export data differs: adopt the fingerprint
		}
		for _, t := range r.outside {
			set, err := p.escapeSet(ps.diff.a, t)
			if err != nil {
				lines = append(lines, fmt.Sprintf("  %s: %s: %s, and its package's escape analysis cannot be compared: %v", t.Pos, t.Name, t.Reason, err))
				continue
			}
			p.escapes = append(p.escapes, set) // compared again if it gained a target
		}
	}
	shapes, err := p.genericEscapes(ctx, opt, root, tmp) // escapegeneric.go
	if err != nil {
		return nil, nil, err
	}
	for _, f := range shapes {
		lines = append(lines, "  "+f.String())
	}
	if len(lines) > 0 {
		slices.Sort(lines)
		return nil, nil, fmt.Errorf("%w: escape analysis changed:\n%s", ErrRefused, strings.Join(slices.Compact(lines), "\n"))
	}
	slices.Sort(less)
	// Each caller once, and none that is a target already (a holder).
	seen := map[string]bool{}
	added = slices.DeleteFunc(added, func(t *Target) bool {
		dup := seen[t.Name] || p.target(t.Name).Name != ""
		seen[t.Name] = true
		return dup
	})
	return slices.Compact(less), added, nil
}

// compared is what comparePackage found in one package.
type compared struct {
	added, outside []*Target // callers replaced, in the package and in others
	refused        []string
	less           bool // its export data differs
}

// comparePackage compares the escape analysis of ps's package in the
// release and in the patch, and replaces the callers of what escapes more.
func (p *Plan) comparePackage(ctx context.Context, opt Options, root, tmp string, ps *paramSet) (compared, error) {
	var r compared
	before, after, err := escapeBoth(ctx, opt, root, tmp, ps.pkg)
	if err != nil && !p.isRebuilt(ps.pkg) && !slices.Contains(p.inlineAdopt, ps.pkg) {
		// The fingerprint, which the build's self-check compares,
		// still covers a spliced package's escape analysis.
		fmt.Fprintf(opt.Log, "escape analysis of %s not compared (the self-check will): %v\n", ps.pkg, firstLine(err.Error()))
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("%w: escape analysis of %s could not be compared, and the package is rebuilt, so nothing else would: %v", ErrRefused, ps.pkg, err)
	}
	b, a := byParam(before, ps.graph.release), byParam(after, ps.graph.patch)
	noteStackShadows(opt, ps, b)
	added, refused, outside := escapeCallers(ps.pkg, ps.graph, b, a, maps.Clone(ps.targets)) // escapecallers.go
	r.added, r.refused, r.less = added, refused, !maps.Equal(b, a)
	for _, y := range slices.Sorted(maps.Keys(outside)) {
		ts, why := outsideEscapes(opt, ps, y, outside[y]) // escapecallers.go
		if why != "" {
			r.refused = append(r.refused, why)
			continue
		}
		r.added, r.outside = append(r.added, ts...), append(r.outside, ts...)
	}
	return r, nil
}

// escapeSet returns the parameter set of t's package with t among its
// targets, made when the package has none.
func (p *Plan) escapeSet(a *analysis, t *Target) (*paramSet, error) {
	if err := a.escapesOf(t.pkg, t.Name); err != nil {
		return nil, err
	}
	for _, ps := range p.escapes {
		if ps.pkg == t.pkg {
			return ps, nil
		}
	}
	return nil, fmt.Errorf("no parameter set of %s", t.pkg)
}

// escapesNoMore reports whether a parameter whose escape analysis was
// release in the release and is fix in the patch is safe for the release's
// callers: each place the fix lets it flow to (the heap, a result, a
// write through it, a call through it) the release's let it flow to
// already, with no more dereferences on the way, or the release's let it
// leak to the heap so, which its callers met with a heap copy. "Does not
// escape" asks nothing of them.
func escapesNoMore(release, fix string) bool {
	r, f := parseTag(release), parseTag(fix)
	for where, derefs := range f {
		if d, ok := r[where]; ok && d <= derefs {
			continue
		}
		if d, ok := r["heap"]; ok && d <= derefs {
			continue
		}
		return false
	}
	return true
}

// A paramTag is what the compiler's diagnostics say of a parameter's
// escape analysis, as it exports it (cmd/compile/internal/escape,
// leaks.go): for each place the parameter flows to, the fewest
// dereferences on the way; absent where it does not flow.
type paramTag map[string]int

var tagMsg = regexp.MustCompile(`^(?:leaking param content: (\S+)|leaking param: \S+ to result (\S+) level=(\d+)|leaking param: (\S+)|moved to heap: (\S+)|(mutates|calls) param: \S+ derefs=(\d+))$`)

// parseTag reads the diagnostics of one parameter, joined by "; " as
// escapeDiagnostics joins them. "Leaking param content" does not say how
// deep (one dereference or more): it is taken as one, so that two such
// are equal; a fix that moves a content leak from two dereferences to
// one is not told apart (README's limits).
func parseTag(diags string) paramTag {
	t := paramTag{}
	for _, msg := range strings.Split(diags, "; ") {
		sm := tagMsg.FindStringSubmatch(msg)
		switch {
		case sm == nil:
		case sm[1] != "":
			t["heap"] = 1
		case sm[2] != "":
			t["result "+sm[2]], _ = strconv.Atoi(sm[3])
		case sm[4] != "", sm[5] != "":
			// Moved to heap: its address escapes, so what it points to,
			// the caller's argument, does too; the compiler prints no
			// leak then (cmd/compile/internal/escape, paramTag).
			t["heap"] = 0
		default:
			t[sm[6]], _ = strconv.Atoi(sm[7])
		}
	}
	return t
}

// leaksToHeap reports whether the diagnostics say the parameter itself
// leaks to the heap: every caller gives it a heap object.
func leaksToHeap(diags string) bool {
	d, ok := parseTag(diags)["heap"]
	return ok && d == 0
}

// byParam keys the diagnostics of the parameters in params ("file:line:col
// name" -> "symbol #index") by "symbol #index", so that a parameter
// renamed by the fix is compared with itself; a parameter without a
// diagnostic maps to "".
func byParam(diags map[string]string, params map[string]string) map[string]string {
	base := map[string]string{}
	for k, v := range diags {
		pos, name, _ := strings.Cut(k, " ")
		base[filepath.Base(pos)+" "+name] = v
	}
	out := map[string]string{}
	for k, key := range params {
		out[key] = base[k]
	}
	return out
}

// paramSet is what checkEscapes compares in one package: its replaced
// functions, and where the compiler reports the parameters of each of its
// functions (graph).
type paramSet struct {
	pkg     string
	targets map[string]bool // symbols of the replaced functions
	// shadow: parameters through which the fix reaches a new field
	// (fields.go): "file:line:col name" in the patch -> "S.F, S.G".
	shadow map[string]string
	graph  *callGraph // every function of the package (escapecallers.go)
	diff   *pkgDiff   // the package's comparison, for its callers elsewhere
}

// noteStackShadows says where a new field is reached through a parameter
// that does not leak to the heap in the release: a caller may keep the
// object on its stack, where the field has no place to stay.
func noteStackShadows(opt Options, ps *paramSet, release map[string]string) {
	for _, pos := range slices.Sorted(maps.Keys(ps.shadow)) {
		key := ps.graph.patch[pos]
		if key == "" {
			continue
		}
		if leaksToHeap(release[key]) {
			continue
		}
		sym, _, _ := strings.Cut(key, " ")
		fmt.Fprintf(opt.Log, "note: %s: parameter %s, which does not escape in the release, reaches the new field(s) %s: where a caller keeps the object on its stack, they read their default there and keep no writes\n",
			sym, ps.graph.names[key], ps.shadow[pos])
	}
}

// escapes records the package's replaced functions, and the parameters of
// all its functions as they are declared in the release and in the source
// the patch compiles (the fix's files, or the release's with bodies
// spliced in).
func (d *pkgDiff) escapes(patch *side) {
	ps := &paramSet{pkg: d.path, targets: map[string]bool{}, shadow: d.shadowParams, graph: d.graph(patch), diff: d}
	for _, c := range d.changed {
		if !c.sig {
			ps.targets[d.sym(c.key)] = true
		}
	}
	d.a.plan.escapes = append(d.a.plan.escapes, ps)
}

// params indexes the receiver and parameters of fd by the position the
// compiler's -m diagnostics print for them.
func params(s *side, fd *funcDecl, sym string, into, names map[string]string) {
	var lists []*ast.FieldList
	if fd.decl.Recv != nil {
		lists = append(lists, fd.decl.Recv)
	}
	lists = append(lists, fd.decl.Type.Params)
	i := 0
	for _, l := range lists {
		for _, fld := range l.List {
			for _, n := range fld.Names {
				key := fmt.Sprintf("%s #%d", sym, i)
				into[paramPos(s.pkg.Fset.Position(n.Pos()), n.Name)] = key
				if names != nil {
					names[key] = n.Name
				}
				i++
			}
			if len(fld.Names) == 0 {
				i++
			}
		}
	}
}

func (p *Plan) isRebuilt(pkg string) bool {
	for _, rp := range p.rebuilt {
		if rp.path == pkg {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// paramPos is how the compiler's -m diagnostics place a parameter, as the
// maps of this file key it: "file:line:col name".
func paramPos(p token.Position, name string) string {
	return fmt.Sprintf("%s:%d:%d %s", filepath.Base(p.Filename), p.Line, p.Column, name)
}
