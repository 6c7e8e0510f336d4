// Package admit is the one ordered pipeline of checks a patch passes before
// any of its code runs. The agent (a new file, a re-drop, start-up),
// `hotfix verify` and the self-check of
// `hotfix build` all call it; what differs between them (live code or the
// binary file, the agent's view of applied patches, its count of loaded
// plugins) is passed in. It runs nothing from the file.
//
// The order, after the read (loader.ReadPatch on the host, loader.ReadOffline
// offline: file rules, size, signature and trust, manifest):
//
//	build       Go release, build settings, modules, build ID, fingerprints
//	policy      every target allowed, none denied
//	inlined     no target inlined into a function the patch leaves alone
//	symbols     every target in the binary, its new code in the patch
//	shape       every target's entry can take the jump
//	max_patches one more plugin fits limits.max_patches (agent, new files)
package admit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher/prologue"
	"github.com/gohotfix/hotfix/policy"
)

// Step names a check of the pipeline.
type Step string

// The steps, in the order they run. The read's steps come first.
const (
	StepFile      Step = "file rules" // loader.ErrFileRule: kind, owner, mode, links, size
	StepSignature Step = "signature"  // loader.ErrSignature, policy.ErrUntrusted
	StepManifest  Step = "manifest"   // loader.ErrFormat
	StepBuild     Step = "build"
	StepPolicy    Step = "policy"
	StepInlined   Step = "inlined" // ErrInlined
	StepSymbols   Step = "symbols"
	StepShape     Step = "shape"
	StepLimit     Step = "max_patches"
)

// ErrInlined means a target's body was inlined into a function that the
// patch does not replace.
var ErrInlined = errors.New("admit: target inlined")

// Refusal is a patch turned away by one step, for one function when the
// step is about one.
type Refusal struct {
	Step Step
	Func string
	Err  error
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// ReadRefusal names the step of an error from reading a patch file
// (loader.ReadPatch, loader.ReadOffline).
func ReadRefusal(err error) *Refusal {
	step := StepManifest
	switch {
	case errors.Is(err, loader.ErrFileRule):
		step = StepFile
	case errors.Is(err, loader.ErrSignature), errors.Is(err, policy.ErrUntrusted):
		step = StepSignature
	}
	return &Refusal{Step: step, Err: err}
}

// Checks is what the pipeline checks a patch against.
type Checks struct {
	Binary *loader.Binary
	Policy *policy.Policy
	// Shape says whether a target's entry can take the jump: from the live
	// code in the agent (patcher.Check), from the binary file offline
	// (FileShape).
	Shape func(fn loader.Func) error
	// Loaded plugins and limits.max_patches; Max 0 skips the step (offline,
	// and for a patch already loaded).
	Loaded, Max int
}

// Admit runs every step after the read, in order, on a decoded patch file
// at path, and returns the patch resolved against the binary, or the first
// Refusal.
func (c Checks) Admit(f *loader.File, path string) (*loader.Patch, error) {
	p, err := loader.MatchBuild(f, path, c.Binary)
	if err != nil {
		return nil, &Refusal{Step: StepBuild, Err: err}
	}
	if err := c.Policy.Retired(f.Manifest.Sequence); err != nil {
		return nil, &Refusal{Step: StepPolicy, Err: err}
	}
	for _, t := range f.Manifest.Targets {
		if err := c.Policy.Permits(t.Name); err != nil {
			return nil, &Refusal{Step: StepPolicy, Func: t.Name, Err: err}
		}
	}
	// Before symbols: a target inlined everywhere is not in the binary,
	// and this names where it went.
	replaced := map[string]bool{}
	for _, t := range f.Manifest.Targets {
		replaced[t.Name] = true
	}
	for _, t := range f.Manifest.Targets {
		if err := NotInlined(c.Binary, t.Name, func(caller string) bool { return replaced[caller] }); err != nil {
			return nil, &Refusal{Step: StepInlined, Func: t.Name, Err: err}
		}
	}
	if err := p.Resolve(c.Binary); err != nil {
		return nil, &Refusal{Step: StepSymbols, Err: err}
	}
	for _, fn := range p.Funcs {
		if err := c.Shape(fn); err != nil {
			return nil, &Refusal{Step: StepShape, Func: fn.Name, Err: err}
		}
	}
	if c.Max > 0 && c.Loaded >= c.Max {
		return nil, &Refusal{Step: StepLimit, Err: fmt.Errorf("%d patches already loaded in this process, limits.max_patches is %d: plugins never unload, restart the service to load more", c.Loaded, c.Max)}
	}
	return p, nil
}

// NotInlined refuses a function of the binary that the compiler inlined
// into a function the patch leaves alone (replaced answers false): no
// jump at the function's entry reaches that copy, so a fix would reach
// only some of its callers. It names the first such site, from the
// binary's inline trees (loader.Binary.Inlined). A patch that hotfix
// build made from the fix's source on a host with full optimization
// (inlining: keep) replaces every holder the compiler reported, which the
// trees name only in part (patchbuild's TestInlineTreeMisses); one made
// with -func, or by another tool, may not. Under inlining: off the allowed
// packages are built with -l, and a host built without it is caught here;
// generic code is compiled, and may be inlined, in every package that
// instantiates it (loader's TestGenericFacts).
func NotInlined(bin *loader.Binary, fn string, replaced func(caller string) bool) error {
	sites, err := bin.Inlined(fn)
	if err != nil {
		return fmt.Errorf("read inline trees: %w", err)
	}
	return NotInlinedAt(fn, sites, replaced)
}

// NotInlinedAt is NotInlined over fn's sites already read, all of them
// (loader.Binary.Inlined or AllInlined): coverage asks it of every
// function of a binary.
func NotInlinedAt(fn string, sites []loader.InlineSite, replaced func(caller string) bool) error {
	var left []loader.InlineSite
	for _, s := range sites {
		if !replaced(s.Caller) && !RanOnce(s.Caller) {
			left = append(left, s)
		}
	}
	if len(left) == 0 {
		return nil
	}
	more := ""
	if len(left) > 1 {
		more = fmt.Sprintf(" (and %d more sites)", len(left)-1)
	}
	return fmt.Errorf("%w: %s was %s%s: no jump at its entry reaches a copy inlined into another function; replace the caller too (hotfix build from the fix's source replaces every function holding a copy), or build the host with -l on its package (inlining: off)", ErrInlined, fn, left[0], more)
}

// RanOnce reports whether the function sym is a package's initialization
// (pkg.init, its variables' initializers, an init function, pkg.init.N,
// or a map literal's initializer split out, pkg.map.init.N; not their
// closures): it ran once, when the program started, and never
// runs again, so a copy inlined into it needs no replacing; a patch of a
// function it called directly leaves what it computed as it is too.
func RanOnce(sym string) bool {
	n, err := symbol.Parse(sym)
	return err == nil && n.Closure == "" && n.Receiver == "" && (n.Func == "init" || strings.HasPrefix(n.Func, "init.") || strings.HasPrefix(n.Func, "map.init."))
}

// FileShape checks shapes from the binary file, as offline tools must.
func FileShape(bin *loader.Binary) func(fn loader.Func) error {
	return func(fn loader.Func) error {
		_, err := OfflineShape(bin, fn.Name)
		return err
	}
}

// OfflineShape is how the patcher would redirect a function of the binary
// file, decided from its code and unsafe points as the file holds them, as
// code of the binary's machine (an arm64 binary checked on amd64 too).
func OfflineShape(bin *loader.Binary, fn string) (prologue.Plan, error) {
	fi, err := bin.FuncInfo(fn)
	if err != nil {
		return prologue.Plan{}, err
	}
	code, err := bin.Code(fn, max(fi.Size, prologue.JumpLenFor(bin.Machine()))+8)
	if err != nil {
		return prologue.Plan{}, err
	}
	plan, err := prologue.PlanForMachine(bin.Machine(), prologue.Func{Code: code, AsyncSafe: fi.AsyncSafe})
	if err != nil {
		return plan, fmt.Errorf("prologue cannot be redirected safely: %w", err)
	}
	return plan, nil
}
