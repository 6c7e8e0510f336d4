package patchbuild

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// refVerdict: which references, in another package, to a function whose
// exported signature changed let the patch replace the function holding
// them, and why the others do not.
func TestRefVerdict(t *testing.T) {
	call := refSite{caller: "Depth", call: true, inFix: true}
	with := func(f func(*refSite)) refSite { s := call; f(&s); return s }
	tests := []struct {
		name   string
		site   refSite
		why    string // substring of the refusal; "" when accepted
		reason string
	}{
		{"call in a function body", call, "", "the function is replaced, compiled against the new signature"},
		{"call in a method body", with(func(s *refSite) { s.caller = "(*Cart).Add" }), "", "methods are replaced like functions"},
		{"call in main, which the fix changes", with(func(s *refSite) { s.caller, s.main, s.mainCopy = "label", true, true }), "", "the patch's copy of main has the function"},
		{"variable initializer", with(func(s *refSite) { s.caller = "" }), "variable's initializer ran", "it ran when the release started; what it made keeps the old function"},
		{"function literal", with(func(s *refSite) { s.inLit = true }), "function literal of Depth", "closures the release made are not replaced with their function's new code for certain"},
		{"function value", with(func(s *refSite) { s.call = false }), "as a value, not a call", "a function value made by the release's code points at the old function"},
		{"generic caller", with(func(s *refSite) { s.generic = true }), "generic function", "generic code is shared by shape, not patched by name"},
		{"caller removed by the fix", with(func(s *refSite) { s.inFix = false }), "which the fix removes", "nothing to replace it with"},
		{"call in main, which the fix does not change", with(func(s *refSite) { s.caller, s.main, s.mainCopy = "main", true, true }), "", "the patch makes a copy of main from the release's files"},
		{"main with cgo", with(func(s *refSite) { s.main = true }), "package main, which uses cgo", "the patch cannot compile a copy of such a main"},
		{"init function", with(func(s *refSite) { s.caller = "init" }), "in an init function", "it ran when the release started, and the binary names it init.0"},
		{"promoted method", with(func(s *refSite) { s.embeds = true }), "promoted method's wrapper", "the wrapper is compiled code of the release, not a function the plan names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := refVerdict(tt.site)
			if tt.why == "" && got != "" || tt.why != "" && !strings.Contains(got, tt.why) {
				t.Errorf("refVerdict = %q, want %q: %s", got, tt.why, tt.reason)
			}
		})
	}
}

// A caller replaced for a changed signature is checked against the policy
// like any target, and the refusal says why an unchanged function is a
// target at all.
func TestSigCallerPolicy(t *testing.T) {
	pol, err := policy.Load(filepath.Join("testdata", "hotfix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Targets: []*Target{{Name: "example.com/app/shop.Price", Pos: "shop/shop.go:24", sigCallee: "example.com/app/greet.Hello"}}}
	p.check(nil, pol)
	if len(p.Refusals) != 1 || p.Refusals[0].Rule != "not allowed by policy" || !strings.Contains(p.Refusals[0].Detail, "calls greet.Hello, whose signature changed") {
		t.Fatalf("refusals = %v, want the policy's, naming greet.Hello", p.Refusals)
	}
}

// TestCallerFingerprintFacts records what xpkgcallers.go relies on, with
// a real host and real plugins. Package p's exported functions get a new
// variadic parameter; q calls them and is unchanged; each plugin holds
// p as the fix has it (its fingerprint adopted, adopt.go) and q compiled
// from the release's source against it:
//
//   - q's copy keeps the host's fingerprint: it is a hash of q's own
//     export data, which an imported package's changed export data does
//     not change; plugin.Open opens the plugin, and q's copy calls the new p;
//   - where the new p makes one of q's parameters escape (p.Keep now keeps
//     its argument), q's export data differs, and so its fingerprint:
//     plugin.Open refuses the plugin naming ex/q. So the callers' package
//     gets the escape check of any replaced function (escape.go).
func TestCallerFingerprintFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host and two plugins")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("plugins need cgo")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		writeFiles(t, dir, map[string]string{name: src})
	}
	const q = `package q

import "ex/p"

func Greet(s string) string { return p.Hello(s) + "!" }

func Use(n *int) int { return p.Keep(n) }
`
	const fixed = `package p

var sink *int

func Hello(name string, titles ...string) string { return "HELLO " + name }

func Keep(n *int, more ...int) int { return *n + len(more) }
`
	leaky := strings.Replace(fixed, "{ return *n + len(more) }", "{ sink = n; return *n }", 1)
	const plugin = `package main

import (
	"fmt"
	"ex/q"
)

func Run() {
	n := 1
	fmt.Println(q.Greet("x"), q.Use(&n))
}
`
	for _, tree := range []string{"host", "fix", "leak"} {
		write(tree+"/go.mod", "module ex\n\ngo 1.24\n")
		write(tree+"/q/q.go", q)
		write(tree+"/plug/main.go", plugin)
	}
	write("host/p/p.go", `package p

var sink *int

func Hello(name string) string { return "hello " + name }

func Keep(n *int) int { return *n }
`)
	write("fix/p/p.go", fixed)
	write("leak/p/p.go", leaky)
	write("host/main.go", `package main

import (
	"fmt"
	"os"
	"plugin"
	"ex/q"
)

func main() {
	n := 1
	fmt.Println(q.Greet("x"), q.Use(&n))
	pl, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	run, err := pl.Lookup("Run")
	if err != nil {
		panic(err)
	}
	run.(func())()
}
`)
	goBuild := func(sub string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append([]string{"build", "-trimpath", "-gcflags=ex/...=-l"}, args...)...)
		cmd.Dir = filepath.Join(dir, sub)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
	}
	host := filepath.Join(dir, "hostbin")
	goBuild("host", "-o", host, ".")
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tree, want, reason string
	}{
		{"fix", "hello x! 1\nHELLO x! 1\n", "q's copy, compiled against the new p, has the host's fingerprint, and calls the new p"},
		{"leak", "plugin was built with a different version of package ex/q", "q.Use's parameter escapes now: q's export data, and so its fingerprint, changed"},
	} {
		so := filepath.Join(dir, tt.tree+".so")
		goBuild(tt.tree, "-buildmode=plugin", "-o", so, "./plug")
		if err := adoptFingerprints(so, bin, []string{"ex/p"}); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(host, so).CombinedOutput()
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: host output %q, want %q: %s", tt.tree, out, tt.want, tt.reason)
		}
	}
}
