package patchbuild

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// Plan is what a build will do: the functions it replaces and why, what
// the reader should know, and every change it cannot ship.
type Plan struct {
	Module   string
	Main     string // import path of the release's main package
	Targets  []*Target
	Notes    []Finding
	Refusals []Finding

	overlays map[string][]byte   // absolute path of the release's file -> patched source
	pkgs     []string            // packages, other than main, with targets
	mainPkg  *mainPatch          // nil unless functions of main are replaced
	imports  map[string][]string // the release's packages -> their imports (internal.go)
	generics []*genericFunc      // changed generic functions (generic.go)
	rebuilt  []*rebuiltPkg       // packages compiled from the fix's files (rebuild.go)
	escapes  []*paramSet         // replaced functions' parameters (escape.go)
	goroot   string              // the release's Go root, when standard packages were compared (goroot.go)
	newSigs  map[string]bool     // functions whose new signature the patch carries, never redirected (signature.go)
	// inlineAdopt: under inlining: keep, the packages other than main
	// with targets, whose export data carries their new inlinable bodies
	// (a changed body, a call to a changed signature): the plugin takes
	// the release's fingerprint (holders.go).
	inlineAdopt []string
	holders     map[string][]string // target -> the functions holding an inlined copy of it (holders.go)
}

// Target is one function the patch replaces.
type Target struct {
	Name      string // linker symbol in the release binary
	Pos       string // file:line of the new code in the working tree
	Reason    string
	Layout    string // how the new body was fitted into the release's lines, if it was
	Signature string

	pkg     string       // import path
	main    bool         // a function of the release's main package
	outer   string       // the enclosing function of a closure
	changed bool         // its own code changed
	generic *genericFunc // a shape function of a changed generic function
	plugin  string       // its new code, relative to the plugin path
	iface   string       // a method's name is a method of this interface
	// sigCallee: replaced, unchanged, because it calls this function,
	// whose exported signature changed (xpkgcallers.go).
	sigCallee string
	// inlines: replaced, unchanged, because it holds an inlined copy of
	// this target (holders.go).
	inlines, site string // site: the inline call's file:line, as the binary has it
	// ifaceCalls are the methods its new code may call through an
	// interface (ifacecalls.go).
	ifaceCalls []string
}

// Finding is one refusal or note, for a file:line, an object and a rule.
type Finding struct {
	Pos    string // file:line (relative to the module root), or a file
	Object string // the package-level object or package it is about
	Rule   string // a short, stable name of the rule
	Detail string
}

func (f Finding) String() string {
	s := f.Pos + ": " + f.Object + ": " + f.Rule
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

func (p *Plan) target(name string) *Target {
	for _, t := range p.Targets {
		if t.Name == name {
			return t
		}
	}
	return &Target{}
}

func (p *Plan) sort() {
	slices.SortStableFunc(p.Targets, func(a, b *Target) int {
		return cmp.Or(cmpPos(a.Pos, b.Pos), cmp.Compare(a.Name, b.Name))
	})
	byPos := func(a, b Finding) int {
		return cmp.Or(cmpPos(a.Pos, b.Pos), cmp.Compare(a.Object, b.Object), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Detail, b.Detail))
	}
	slices.SortStableFunc(p.Notes, byPos)
	slices.SortStableFunc(p.Refusals, byPos)
	p.Notes = slices.Compact(p.Notes)
	p.Refusals = slices.Compact(p.Refusals)
}

// cmpPos orders file:line by file, then by line as a number.
func cmpPos(a, b string) int {
	af, al := splitPos(a)
	bf, bl := splitPos(b)
	return cmp.Or(cmp.Compare(af, bf), cmp.Compare(al, bl))
}

func splitPos(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	var n int
	if _, err := fmt.Sscanf(s[i+1:], "%d", &n); err != nil {
		return s, 0
	}
	return s[:i], n
}

// Err returns the refusals as one error wrapping ErrRefused, or nil.
func (p *Plan) Err() error {
	if len(p.Refusals) == 0 {
		if len(p.Targets) == 0 {
			return fmt.Errorf("%w: nothing to patch: no function of %s differs from the release", ErrRefused, p.Main)
		}
		return nil
	}
	return fmt.Errorf("%w: %d change(s) cannot be hot-patched (listed above with file:line, object and rule)", ErrRefused, len(p.Refusals))
}

// Write prints the plan for people.
func (p *Plan) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch {
	case len(p.Targets) == 0:
		fmt.Fprintf(tw, "plan: no function to replace\n")
	default:
		fmt.Fprintf(tw, "plan: replace %d function(s)\n", len(p.Targets))
	}
	collapsed := false
	for _, t := range p.Targets {
		why := t.Reason
		if t.Layout != "" {
			why += "; " + t.Layout
			if strings.Contains(t.Layout, "collapsed") {
				collapsed = true
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Pos, t.Name, why)
	}
	if collapsed {
		fmt.Fprintf(tw, "  (a collapsed function reports the release's line numbers in panics and stack traces)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(w, "notes:\n")
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(p.Refusals) > 0 {
		fmt.Fprintf(w, "refused: %d change(s) cannot be hot-patched:\n", len(p.Refusals))
		for _, r := range p.Refusals {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
	return nil
}

// check adds what only the release binary and the policy can tell: every
// target must be in the binary and inlined into no function the patch
// leaves alone, have a prologue the patcher can redirect, and be allowed
// by the policy. A closure whose own code did not change
// and cannot be redirected is left alone (its code is the same, and calls
// from it reach the replaced functions); a changed one is refused.
func (p *Plan) check(bin *loader.Binary, pol *policy.Policy) {
	if bin != nil {
		p.shapeTargets(bin) // genericplan.go
	}
	var keep, dropped []*Target
	replaced := map[string]bool{}
	for _, t := range p.Targets {
		replaced[t.Name] = true
	}
	for _, t := range p.Targets {
		if bin != nil {
			// Before the symbol: a function inlined everywhere is not in
			// the binary, and not dead either.
			if err := admit.NotInlined(bin, t.Name, func(caller string) bool { return replaced[caller] }); err != nil {
				p.Refusals = append(p.Refusals, Finding{Pos: t.Pos, Object: t.Name, Rule: "inlined in the release", Detail: strings.TrimPrefix(err.Error(), admit.ErrInlined.Error()+": "+t.Name+" was ")})
				keep = append(keep, t)
				continue
			}
			if _, ok := bin.Func(t.Name); !ok {
				if t.outer != "" {
					// The release never creates it as a function value
					// (inlined or dead): only the replaced function's new
					// code, which has its own copy, runs it.
					p.Notes = append(p.Notes, Finding{Pos: t.Pos, Object: t.Name, Rule: "closure not in the release binary", Detail: "nothing to redirect; the new " + shortSym(t.outer) + " has its own copy"})
					continue
				}
				hs := p.holdersOf(t.Name)
				if t.generic != nil {
					hs = append(hs, p.holdersOf(t.generic.sym)...) // holders.go: one stand-in for every shape
				}
				if len(hs) > 0 {
					p.Notes = append(p.Notes, Finding{Pos: t.Pos, Object: t.Name, Rule: "inlined everywhere in the release", Detail: "nothing to redirect; the functions holding its copies are replaced or ran only at start-up: " + strings.Join(hs, ", ")})
					continue
				}
				if n, err := symbol.Parse(t.Name); err == nil && n.Receiver == "" {
					// Dead in the release (not inlined: -l, or no holder
					// under inlining: keep): no code of the release calls
					// it, and the patch's code calls its own copy.
					p.Notes = append(p.Notes, Finding{Pos: t.Pos, Object: t.Name, Rule: "not in the release binary", Detail: "dead code in the release: nothing to redirect; the patch's code calls its own copy"})
					continue
				}
				// A method the linker dropped: decided once the targets
				// that stay are known (droppedMethods).
				dropped = append(dropped, t)
				continue
			}
			if _, err := admit.OfflineShape(bin, t.Name); err != nil {
				if t.outer != "" && !t.changed {
					p.Notes = append(p.Notes, Finding{Pos: t.Pos, Object: t.Name, Rule: "closure left alone", Detail: "unchanged, and its entry cannot be redirected safely (" + err.Error() + ")"})
					continue
				}
				p.Refusals = append(p.Refusals, Finding{Pos: t.Pos, Object: t.Name, Rule: "unsafe prologue", Detail: err.Error() + "; patch its callers instead"})
			}
		}
		if pol != nil {
			if err := pol.Permits(t.Name); err != nil {
				detail := strings.TrimPrefix(err.Error(), policy.ErrDenied.Error()+": "+t.Name+": ")
				switch {
				case t.sigCallee != "":
					detail += "; the fix does not change it, but it calls " + shortSym(t.sigCallee) + ", whose signature changed, and must be replaced with it: allow it, or keep the signature"
				case t.inlines != "":
					detail += "; the fix does not change it, but it holds a copy of " + shortSym(t.inlines) + " that the release's compiler inlined at " + t.site + ", and must be replaced with it: allow it (allow.packages: [" + policyPkg(t) + "])"
				}
				p.Refusals = append(p.Refusals, Finding{Pos: t.Pos, Object: t.Name, Rule: "not allowed by policy", Detail: detail})
			}
		}
		keep = append(keep, t)
	}
	p.Targets = keep
	p.droppedMethods(dropped)
	if p.mainPkg != nil && bin != nil {
		for _, v := range p.mainPkg.vars {
			if len(v.UsedBy) > 0 && !bin.HasObject("main."+v.Name) {
				p.Refusals = append(p.Refusals, Finding{Pos: p.mainPkg.dir, Object: "main." + v.Name, Rule: "not in the release binary",
					Detail: "the release never uses this variable, so its initial value is not there for " + strings.Join(v.UsedBy, ", ")})
			}
		}
	}
	p.sort()
}

// policyPkg is how the policy names t's package.
func policyPkg(t *Target) string {
	if t.main {
		return "main"
	}
	return t.pkg
}

// droppedMethods decides the targets that are methods the release's
// linker dropped, whose name an interface of the program has (see
// ifacecalls.go): refused where the code of a target that stays calls a
// method of that name through an interface, noted otherwise.
func (p *Plan) droppedMethods(dropped []*Target) {
	callers := map[string][]string{}
	for _, t := range p.Targets {
		for _, m := range t.ifaceCalls {
			callers[m] = append(callers[m], shortSym(t.Name))
		}
	}
	for _, t := range dropped {
		n, _ := symbol.Parse(t.Name)
		if by := append(callers[n.Func], callers[anyMethod]...); len(by) > 0 {
			p.Refusals = append(p.Refusals, Finding{Pos: t.Pos, Object: t.Name, Rule: "not in the release binary",
				Detail: "a method the release's linker dropped (dead code), and the patch's " + strings.Join(by, ", ") + " may call " + n.Func + " through an interface: on a value the release made, that call finds no code"})
			continue
		}
		p.Notes = append(p.Notes, Finding{Pos: t.Pos, Object: t.Name, Rule: "not in the release binary",
			Detail: "a method the release's linker dropped (dead code): no code of the release or the patch calls " + n.Func + " through an interface, so only the patch's direct calls reach it, and they call the patch's copy"})
	}
}
