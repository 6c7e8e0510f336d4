package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuildFixesGenerics: `hotfix build` ships a fix to a generic function
// instantiated with two shapes (stats.SumOf, int and string) and to a
// method of a generic type (stats.(*Ring[T]).Last): the plan names every
// shape function of the release, the dictionaries are compared, and the
// running host takes the patch under HTTP load from several goroutines
// with no wrong answer, then gives it back when the file is removed.
func TestBuildFixesGenerics(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "offpolicy.yaml") // generic shapes inlined into callers are refused under inlining: keep
	if err := copyTree(filepath.Join("testdata", "build", "generic"), src); err != nil {
		t.Fatal(err)
	}
	refusesLeakyGeneric(t, f, src, host)
	patch := filepath.Join(t.TempDir(), "generic.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "generic", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	outputHas(t, "build output", out,
		"escape analysis: 3 shape function(s) of 2 changed generic function(s) compared with the release's",
		"stats.SumOf[go.shape.int] generic body changed",
		"stats.SumOf[go.shape.string] generic body changed",
		"stats.(*Ring[go.shape.int]).Last generic body changed",
		"dictionary: stats.SumOf: the new body's",
	)
	t.Logf("hotfix build:\n%s", out)

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	const path = "/stats?xs=1,2,3"
	const before, after = "5 23 1", "6 123 3"
	if got := h.mustGet(path); got != before {
		t.Fatalf("release answers %q, want %q", got, before)
	}
	// Each field answers with the old code or the new, whichever ran.
	fields := [][2]string{{"5", "6"}, {"23", "123"}, {"1", "3"}}
	load := startFieldLoad(h, path, fields)
	drop(t, dir, patch, "generic.so")
	h.waitRecord("patch applied", 1)
	waitAnswer(t, h, path, after)
	time.Sleep(200 * time.Millisecond) // keep the callers going on the new code
	remove(t, dir, "generic.so")
	waitAnswer(t, h, path, before)
	time.Sleep(200 * time.Millisecond)
	t.Logf("%d calls over HTTP while the generic code was patched and reverted, 0 wrong", load.finish(t))
	h.stop()
}

// refusesLeakyGeneric: a new generic body whose parameter escapes where
// the release's did not is refused before the plugin is built, naming the
// shape function: the release's callers of it, compiled for the old
// escape analysis, may keep the slice's array on their stack.
func refusesLeakyGeneric(t *testing.T, f *fixture, src, host string) {
	t.Helper()
	out, err := buildEdited(t, f, src, host, filepath.Join(src, "stats", "stats.go"),
		"\tvar s T\n", "\tvar s T\n\tif len(xs) > 1<<40 {\n\t\tpanic(xs)\n\t}\n", "")
	const want = "stats.SumOf: escape analysis changed: shape function SumOf[go.shape.int]: parameter xs flows to {heap} with 0 dereferences in the new body, and not so in the release's (it does not escape)"
	if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Fatalf("a generic body whose parameter escapes: %v, want %q\n%s", err, want, out)
	}
}

// waitAnswer waits up to 10s for the host to answer want at path.
func waitAnswer(t *testing.T, h *hostProc, path, want string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(10 * time.Second); got != want && time.Now().Before(deadline); {
		got = h.mustGet(path)
	}
	if got != want {
		t.Fatalf("%s answers %q, want %q\nlogs:\n%s", path, got, want, h.logs.String())
	}
}

// TestBuildRefusesGenericDictionary: a new body of a generic function that
// needs a type the release's dictionaries do not hold (a map[T]bool) is
// refused, naming the dictionary, the word and both entries; no file is
// written.
func TestBuildRefusesGenericDictionary(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "offpolicy.yaml") // generic shapes inlined into callers are refused under inlining: keep
	if err := copyTree(filepath.Join("testdata", "build", "genericdict"), src); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "dict.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-o", patch)
	words := strings.Join(strings.Fields(out), " ")
	if err == nil || !strings.Contains(words, "stats.SumOf: dictionary changed: word") || !strings.Contains(words, "map[T]bool") {
		t.Fatalf("hotfix build = %v, want the dictionary change refused naming map[T]bool\n%s", err, out)
	}
	if _, err := os.Stat(patch); err == nil {
		t.Errorf("a refused build wrote %s", patch)
	}
	t.Logf("refused:\n%s", out)
}

// TestBuildRefusesInlinedGeneric: generic code is compiled, and may be
// inlined, in every package that instantiates it, with that package's
// flags. In this release package guard, built without -l, inlines
// stats.SumOf[go.shape.int] (a shape package main also has out of line)
// and stats.(*Ring[go.shape.float64]).Last (a shape only guard has,
// nowhere out of line). A fix of both is refused, naming each inlining
// site, instead of redirecting the copies a jump reaches and leaving the
// inlined ones on the old code.
func TestBuildRefusesInlinedGeneric(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "offpolicy.yaml", "geninline")
	if err := copyTree(filepath.Join("testdata", "build", "generic"), src); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host)
	outputHas(t, "plan", out,
		"example.com/hostapp/stats.SumOf[go.shape.int]: inlined in the release: inlined into example.com/hostapp/guard.Total at example.com/hostapp/guard/generic.go:11",
		"example.com/hostapp/stats.(*Ring[go.shape.float64]).Last: inlined in the release: inlined into example.com/hostapp/guard.Newest at example.com/hostapp/guard/generic.go:15",
	)
	if err == nil || t.Failed() {
		t.Fatalf("hotfix build -dry-run = %v\n%s", err, out)
	}
}

// TestBuildReplacesInlinedGenerics: on a host built with the compiler's
// full optimization (inlining: keep), the fix of generic/ ships although
// the release holds stats.SumOf and stats.(*Ring[T]).Last only inlined:
// into stats.Join (the generic's own package), into guard.Total (another
// package, kept out of line by a func value), and into main's handlers,
// through guard's functions inlined there in turn. Each holder is
// replaced, compiled against the new generic body; stats and guard, whose
// export data holds it, take the release's fingerprints. A policy that
// does not allow guard is refused naming guard.Total, the site and the
// policy line. Live over HTTP under load, reverted and re-applied; then
// the same fix with a new function in stats, which rebuilds the package
// from the fix's files (refused on hosts built under inlining: off).
func TestBuildReplacesInlinedGenerics(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "policy.yaml", "geninline", "genkeep")
	if err := copyTree(filepath.Join("testdata", "build", "generic"), src); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host)
	words := strings.Join(strings.Fields(out), " ")
	if err == nil || !strings.Contains(words, "guard.Total: not allowed by policy") ||
		!strings.Contains(words, "holds a copy of stats.SumOf that the release's compiler inlined at example.com/hostapp/guard/generic.go:11") ||
		!strings.Contains(words, "allow.packages: [example.com/hostapp/guard]") {
		t.Fatalf("hotfix build under a policy without guard = %v, want guard.Total refused naming the site and the policy line\n%s", err, out)
	}
	if err := copyFile(filepath.Join("testdata", "build", "genkeep.yaml"), filepath.Join(src, "genkeep.yaml")); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "genkeep.so")
	out, err = run(src, f.hotfix, "build", "-binary", host, "-policy", "genkeep.yaml", "-version", "genkeep", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	outputHas(t, "plan", out,
		"example.com/hostapp/stats.Join holds an inlined copy of stats.SumOf (at example.com/hostapp/stats/stats.go:28)",
		"example.com/hostapp/guard.Total holds an inlined copy of stats.SumOf (at example.com/hostapp/guard/generic.go:11)",
		"holds an inlined copy of stats.(*Ring).Last (at example.com/hostapp/zz_stats.go:23)",
		"holds an inlined copy of stats.(*Ring).Last (at example.com/hostapp/zz_geninline.go:15)",
	)
	if t.Failed() {
		t.Fatalf("hotfix build:\n%s", out)
	}
	dir := newWorkDir(t, filepath.Join("build", "genkeep.yaml"))
	h := startHost(t, host, dir, "GOGC=10")
	answers := map[string][2]string{"/stats?xs=1,2,3": {"5 23 1", "6 123 3"}, "/geninline": {"2 1", "3 2"}, "/genkeep": {"5", "9"}}
	for path, a := range answers {
		if got := h.mustGet(path); got != a[0] {
			t.Fatalf("release: %s = %q, want %q", path, got, a[0])
		}
	}
	load := startFieldLoad(h, "/stats?xs=1,2,3", [][2]string{{"5", "6"}, {"23", "123"}, {"1", "3"}})
	for round, version := range []int{1, 0, 1} {
		if version == 1 {
			drop(t, dir, patch, "genkeep.so")
		} else {
			remove(t, dir, "genkeep.so")
		}
		for path, a := range answers {
			h.waitAnswer(path, a[version])
		}
		t.Logf("round %d: every holder answers with version %d", round, version)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d calls over HTTP with GOGC=10 while the inlined generic code was patched, reverted and patched again, 0 wrong", load.finish(t))
	remove(t, dir, "genkeep.so")
	h.waitAnswer("/genkeep", "5")

	// The same fix with a new function in stats, which Join calls: the
	// package is rebuilt from the fix's files, its generic bodies with it.
	statsGo := filepath.Join(src, "stats", "stats.go")
	code, err := os.ReadFile(statsGo)
	if err != nil {
		t.Fatal(err)
	}
	withShout := strings.Replace(string(code), "return strings.ToUpper(SumOf(words))", "return shout(SumOf(words))", 1) +
		"\n// shout is new in this fix.\nfunc shout(s string) string { return strings.ToUpper(s) + \"!\" }\n"
	if !strings.Contains(withShout, "return shout(") {
		t.Fatalf("%s: no call of strings.ToUpper in Join to change", statsGo)
	}
	if err := os.WriteFile(statsGo, []byte(withShout), 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt := filepath.Join(t.TempDir(), "genrebuilt.so")
	out, err = run(src, f.hotfix, "build", "-binary", host, "-policy", "genkeep.yaml", "-version", "genrebuilt", "-o", rebuilt)
	if err != nil || !strings.Contains(out, "stats.shout: new package-level object") {
		t.Fatalf("hotfix build with a new function beside the generic fix: %v\n%s", err, out)
	}
	drop(t, dir, rebuilt, "genrebuilt.so")
	h.waitAnswer("/stats?xs=1,2,3", "6 123! 3")
	h.waitAnswer("/geninline", "3 2")
	h.waitAnswer("/genkeep", "9")
	remove(t, dir, "genrebuilt.so")
	h.waitAnswer("/stats?xs=1,2,3", "5 23 1")
	h.stop()
}
