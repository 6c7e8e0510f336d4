package patchbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gohotfix/hotfix/internal/patchbuild/machinecode"
	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// A patch whose new code is the release's is admitted, applied, and
// changes nothing: a fix the compiler optimizes away, a -func target the
// tree does not change, an overlay the go command ignores. The build
// refuses such a patch, and a -func target whose code is the release's,
// naming it; from a diff, such a target beside targets that changed is
// left out, named in a note (noopRule).
//
// The plugin's own code cannot be compared with the release's: it is
// compiled with -dynlink, which reaches globals through the GOT (a LEAQ
// becomes a MOVQ of the GOT slot, a CMPL of a global a load into R15 and
// a CMPL through it) and on amd64 takes R15 from the register allocator;
// on arm64 it goes through R27. Of the 68 functions both a test host and
// its plugin hold, 28 (amd64) and 19 (arm64) had the same instructions
// with addresses masked. A string literal is an address and a length,
// and no binary names its bytes, so machine code alone cannot tell
// "hello v0" from "hello v1", the very fix tests/testdata/patches/v1 is.
//
// So the fix's packages are compiled a second time, as the release was
// (its flags, no -buildmode=plugin), with -S: the compiler lists each
// symbol's bytes and the relocations the linker fills in, by name, with
// string literals named by their content. A target is the same only when
// the release's bytes are what the linker makes of the fix's at the
// release's address (package machinecode). Anything not proven so is treated as
// changed: a missed no-op costs a useless patch, a false refusal costs a
// fix. The second compile runs next to the plugin's build and reuses the
// build cache like any other: measured here, 0.1 s more on a warm build,
// and the first time one compile of each target's package (net/http: 6 s
// on 2 cores). Of the functions of fmt, strconv, net/http, net/url and
// encoding/json in a real host, compiled again from the same source,
// 1317 of 1323 were proven the same on amd64, 1133 of 1139 on arm64.

// noopTarget is a target and what the comparison found.
type noopTarget struct {
	name string
	same bool // proven: its new code is the release's
}

// noopRule decides which targets the patch drops (their new code is the
// release's) and which it refuses. A function whose only change is in its
// closures (each a function of its own) compiles as before, and so may a
// closure or a caller replaced along with a changed function, and a body
// whose change the compiler sees through (a bare return made explicit, as
// linters ask: go-mail's fix of GO-2025-3988 has five beside its real
// changes): those are dropped, and each is named in a note. A function
// the operator named with -func (named) whose code, and its closures', is
// the release's is refused: the operator said it changed. A patch that
// would replace nothing is refused whole.
func noopRule(ts []noopTarget, named bool) (drop, refuse []string) {
	differs := map[string]bool{} // outer functions with a target that differs
	for _, t := range ts {
		if !t.same {
			differs[outerOf(t.name)] = true
		}
	}
	for _, t := range ts {
		switch {
		case !t.same:
		case named && !differs[outerOf(t.name)]:
			refuse = append(refuse, t.name)
		default:
			drop = append(drop, t.name)
		}
	}
	if len(refuse) == 0 && len(drop) == len(ts) {
		return nil, drop
	}
	return drop, refuse
}

func outerOf(name string) string {
	n, err := symbol.Parse(name)
	if err != nil {
		return name
	}
	return n.Outer().String()
}

// errNoop refuses the targets whose new code is the release's.
func errNoop(names []string, named bool) error {
	hint := "its change compiles to the release's code, or the fixed source never reached the compiler"
	if named {
		hint = "the working tree does not change it: name the functions the fix changes"
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, fmt.Errorf("%w: %s: no-op: its new machine code is the release's (%s)", ErrRefused, n, hint))
	}
	return errors.Join(errs...)
}

// noopPackages returns the packages whose compiled code the check
// compares: those of the targets whose new code the release names alike,
// which leaves out package main (compiled into the patch's own package)
// and a generic function's shapes (renamed copies).
func noopPackages(targets []loader.Target) []string {
	var pkgs []string
	for _, t := range targets {
		if n, err := symbol.Parse(t.Name); err == nil && t.PluginSymbol == "" && !n.Generic && n.Package != "main" {
			pkgs = append(pkgs, n.Package)
		}
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// listed is the result of compileListing, run next to the plugin's build.
type listed struct {
	syms machinecode.Listing
	took time.Duration
	err  error
}

// startListing runs compileListing for pkgs in the background, while the
// plugin builds: the two compiles share the build cache and the machine's
// cores. The channel yields one result; none when pkgs is empty.
func startListing(ctx context.Context, dir string, env, flags []string, overlay string, pkgs []string) <-chan listed {
	c := make(chan listed, 1)
	if len(pkgs) == 0 {
		close(c)
		return c
	}
	go func() {
		t0 := time.Now()
		syms, err := compileListing(ctx, dir, env, flags, overlay, pkgs)
		c <- listed{syms, time.Since(t0), err}
	}()
	return c
}

// noops compares each target's new code with the release's (see the top
// of this file) and returns, after noopRule, the targets to ship and the
// refusal of those whose code is the release's. The caller refuses the
// patch with it once the patch has passed every other check: a no-op is
// what a patch that would be admitted must not be, and another refusal
// (an inlined target, say) says more. If the packages could not be
// compiled the release's way, a warning says the check was not done,
// and every target ships.
func (b *pluginBuild) noops(opt Options, targets []loader.Target, c <-chan listed) ([]loader.Target, error) {
	l, ok := <-c
	if !ok {
		return targets, nil
	}
	if l.err != nil {
		fmt.Fprintf(opt.Plan, "warning: no-op check not done: %v\n", l.err)
		return targets, nil
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	m := machinecode.NewMatcher(b.host.bin, l.syms, names)
	if b.plan != nil {
		// A caller replaced for a new signature may compile to the
		// release's very bytes; it must still be replaced, or the new
		// function is never reached from it (xpkgcallers.go).
		m.NewSig = b.plan.newSigs
	}
	ts := make([]noopTarget, len(targets))
	for i, t := range targets {
		ts[i] = noopTarget{name: t.Name, same: t.PluginSymbol == "" && m.Same(t.Name) == nil}
	}
	drop, refuse := noopRule(ts, b.plan == nil)
	fmt.Fprintf(opt.Log, "compared with the release's code (%.2fs): %d of %d target(s) changed\n", l.took.Seconds(), len(targets)-len(drop)-len(refuse), len(targets))
	var keep []loader.Target
	for _, t := range targets {
		if slices.Contains(drop, t.Name) {
			fmt.Fprintf(opt.Plan, "note: %s: not replaced: its new machine code is the release's\n", t.Name)
			continue
		}
		keep = append(keep, t)
	}
	if len(refuse) > 0 {
		return keep, errNoop(refuse, b.plan == nil)
	}
	return keep, nil
}

// compileListing compiles pkgs from the patch's sources (the overlay and
// env of its plugin build) as the release was compiled: with its flags,
// not as a plugin, and -S for the listing of each of pkgs.
func compileListing(ctx context.Context, dir string, env, flags []string, overlay string, pkgs []string) (machinecode.Listing, error) {
	args := slices.Clone(flags)
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	for _, p := range pkgs {
		v, err := gcflagsFor(flags, p)
		if err != nil {
			return nil, err
		}
		// The last -gcflags whose pattern matches a package is the one it
		// gets (cmd/go/internal/load/flag.go).
		args = append(args, "-gcflags="+p+"="+strings.TrimSpace(v+" -S"))
	}
	var syms machinecode.Listing
	tail, err := compileRead(ctx, dir, env, args, pkgs, func(r io.Reader) (err error) {
		syms, err = machinecode.Read(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("compiling with -gcflags=-S %s: %v\n%s", strings.Join(pkgs, " "), err, lastOf(tail, 20))
	}
	return syms, nil
}

// gcflagsFor returns the -gcflags value the go command compiled pkg with
// in the release's build, under flags: that of the last -gcflags whose
// pattern matches pkg. A -gcflags without a pattern is for the packages
// on the command line, the release's main package, not pkg. A relative
// pattern (./...) depends on the directory of that build: an error.
func gcflagsFor(flags []string, pkg string) (string, error) {
	val := ""
	for i := 0; i < len(flags); i++ {
		f := strings.TrimPrefix(strings.TrimPrefix(flags[i], "-"), "-")
		v, ok := strings.CutPrefix(f, "gcflags=")
		if !ok && f == "gcflags" && i+1 < len(flags) {
			i++
			v, ok = flags[i], true
		}
		if !ok {
			continue
		}
		if v == "" || strings.HasPrefix(v, "-") {
			continue // no pattern: the command line's packages
		}
		pat, value, _ := strings.Cut(v, "=")
		pat = strings.TrimSpace(pat)
		if pat == "." || pat == ".." || strings.HasPrefix(pat, "./") || strings.HasPrefix(pat, "../") {
			return "", fmt.Errorf("-gcflags=%s: a relative pattern, matched against the release build's directory", v)
		}
		if matchPackage(pat, pkg) {
			val = value
		}
	}
	return val, nil
}

// matchPackage reports whether the go command's package pattern pat
// matches the import path pkg, as a -gcflags pattern does
// (cmd/go/internal/load/search.go MatchPackage, and
// cmd/internal/pkgpattern MatchPattern: "..." matches any string, a
// trailing "/..." also the empty one, and it never matches a vendor
// element unless the pattern names one).
func matchPackage(pat, pkg string) bool {
	switch pat {
	case "all":
		return true
	case "std":
		return policy.Standard(pkg)
	case "cmd":
		return policy.Standard(pkg) && strings.HasPrefix(pkg, "cmd/")
	}
	const vendorChar = "\x00"
	if strings.Contains(pkg, vendorChar) || strings.Contains(pat, vendorChar) {
		return false
	}
	re := replaceVendor(regexp.QuoteMeta(pat), vendorChar)
	switch {
	case strings.HasSuffix(re, `/`+vendorChar+`/\.\.\.`):
		re = strings.TrimSuffix(re, `/`+vendorChar+`/\.\.\.`) + `(/vendor|/` + vendorChar + `/\.\.\.)`
	case re == vendorChar+`/\.\.\.`:
		re = `(/vendor|/` + vendorChar + `/\.\.\.)`
	}
	if strings.HasSuffix(re, `/\.\.\.`) {
		re = strings.TrimSuffix(re, `/\.\.\.`) + `(/\.\.\.)?`
	}
	re = strings.ReplaceAll(re, `\.\.\.`, `[^`+vendorChar+`]*`)
	ok, err := regexp.MatchString(`^`+re+`$`, replaceVendor(pkg, vendorChar))
	return err == nil && ok
}

// replaceVendor replaces the vendor elements of path x but the last with
// repl (cmd/internal/pkgpattern).
func replaceVendor(x, repl string) string {
	elem := strings.Split(x, "/")
	for i := 0; i < len(elem)-1; i++ {
		if elem[i] == "vendor" {
			elem[i] = repl
		}
	}
	return strings.Join(elem, "/")
}
