package patchbuild

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gohotfix/hotfix/internal/patchbuild/machinecode"
	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
)

// noopRelease is package p of the release the no-op check is tested on:
// one function of each kind of reference the check resolves.
const noopRelease = `package p

import "fmt"

var Count int

var table = []int{1, 2, 3}

// Same is unchanged in the fix: a string literal, a call, a package
// variable, type descriptors (fmt's ...any; a long name, which the
// release names by a hash), a float constant, static data and a closure.
func Same(name string, x int) string {
	t := [...]int{5, 6, 7, 8, 9, 10, 11, 12}
	Count++
	f := func() int { return x + len(table) }
	return fmt.Sprintf("same %s %d %d", name, t[x&7], f()) + Word(x) + fmt.Sprint(2.5*float64(x), map[string]int{name: x})
}

// Word is a switch, a jump table on amd64 from Go 1.26.
func Word(x int) string {
	switch x {
	case 1:
		return "one"
	case 2:
		return "two"
	case 3:
		return "three"
	case 4:
		return "four"
	case 5:
		return "five"
	case 6:
		return "six"
	case 7:
		return "seven"
	case 8:
		return "eight"
	}
	return "many"
}

func Const(x int) int { return x*4 + 0 }

func Call(x int) int { return helperA(x) }

func Branch(x int) int {
	if x > 3 {
		return x * 7
	}
	return x
}

func Str(name string) string { return fmt.Sprintf("hello %s v0", name) }

func Static(i int) int {
	t := [...]int{5, 6, 7, 8, 9, 10, 11, 12}
	return t[i&7]
}

func helperA(x int) int { return x + 1 }

func helperB(x int) int { return x + 2 }

func Helpers() int { return helperA(1) + helperB(2) }

const version = "1.0.0"

// Banner and Log both refer to the version's string, through static data
// (an interface's copy of the string header): a changed version changes
// both, whichever is compared first.
func Banner() string { return fmt.Sprint("v", version) }

func Log() string { return fmt.Sprint("log ", version) }

// Outer's code refers to its closure by name.
func Outer(x int) int {
	f := func() int { return x * 2 }
	return f()
}
`

// noopFixes are the fix's changes to noopRelease, each to one function.
var noopFixes = []struct{ fn, old, new, reason string }{
	{"Const", "x*4 + 0", "x*4 + 1", "a changed constant: an immediate"},
	{"Call", "return helperA(x)", "return helperB(x)", "a changed call target: the same bytes, another symbol"},
	{"Branch", "x > 3", "x >= 3", "a changed branch: another condition code"},
	{"Str", `"hello %s v0"`, `"hello %s v1"`, "a changed string of the same length: the same code, other bytes where it points (tests/testdata/patches/v1)"},
	{"Static", "5, 6, 7, 8, 9, 10, 11, 12}\n\treturn t[i&7]", "5, 6, 7, 8, 9, 10, 11, 13}\n\treturn t[i&7]", "changed static data: a numbered symbol whose bytes differ"},
}

const noopMain = `package main

import (
	"fmt"
	"os"
	_ "plugin" // a release links plugin support, and then names its type descriptors

	"example.com/noop/p"
)

func main() {
	n := len(os.Args)
	fmt.Println(p.Same("x", n), p.Word(n), p.Const(n), p.Call(n), p.Branch(n), p.Str("y"), p.Static(n), p.Helpers(), p.Banner(), p.Log(), p.Outer(n))
}
`

// TestNoopCompiled: the release's functions of a real host, against its
// package compiled again as it was (every function the same) and with a
// fix applied through an overlay (only the fixed functions differ), on
// amd64 and, cross-compiled, arm64.
func TestNoopCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host per architecture and compiles its package twice")
	}
	for _, arch := range []struct{ goarch, cc string }{{"amd64", "gcc"}, {"arm64", "aarch64-linux-gnu-gcc"}} {
		t.Run(arch.goarch, func(t *testing.T) {
			if _, err := exec.LookPath(arch.cc); err != nil {
				t.Skipf("a release links plugin support, which needs cgo: no %s", arch.cc)
			}
			testNoopCompiled(t, []string{"GOARCH=" + arch.goarch, "CGO_ENABLED=1", "CC=" + arch.cc})
		})
	}
}

// buildNoopRelease writes the release's module and builds it with flags.
func buildNoopRelease(t *testing.T, env, flags []string) (dir string, bin *loader.Binary) {
	t.Helper()
	dir = t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.com/noop\n\ngo 1.26\n", "main.go": noopMain, "p/p.go": noopRelease})
	host := filepath.Join(dir, "host")
	if out, err := runAll(context.Background(), dir, env, append(append([]string{"build"}, flags...), "-o", host, ".")...); err != nil {
		t.Fatalf("build the release: %v\n%s", err, out)
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

func testNoopCompiled(t *testing.T, env []string) {
	ctx := context.Background()
	flags := []string{"-trimpath", "-gcflags=example.com/noop/p=-l"}
	dir, bin := buildNoopRelease(t, env, flags)
	pkgs := []string{"example.com/noop/p"}

	// Compiled again from the release's source, every function of p is
	// the release's, and nearly every one of a standard package: what
	// the check misses there (a dupok copy the linker took from another
	// package, a closure inlined from another package) is a no-op it does
	// not see, never a false refusal.
	same, err := compileListing(ctx, dir, env, flags, "", append(pkgs, "fmt"))
	if err != nil {
		t.Fatal(err)
	}
	m := machinecode.NewMatcher(bin, same, nil)
	n := map[string][2]int{}
	for _, fn := range bin.Funcs() {
		sn, err := symbol.Parse(fn)
		if err != nil || same[fn] == nil {
			continue
		}
		c := n[sn.Package]
		c[0]++
		err = m.Same(fn)
		switch {
		case err == nil:
			c[1]++
		case sn.Package == "example.com/noop/p":
			t.Errorf("%s, compiled again from the release's source: %v, want the same", fn, err)
		default:
			t.Logf("%s, compiled again: not proven the same: %v", fn, err)
		}
		n[sn.Package] = c
	}
	t.Logf("functions proven the same, of those in the release and the listing: %v", n)
	if c := n["example.com/noop/p"]; c[0] < 10 {
		t.Fatalf("%d functions of p in the release, want every function of p.go", c[0])
	}
	if c := n["fmt"]; c[0] < 30 || c[1]*100 < c[0]*90 {
		t.Errorf("fmt: %d of %d functions proven the same, want 30 or more and 90%% or more", c[1], c[0])
	}
	// A function whose call compiles to the release's bytes is not the
	// same when the callee's signature changed: the release's callee is
	// the old function, never redirected (xpkgcallers.go).
	m.NewSig = map[string]bool{"example.com/noop/p.helperA": true}
	if err := m.Same("example.com/noop/p.Call"); err == nil || !strings.Contains(err.Error(), "whose signature changed") {
		t.Errorf("Call, calling helperA whose signature changed: %v, want not the same", err)
	}
	m.NewSig = nil
	// A release that can load plugins names a type descriptor of more
	// than 14 bytes by a hash (machinecode.MangledType), and Same refers to one.
	if _, _, ok := bin.Symbol("type:map[string]int"); ok {
		t.Errorf("the release names type:map[string]int as it is, want %s", machinecode.MangledType("type:map[string]int"))
	}
	if _, _, ok := bin.Symbol(machinecode.MangledType("type:map[string]int")); !ok {
		t.Errorf("the release has no %s for type:map[string]int", machinecode.MangledType("type:map[string]int"))
	}

	fixed := noopRelease
	for _, f := range noopFixes {
		if !strings.Contains(fixed, f.old) {
			t.Fatalf("%s: no %q in the release", f.fn, f.old)
		}
		fixed = strings.Replace(fixed, f.old, f.new, 1)
	}
	fix, err := compileListing(ctx, dir, env, flags, overlayWith(t, filepath.Join(dir, "p", "p.go"), []byte(fixed)), pkgs)
	if err != nil {
		t.Fatal(err)
	}
	m = machinecode.NewMatcher(bin, fix, nil)
	for _, fn := range []string{"Same", "Same.func1", "Word", "Helpers"} {
		if err := m.Same("example.com/noop/p." + fn); err != nil {
			t.Errorf("%s, unchanged by the fix: %v, want the same", fn, err)
		}
	}
	for _, f := range noopFixes {
		err := m.Same("example.com/noop/p." + f.fn)
		if err == nil {
			t.Errorf("%s: the same as the release's, want different: %s", f.fn, f.reason)
			continue
		}
		t.Logf("%s: %v", f.fn, err)
	}
	testNoopShared(t, ctx, dir, env, flags, bin)
}

// testNoopShared: read-only data two functions refer to, found different
// for the first, is different for the second too (a matcher once kept
// only that it had compared it: nats-server's VERSION bump).
func testNoopShared(t *testing.T, ctx context.Context, dir string, env, flags []string, bin *loader.Binary) {
	fixed := strings.Replace(noopRelease, `version = "1.0.0"`, `version = "1.0.1"`, 1)
	fix, err := compileListing(ctx, dir, env, flags, overlayWith(t, filepath.Join(dir, "p", "p.go"), []byte(fixed)), []string{"example.com/noop/p"})
	if err != nil {
		t.Fatal(err)
	}
	m := machinecode.NewMatcher(bin, fix, nil)
	for _, fn := range []string{"Banner", "Log", "Banner"} {
		if err := m.Same("example.com/noop/p." + fn); err == nil {
			t.Errorf("%s: the same as the release's, want different: the version it prints changed", fn)
		}
	}
	if err := m.Same("example.com/noop/p.Word"); err != nil {
		t.Errorf("Word, unchanged: %v", err)
	}

	// A closure's new body: Outer's bytes are the release's, and it is
	// the same only if the patch redirects its closure too.
	fixed = strings.Replace(noopRelease, "x * 2", "x * 3", 1)
	fix, err = compileListing(ctx, dir, env, flags, overlayWith(t, filepath.Join(dir, "p", "p.go"), []byte(fixed)), []string{"example.com/noop/p"})
	if err != nil {
		t.Fatal(err)
	}
	const outer, closure = "example.com/noop/p.Outer", "example.com/noop/p.Outer.func1"
	if err := machinecode.NewMatcher(bin, fix, []string{outer}).Same(outer); err == nil {
		t.Errorf("Outer, whose closure changed and is not redirected: the same as the release's, want different")
	}
	if err := machinecode.NewMatcher(bin, fix, []string{outer, closure}).Same(outer); err != nil {
		t.Errorf("Outer, with its closure redirected: %v, want the same", err)
	}
}

// TestNoopRule: which targets a patch drops, and which it refuses.
func TestNoopRule(t *testing.T) {
	const (
		g  = "example.com/a/p.G"
		g1 = "example.com/a/p.G.func1"
		h  = "example.com/a/p.H"
		c  = "example.com/a/p.Caller"
	)
	for _, tc := range []struct {
		name         string
		ts           []noopTarget
		named        bool // the targets were named with -func
		drop, refuse []string
		reason       string
	}{
		{"named, unchanged", []noopTarget{{name: h, same: true}}, true, nil, []string{h},
			"-func on a tree that does not change it: the issue's case"},
		{"named, one of two unchanged", []noopTarget{{name: g}, {name: h, same: true}}, true, nil, []string{h},
			"the operator said H changed; it did not"},
		{"changed body, same code", []noopTarget{{name: g}, {name: h, same: true}}, false, []string{h}, nil,
			"a change the compiler sees through, beside a real one: H is dropped, named in a note"},
		{"only changed bodies with the same code", []noopTarget{{name: h, same: true}}, false, nil, []string{h},
			"the fix's every change compiles to the release's code: refused whole"},
		{"all changed", []noopTarget{{name: g}, {name: h}}, false, nil, nil, "nothing to say"},
		{"only its closure changed", []noopTarget{{name: g, same: true}, {name: g1}}, false, []string{g}, nil,
			"a closure's body is its own function: G's code is the release's, and G need not be replaced"},
		{"unchanged closure of a changed function", []noopTarget{{name: g}, {name: g1, same: true}}, false, []string{g1}, nil,
			"closures are replaced with their function whether or not they changed"},
		{"escape caller compiled as before", []noopTarget{{name: h}, {name: c, same: true}}, false, []string{c}, nil,
			"a caller replaced for an escape change need not compile differently"},
		{"nothing but unchanged callers", []noopTarget{{name: c, same: true}}, false, nil, []string{c},
			"a patch that replaces nothing is refused whole"},
		{"not proven", []noopTarget{{name: h}}, false, nil, nil, "unknown is changed: never refuse a fix for what cannot be proven"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drop, refuse := noopRule(tc.ts, tc.named)
			if diff := cmp.Diff([2][]string{tc.drop, tc.refuse}, [2][]string{drop, refuse}); diff != "" {
				t.Errorf("noopRule: [drop, refuse] (-want +got) (%s):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestGcflagsFor: the -gcflags a package was compiled with in the
// release's build, which the listing's compile must repeat.
func TestGcflagsFor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flags  []string
		pkg    string
		want   string
		err    bool
		reason string
	}{
		{"policy pattern", []string{"-trimpath", "-gcflags=example.com/a/greet=-l"}, "example.com/a/greet", "-l", false, "hotfix flags: inlining off in allowed packages"},
		{"other package", []string{"-gcflags=example.com/a/greet=-l"}, "example.com/a/guard", "", false, "no pattern matches: no flags"},
		{"wildcard", []string{"-gcflags=example.com/a/...=-l"}, "example.com/a/b/c", "-l", false, "... matches any string"},
		{"trailing /... matches the root", []string{"-gcflags=net/http/...=-l"}, "net/http", "-l", false, "cmd/internal/pkgpattern"},
		{"last match wins", []string{"-gcflags=all=-N -l", "-gcflags=example.com/a/p=-l"}, "example.com/a/p", "-l", false, "cmd/go/internal/load/flag.go"},
		{"all", []string{"-gcflags=all=-d=checkptr"}, "fmt", "-d=checkptr", false, "all matches every package"},
		{"std", []string{"-gcflags=std=-l"}, "vendor/golang.org/x/net/http/httpguts", "-l", false, "std's vendored packages are standard"},
		{"wildcard skips vendor", []string{"-gcflags=.../http/...=-l"}, "vendor/golang.org/x/net/http/httpguts", "", false, "... never matches a vendor element the pattern does not name"},
		{"vendor named", []string{"-gcflags=vendor/golang.org/x/net/...=-l"}, "vendor/golang.org/x/net/http/httpguts", "-l", false, "a pattern may name vendor"},
		{"no pattern", []string{"-gcflags=-l"}, "example.com/a/p", "", false, "for the release build's command line: its main package"},
		{"two arguments", []string{"-gcflags", "example.com/a/p=-l -B"}, "example.com/a/p", "-l -B", false, "the flag package's other form"},
		{"relative", []string{"-gcflags=./...=-l"}, "example.com/a/p", "", true, "depends on the directory of the release's build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gcflagsFor(tc.flags, tc.pkg)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("gcflagsFor(%q, %s) = %q, %v; want %q, error %v (%s)", tc.flags, tc.pkg, got, err, tc.want, tc.err, tc.reason)
			}
		})
	}
}
