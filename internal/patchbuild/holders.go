package patchbuild

import (
	"fmt"
	"go/ast"
	"go/types"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
	"github.com/gohotfix/hotfix/internal/symbol"
)

// A host built with the compiler's full optimization (policy inlining:
// keep) has copies of small functions inlined into their callers, where
// no jump at the function's entry reaches them. A target inlined so is
// patched as kpatch patches an optimized kernel: every function of the
// release that holds a copy is replaced too, compiled in the patch with
// the new body inlined (or called). The compiler's own -m report names
// them, nested copies included (inlsites.go); the binary's inline trees,
// which miss a body merged into its caller's instructions, are read too.
//
// A holder whose package the fix does not change is compiled into the
// plugin from the release's source, like the callers of a changed
// signature (xpkgcallers.go), and gets the escape check of a replaced
// function. The targets' packages, whose export data now carries the new
// inlinable bodies, take the release's fingerprint (Plan.inlineAdopt, set
// here before the check drops the targets the release holds only
// inlined), and so do the holders' packages, whose export data may carry
// a target's body for their importers to inline: the only release code
// compiled against the old bodies is the holders, all replaced.
//
// A changed generic function's instantiations, inlined into callers of
// any package, are found the same way by their printed names (type
// arguments stripped); its package is compiled with the new body (spliced
// or rebuilt: diff.go's genericBodies), and every package whose report
// shows it inlined, whose export data holds the instantiation's body,
// takes the release's fingerprint too (as does every package whose report
// shows a plain target inlined). Its shape functions are redirected to the
// copy as on any host (generic.go).

// holderVerdict says why the function of the release that holds an
// inlined copy cannot be replaced, or "". n is its parsed symbol.
func holderVerdict(n symbol.Name) string {
	if n.Generic {
		return "a generic instantiation: its code is shared by shape, not replaced by name"
	}
	return ""
}

// addInlineHolders makes every function of the release that holds an
// inlined copy of a target a target too, each named with the inline site
// that made it one; or refuses the target, naming the holder, when a
// holder cannot be replaced. The compiler's report (inlsites.go) and the
// binary's inline trees are both read: the first is complete, the second
// a check on it.
func (a *analysis) addInlineHolders() error {
	if a.in.Bin == nil || !a.in.KeepInlining {
		return nil
	}
	seen := map[string]bool{}
	var targets []*Target
	for _, t := range a.plan.Targets {
		seen[t.Name] = true
		if t.generic != nil {
			continue // its function's stand-in is below
		}
		targets = append(targets, t)
		if !t.main && !slices.Contains(a.plan.inlineAdopt, t.pkg) {
			a.plan.inlineAdopt = append(a.plan.inlineAdopt, t.pkg)
		}
	}
	for _, g := range a.plan.generics {
		// A stand-in for the generic function as the holders' inlined
		// callee: its shape functions are targets of their own (made by
		// Plan.check), its copies inlined anywhere, of any shape, are
		// replaced with their holders.
		targets = append(targets, &Target{Name: g.sym, Pos: g.pos, pkg: g.pkg, generic: g})
		if !slices.Contains(a.plan.inlineAdopt, g.pkg) {
			a.plan.inlineAdopt = append(a.plan.inlineAdopt, g.pkg)
		}
	}
	sites, err := a.holderSites(targets)
	if err != nil {
		return err
	}
	var mainKeys []string
	for _, s := range sites {
		a.plan.recordHolder(s.target.Name, s.caller)
		if admit.RanOnce(s.caller) && s.why == "" {
			a.plan.Notes = append(a.plan.Notes, Finding{Pos: s.target.Pos, Object: s.target.Name, Rule: "inlined into initialization",
				Detail: "inlined into " + shortSym(s.caller) + " at " + s.site + ", which ran when the release started and never runs again: nothing to replace there"})
			a.startupClosures(s, seen)
			continue
		}
		if seen[s.caller] {
			continue
		}
		seen[s.caller] = true
		h, key := a.holder(s)
		if h == nil {
			continue
		}
		a.plan.Targets = append(a.plan.Targets, h)
		if h.main {
			mainKeys = append(mainKeys, key)
		} else if err := a.escapesOf(h.pkg, h.Name); err != nil {
			return err
		}
		if h.outer == "" {
			a.holderClosures(h, seen)
		}
	}
	if len(mainKeys) > 0 && a.plan.mainPkg == nil {
		return a.copyMain(mainKeys)
	}
	return nil
}

// holderClosures adds the closures of the holder h that the release
// binary has: a closure the target's inlined body creates is compiled
// into h's own (http.HandlerFunc(func...) in go-httpbin's preflight,
// inlined into (*HTTPBin).Handler, is Handler.preflight.func2), and the
// instances h made at start-up run it on every call. The new h makes its
// own; the release's are redirected to them, by name. Those the fix does
// not change compile to the release's code and are left out by the no-op
// check. A target whose closures cannot be redirected (their captures
// changed) refuses its holder's closures, which came from it.
func (a *analysis) holderClosures(h *Target, seen map[string]bool) {
	for _, c := range a.closuresOf(h.Name) {
		if seen[c] {
			continue
		}
		seen[c] = true
		if a.plan.closuresKept(h.inlines) {
			a.plan.Refusals = append(a.plan.Refusals, Finding{Pos: h.Pos, Object: c, Rule: "inlined in the release",
				Detail: "a closure of " + shortSym(h.Name) + ", which holds an inlined copy of " + shortSym(h.inlines) + ", whose closures cannot be redirected: the closures the release made would keep the old code"})
			continue
		}
		a.plan.Targets = append(a.plan.Targets, &Target{Name: c, Pos: h.Pos, Signature: "",
			Reason: "closure of " + shortSym(h.Name) + ", which holds an inlined copy of " + shortSym(h.inlines) + ": replaced with it",
			pkg:    h.pkg, main: h.main, outer: h.Name, inlines: h.inlines, site: h.site})
	}
}

// closuresKept reports whether the changed function name has closures
// that the release's instances keep (a note "closures not replaced").
func (p *Plan) closuresKept(name string) bool {
	for _, n := range p.Notes {
		if n.Object == name && n.Rule == "closures not replaced" {
			return true
		}
	}
	return false
}

// startupClosures handles the closures that initialization code holding
// an inlined copy of a target made (a handler the inlined body returns,
// registered at start-up): they run on, so they are replaced, through
// the patch's copy of main for main's init functions. Those of another
// package's initialization, or of main's variables' initializers (which
// the copy of main does not have), are refused.
func (a *analysis) startupClosures(s holderSite, seen map[string]bool) {
	cs := a.closuresOf(s.caller)
	n, _ := symbol.Parse(s.caller)
	if len(cs) == 0 {
		return
	}
	if n.Package != "main" || n.Func == "init" {
		a.plan.Refusals = append(a.plan.Refusals, Finding{Pos: s.target.Pos, Object: s.target.Name, Rule: "inlined in the release",
			Detail: "inlined into " + shortSym(s.caller) + " at " + s.site + ", initialization that made closures which run on (" + shortSym(cs[0]) + "): they cannot be replaced yet"})
		return
	}
	h := &Target{Name: s.caller, Pos: s.site, pkg: a.main, main: true, inlines: s.target.Name, site: s.site}
	a.holderClosures(h, seen)
}

// holderSite is a function of the release holding an inlined copy of a
// target: where the call is, or why the holder cannot be replaced.
type holderSite struct {
	target *Target
	caller string // symbol of the holder
	site   string // the call's file:line
	why    string // non-empty: it cannot be replaced
}

// holderSites returns the holders of targets: from the binary's inline
// trees, then from the compiler's report on the packages that may hold a
// copy (the targets' and their importers').
func (a *analysis) holderSites(targets []*Target) ([]holderSite, error) {
	var out []holderSite
	pkgs := map[string]bool{}
	for _, t := range targets {
		pkgs[t.pkg] = true
		if t.generic != nil {
			// Its shapes' targets are made later (Plan.check), which reads
			// their inline trees as a check on the report below.
			continue
		}
		ss, err := a.in.Bin.Inlined(t.Name)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			out = append(out, holderSite{target: t, caller: s.Caller, site: fmt.Sprintf("%s:%d", s.File, s.Line)})
		}
	}
	cands := a.importersOf(pkgs)
	calls, err := compilerInlines(a.ctx, a.in.Base, a.in.Flags, cands)
	if err != nil {
		return nil, fmt.Errorf("compiling the release with -m to find where the compiler inlined the targets: %w", err)
	}
	for _, pkg := range cands {
		hs, err := a.compiledHolders(pkg, calls[pkg], targets)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	return out, nil
}

// importersOf returns pkgs and every package linked into the release
// that imports one of them, directly or through others, sorted.
func (a *analysis) importersOf(pkgs map[string]bool) []string {
	if a.linked == nil {
		a.linked = a.releasePackages()
	}
	in := maps.Clone(pkgs)
	for grew := true; grew; {
		grew = false
		for p := range a.linked {
			if in[p] {
				continue
			}
			for _, imp := range a.plan.imports[p] {
				if in[imp] {
					in[p], grew = true, true
					break
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(in))
}

// compiledHolders maps the inlined calls of targets in package pkg's
// report to the functions holding them.
func (a *analysis) compiledHolders(pkg string, calls []inlCall, targets []*Target) ([]holderSite, error) {
	files := map[string]string{}
	if p := a.base[pkg]; p != nil {
		for _, f := range p.GoFiles {
			files[filepath.Base(f)] = f
		}
	}
	var out []holderSite
	for _, t := range targets {
		local, qualified := printedNames(t.Name, a.pkgName(t.pkg))
		if t.generic != nil {
			local, qualified = t.generic.printedKey(), a.pkgName(t.pkg)+"."+t.generic.printedKey()
		}
		for _, c := range calls {
			callee := c.callee
			if t.generic != nil {
				callee = stripTypeArgs(callee)
			}
			if !(callee == qualified || pkg == t.pkg && callee == local) {
				continue
			}
			if pkg != a.main && !slices.Contains(a.plan.inlineAdopt, pkg) {
				// Its export data may hold the target's body (an
				// instantiation's, or an inlinable function's that its
				// own inlinable functions call, for its importers to
				// inline: go-acme/lego's api.New and the internal
				// sender.NewDoer), the new one in the patch: the code
				// compiled against the old is the holders, all replaced.
				a.plan.inlineAdopt = append(a.plan.inlineAdopt, pkg)
			}
			hs, err := a.callHolders(pkg, files, t, c)
			if err != nil {
				return nil, err
			}
			out = append(out, hs...)
		}
	}
	return out, nil
}

// callHolders returns the holders of the inlined call c of t in package
// pkg, whose Go files by base name are files.
func (a *analysis) callHolders(pkg string, files map[string]string, t *Target, c inlCall) ([]holderSite, error) {
	site := fmt.Sprintf("%s/%s:%d", pkg, c.file, c.line)
	var wrappers []holderSite
	if t.generic != nil && t.generic.declaredAt(c.file, c.line) {
		wrappers = a.instantiationWrappers(t, site)
		if pkg == t.pkg || files[c.file] == "" {
			return wrappers, nil
		}
		// A file of this package has the base name of the generic's: the
		// line may hold a call in it as well.
	}
	hs, err := a.siteHolders(pkg, files, t, c, site)
	return append(wrappers, hs...), err
}

// siteHolders returns the holders of the inlined call c of t at site, in
// package pkg's files by base name.
func (a *analysis) siteHolders(pkg string, files map[string]string, t *Target, c inlCall, site string) ([]holderSite, error) {
	switch {
	case c.file == "<autogenerated>":
		return a.wrapperHolders(pkg, t, site), nil
	case files[c.file] == "":
		return []holderSite{{target: t, caller: pkg, site: site, why: "a position no Go file of the package has (a //line directive, or generated code): the function holding the copy is not known"}}, nil
	}
	e, err := enclosingAt(files[c.file], c.line, c.col)
	if err != nil {
		return nil, err
	}
	if e.fd != nil && isInit(e.fd) {
		before, err := initsBefore(slices.Collect(maps.Values(files)), files[c.file])
		if err != nil {
			return nil, err
		}
		e.init += before
	}
	return a.enclosingHolders(pkg, t, e, site), nil
}

// wrapperHolders returns the methods of package pkg that may be wrappers
// the compiler wrote around the method t and inlined it into: its pointer
// wrapper ((*T).M of a value method), the promoted methods of the structs
// embedding it, and method values (T.M-fm). The compiler's report says
// only "<autogenerated>", so every method of the package with t's name is
// taken; those whose code is the release's are left out by the no-op
// check.
func (a *analysis) wrapperHolders(pkg string, t *Target, site string) []holderSite {
	n, err := symbol.Parse(t.Name)
	if err != nil || n.Receiver == "" {
		return []holderSite{{target: t, caller: pkg, site: site, why: "a wrapper the compiler wrote inlines it"}}
	}
	var out []holderSite
	for _, f := range a.in.Bin.Funcs() {
		m, err := symbol.Parse(f)
		if err == nil && f != t.Name && m.Package == pkg && m.Receiver != "" && m.Func == n.Func && (m.Closure == "" || m.Closure == "-fm") {
			out = append(out, holderSite{target: t, caller: f, site: site})
		}
	}
	return out // none: the linker dropped the wrapper, which nothing calls
}

// declaredAt reports whether file (a base name) and line are where the
// release declares g: the compiler reports the shape body inlined into
// the instantiation wrappers it writes (stats.SumOf[int], which passes
// the dictionary) at the generic function's declaration, in every
// package that instantiates it.
func (g *genericFunc) declaredAt(file string, line int) bool {
	f, l, ok := strings.Cut(g.basePos, ":")
	return ok && filepath.Base(f) == file && l == strconv.Itoa(line)
}

// instantiationWrappers returns the instantiation wrappers of the generic
// t (functions of the release named with concrete type arguments) as
// holders that cannot be replaced yet; none when the linker dropped them
// all, as it does when nothing takes the instantiation as a value.
func (a *analysis) instantiationWrappers(t *Target, site string) []holderSite {
	var out []holderSite
	for _, f := range a.in.Bin.Funcs() {
		if stripTypeArgs(f) == stripTypeArgs(t.Name) && f != t.Name && !strings.Contains(f, "go.shape.") {
			out = append(out, holderSite{target: t, caller: f, site: site,
				why: "an instantiation wrapper the compiler wrote, which passes the dictionary to the shape body: not replaced yet"})
		}
	}
	return out
}

// printedKey is how the compiler's report names g, type arguments left
// out: "SumOf", "(*Ring).Last".
func (g *genericFunc) printedKey() string {
	switch {
	case g.recv == "":
		return g.name
	case g.ptr:
		return "(*" + g.recv + ")." + g.name
	}
	return g.recv + "." + g.name
}

// stripTypeArgs drops the type arguments of a name the compiler prints
// ("stats.(*Ring[go.shape.int]).Last" is "stats.(*Ring).Last").
func stripTypeArgs(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// enclosingHolders returns the holders of an inlined copy of t in what
// e encloses: its function, or every closure of it in the release when
// the copy is inside a function literal (the compiler's report does not
// say which), and a value method's pointer wrapper.
func (a *analysis) enclosingHolders(pkg string, t *Target, e enclosing, site string) []holderSite {
	d := &pkgDiff{path: pkg, main: pkg == a.main}
	var sym string
	switch {
	case e.fd == nil && !e.inLit:
		return []holderSite{{target: t, caller: d.sym("init"), site: site}} // a variable's initializer
	case e.fd == nil:
		sym = d.sym("init") // a function literal of a variable's initializer: pkg.init.funcN
	case isInit(e.fd):
		sym = d.sym("init") + "." + strconv.Itoa(e.init)
	default:
		sym = d.sym(layout.FuncKey(e.fd))
	}
	if e.fd == nil {
		return a.closureHolders(t, sym, site)
	}
	if e.fd.Type.TypeParams != nil || recvGeneric(e.fd) {
		return []holderSite{{target: t, caller: sym, site: site, why: "a generic function: its code is shared by shape, not replaced by name"}}
	}
	var names []string
	if !e.inLit {
		names = append(names, sym)
		if n, _ := symbol.Parse(sym); n.Receiver != "" && !n.Pointer {
			n.Pointer = true
			names = append(names, n.String())
		}
	} else {
		return a.closureHolders(t, sym, site)
	}
	var out []holderSite
	for _, n := range names {
		if _, ok := a.in.Bin.Func(n); ok || admit.RanOnce(n) {
			out = append(out, holderSite{target: t, caller: n, site: site})
		}
	}
	return out
}

// closureHolders returns every closure of sym in the release as a holder
// of t: the compiler's report does not say which literal holds the copy.
func (a *analysis) closureHolders(t *Target, sym, site string) []holderSite {
	var out []holderSite
	for _, n := range a.closuresOf(sym) {
		out = append(out, holderSite{target: t, caller: n, site: site})
	}
	return out
}

// closuresOf returns the functions of the release binary that are
// closures of the function sym.
func (a *analysis) closuresOf(sym string) []string {
	var out []string
	for _, f := range a.in.Bin.Funcs() {
		if !strings.HasPrefix(f, sym+".") {
			continue
		}
		n, err := symbol.Parse(f)
		if err != nil || n.Closure == "" {
			continue
		}
		if n.Outer().String() == sym {
			out = append(out, f)
		}
	}
	return out
}

// pkgName is the name in the package clause of the release's package
// path.
func (a *analysis) pkgName(path string) string {
	if p := a.base[path]; p != nil && p.Name != "" {
		return p.Name
	}
	return filepath.Base(path)
}

// holder returns the target that replaces s.caller, and the key of its
// function in package main; or nil, with a refusal of s.target, when it
// cannot be replaced.
func (a *analysis) holder(s holderSite) (*Target, string) {
	t := s.target
	n, err := symbol.Parse(s.caller)
	if err == nil && s.why == "" {
		s.why = holderVerdict(n)
	}
	if err != nil || s.why != "" {
		if s.why == "" {
			s.why = err.Error()
		}
		a.plan.Refusals = append(a.plan.Refusals, Finding{Pos: t.Pos, Object: t.Name, Rule: "inlined in the release",
			Detail: "inlined into " + s.caller + " at " + s.site + ", which cannot be replaced: " + s.why})
		return nil, ""
	}
	main := n.Package == "main"
	outer := n.Outer()
	key := funcKeyOf(outer)
	h := &Target{Name: s.caller, Pos: s.site, Reason: "holds an inlined copy of " + shortSym(t.Name) + " (at " + s.site + "): compiled with the new one",
		pkg: n.Package, main: main, inlines: t.Name, site: s.site}
	if n.Closure != "" {
		h.outer = outer.String()
	}
	if main {
		h.pkg = a.main
	}
	if sig, pos := a.declOf(h.pkg, key); pos != "" {
		h.Signature, h.Pos = sig, pos
	}
	return h, key
}

// funcKeyOf is the key (funcKey) of the function or method n names.
func funcKeyOf(n symbol.Name) string {
	switch {
	case n.Receiver != "" && n.Pointer:
		return "(*" + n.Receiver + ")." + n.Func
	case n.Receiver != "":
		return n.Receiver + "." + n.Func
	}
	return n.Func
}

// declOf returns the Go type of the release's function key in package
// path, for people, and the file:line of its declaration; "" for both
// when the package cannot be type-checked or does not declare it (a
// wrapper the compiler wrote).
func (a *analysis) declOf(path, key string) (sig, pos string) {
	typed, err := a.releaseTyped([]string{path})
	if err != nil || typed[path] == nil {
		return "", ""
	}
	p := typed[path]
	for _, f := range p.Syntax {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || layout.FuncKey(fd) != key {
				continue
			}
			if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
				sig = types.TypeString(fn.Type(), qualifyName)
			}
			return sig, a.relPos(p, fd.Name.Pos())
		}
	}
	return "", ""
}

// recordHolder notes that the function caller holds an inlined copy of
// the target name.
func (p *Plan) recordHolder(name, caller string) {
	if p.holders == nil {
		p.holders = map[string][]string{}
	}
	if !slices.Contains(p.holders[name], caller) {
		p.holders[name] = append(p.holders[name], caller)
	}
}

// holdersOf lists the functions holding an inlined copy of name, short.
func (p *Plan) holdersOf(name string) []string {
	var out []string
	for _, h := range p.holders[name] {
		out = append(out, shortSym(h))
	}
	return out
}
