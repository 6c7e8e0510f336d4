package patchbuild

import (
	"fmt"
	"go/types"
	"slices"
	"strings"
)

// targets turns the changed functions of a package into targets, with
// their closures when those can be redirected too, and prepares the
// source the patch compiles.
func (d *pkgDiff) targets() error {
	if len(d.changed) == 0 && len(d.genericBodies) == 0 {
		return nil
	}
	for _, c := range d.changed {
		if c.sig {
			d.note(d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key), "signature changed", "every caller is replaced: the patch has the new function for them; the release's stays, not redirected, for old code still running")
			continue
		}
		d.target(c)
	}
	switch {
	case d.main:
		return d.rewriteMain()
	case d.rebuild:
		if err := d.rebuildFiles(); err != errRefusedHere {
			return err
		}
		return nil
	}
	return d.splice()
}

func (d *pkgDiff) target(c *change) {
	sym := d.sym(c.key)
	pos := d.f.pos(c.f.decl.Name.Pos())
	sig := types.TypeString(c.f.obj.Type(), qualifyName)
	why := "body changed"
	switch {
	case c.why != "":
		why = c.why
	case !c.own:
		why = "closures changed"
	}
	t := &Target{Name: sym, Pos: pos, Reason: why, Signature: sig, pkg: d.path, main: d.main, changed: true, ifaceCalls: d.ifaceCalls(c.key)}
	if c.f.decl.Recv != nil {
		t.iface = d.interfaceWith(c.f.decl.Name.Name)
	}
	d.a.plan.Targets = append(d.a.plan.Targets, t)

	bc := closures(c.b.decl, d.b.info(), d.b.sizes)
	fc := closures(c.f.decl, d.f.info(), d.f.sizes)
	if len(bc) == 0 && len(fc) == 0 {
		return
	}
	if why := sameClosures(bc, fc); why != "" {
		if len(bc) > 0 {
			d.note(pos, sym, "closures not replaced", why+": only "+shortSym(sym)+" is replaced; closures it already created keep the old code")
		}
		return
	}
	for i, cl := range fc {
		reason := "closure of " + shortSym(sym) + ": unchanged, replaced with it"
		changed := false
		if form(bc[i].lit.Body, d.b.info(), d.b.pkg.Types, true) != form(cl.lit.Body, d.f.info(), d.f.pkg.Types, true) {
			reason = "closure of " + shortSym(sym) + ": body changed"
			changed = true
		}
		d.a.plan.Targets = append(d.a.plan.Targets, &Target{
			Name: sym + "." + cl.name, Pos: d.f.pos(cl.lit.Pos()), Reason: reason,
			Signature: types.TypeString(d.f.info().TypeOf(cl.lit), qualifyName),
			pkg:       d.path, main: d.main, outer: sym, changed: changed,
		})
	}
}

// sameClosures returns why the closures of the release's function cannot
// be redirected to the fix's, or "". A closure created by the release's
// code keeps the context that code laid out: the fix's closure must have
// the same number, the same name and the same captured variables, in the
// same order and captured the same way.
func sameClosures(b, f []closure) string {
	if len(b) != len(f) {
		return fmt.Sprintf("%d closure(s) in the release, %d in the fix", len(b), len(f))
	}
	for i := range b {
		if b[i].name != f[i].name {
			return "closures nested differently"
		}
		if !slices.Equal(b[i].captures, f[i].captures) {
			return fmt.Sprintf("closure %s captures [%s] in the release, [%s] in the fix", f[i].name, captureList(b[i].captures), captureList(f[i].captures))
		}
	}
	return ""
}

func captureList(cs []capture) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, ", ")
}

// shortSym drops the import path from a symbol, for notes.
func shortSym(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}
