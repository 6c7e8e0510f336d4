package patchbuild

import (
	"sort"
	"strings"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// Coverage says, before any incident, which functions of a release binary
// a patch could replace: every function the policy allows (or, with all,
// every function outside the Go runtime), by package.
type Coverage struct {
	Packages []PackageCoverage
	Shapes   map[string]int // patchable functions by kind of shape
}

// PackageCoverage is one package's share. A function is patchable when
// the admission pipeline would take a patch replacing it alone: it is
// inlined into no other function of the binary (the "inlined" step), and
// its entry can be redirected (the "shape" step), in that order.
type PackageCoverage struct {
	Path      string
	Functions int       // in the symbol table, or only inlined
	Patchable int       // neither of the two below
	Inlined   []Finding // Object: the function, Detail: its first site
	Refused   []Finding // not inlined, but its entry cannot be redirected
}

// Total sums the packages.
func (c *Coverage) Total() (functions, patchable int) {
	for _, p := range c.Packages {
		functions += p.Functions
		patchable += p.Patchable
	}
	return functions, patchable
}

// NotPatchable sums the packages' inlined and refused functions.
func (c *Coverage) NotPatchable() (inlined, refused int) {
	for _, p := range c.Packages {
		inlined += len(p.Inlined)
		refused += len(p.Refused)
	}
	return inlined, refused
}

// MeasureCoverage classifies every function of bin that pol allows, or
// with pol nil every function outside the runtime's own packages. The
// functions counted include those the binary holds only inlined (no
// symbol of their own): their source is there to fix, and no patch can
// reach them. It fails only when the binary's inline trees cannot be
// read, without which nothing can be called patchable.
func MeasureCoverage(bin *loader.Binary, pol *policy.Policy) (*Coverage, error) {
	inlined, err := bin.AllInlined()
	if err != nil {
		return nil, err
	}
	funcs := bin.Funcs()
	for n := range inlined {
		if _, ok := bin.Func(n); !ok {
			funcs = append(funcs, n) // inlined everywhere: no symbol
		}
	}
	byPkg := map[string]*PackageCoverage{}
	c := &Coverage{Shapes: map[string]int{}}
	replaced := holderReplaced(bin, pol)
	for _, fn := range funcs {
		n, err := symbol.Parse(fn)
		if err != nil || !counted(fn, n, pol) {
			continue
		}
		pc := byPkg[n.Package]
		if pc == nil {
			pc = &PackageCoverage{Path: n.Package}
			byPkg[n.Package] = pc
		}
		pc.Functions++
		if err := admit.NotInlinedAt(fn, inlined[fn], replaced); err != nil {
			pc.Inlined = append(pc.Inlined, Finding{Object: fn, Rule: "inlined elsewhere", Detail: err.Error()})
			continue
		}
		if _, ok := bin.Func(fn); !ok {
			pc.Patchable++ // inlined everywhere: through its callers
			c.Shapes["through its callers"]++
			continue
		}
		plan, err := admit.OfflineShape(bin, fn)
		if err != nil {
			pc.Refused = append(pc.Refused, Finding{Object: fn, Rule: "cannot be redirected", Detail: err.Error()})
			continue
		}
		pc.Patchable++
		c.Shapes[shapeKind(plan.Shape, plan.Guard)]++
	}
	for _, pc := range byPkg {
		c.Packages = append(c.Packages, *pc)
	}
	sort.Slice(c.Packages, func(i, j int) bool { return c.Packages[i].Path < c.Packages[j].Path })
	return c, nil
}

// holderReplaced says which functions holding an inlined copy a patch
// would replace with it: none for a host built with -l on the allowed
// packages (a patch of one function alone) or for a question about every
// function (pol nil); under inlining: keep, those the policy allows whose
// entry can be redirected and that are not generic (holders.go). The
// binary's inline trees may miss a holder the compiler's report names
// (TestInlineTreeMisses), which only hotfix build, with the source, sees.
func holderReplaced(bin *loader.Binary, pol *policy.Policy) func(string) bool {
	if pol == nil || !pol.KeepsInlining() {
		return func(string) bool { return false }
	}
	known := map[string]bool{}
	return func(caller string) bool {
		ok, seen := known[caller]
		if !seen {
			n, err := symbol.Parse(caller)
			_, serr := admit.OfflineShape(bin, caller)
			ok = err == nil && !n.Generic && pol.Permits(caller) == nil && serr == nil
			known[caller] = ok
		}
		return ok
	}
}

func counted(fn string, n symbol.Name, pol *policy.Policy) bool {
	if pol != nil {
		return pol.Permits(fn) == nil
	}
	return !within(n.Package, "runtime") && !strings.HasPrefix(n.Package, "internal/runtime/")
}

func within(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }

// shapeKind groups the shapes prologue.PlanFor names into the classes the
// README's coverage table uses.
func shapeKind(shape string, guard bool) string {
	switch {
	case strings.HasSuffix(shape, "stack check"):
		return "stack check"
	case guard:
		return "no stack check, guarded"
	default:
		return "no stack check, nothing to guard"
	}
}
