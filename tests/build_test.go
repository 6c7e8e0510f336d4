package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// buildRepo makes a git repository of the host app with testdata/build/base
// (and then each of extra, directories of testdata/build) over it,
// committed as the release, and builds the release with the flags
// `hotfix flags` gives for testdata/build/policy.yaml. It returns the
// repository and the host binary.
func buildRepo(t *testing.T, f *fixture, extra ...string) (src, host string) {
	t.Helper()
	return buildRepoWith(t, f, "policy.yaml", extra...)
}

// buildRepoWith is buildRepo with the module's hotfix.yaml copied from
// testdata/build/policy.
func buildRepoWith(t *testing.T, f *fixture, policy string, extra ...string) (src, host string) {
	t.Helper()
	root := t.TempDir()
	src = filepath.Join(root, "src")
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "hostapp"), src); err != nil {
		t.Fatal(err)
	}
	for _, dir := range append([]string{"base"}, extra...) {
		if err := copyTree(filepath.Join("testdata", "build", dir), src); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeGoMod(src, f.repo); err != nil {
		t.Fatalf("write go.mod: %v", err)
	}
	if err := copyFile(filepath.Join("testdata", "build", policy), filepath.Join(src, "hotfix.yaml")); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		if _, err := run(src, "git", append([]string{"-c", "user.name=test", "-c", "user.email=test@localhost"}, args...)...); err != nil {
			t.Fatalf("git: %v", err)
		}
	}
	git("init", "-q", ".")
	git("add", "-A")
	git("commit", "-qm", "release")
	out, err := runFlags(src, f.hotfix)
	if err != nil {
		t.Fatalf("hotfix flags: %v", err)
	}
	flags := strings.Fields(out)
	pol := readFile(filepath.Join("testdata", "build", policy))
	if off := strings.Contains(string(pol), "inlining: off"); off != strings.Contains(out, "-gcflags=example.com/hostapp=-l") || !off && strings.Contains(out, "-gcflags") {
		t.Fatalf("hotfix flags for %s = %q: want no -gcflags (full optimization, inlining: keep, the default), or -l on main's import path example.com/hostapp under inlining: off", policy, out)
	}
	host = filepath.Join(root, "host")
	if _, err := run(src, "go", append(append([]string{"build"}, flags...), "-o", host, ".")...); err != nil {
		t.Fatalf("build release: %v", err)
	}
	return src, host
}

// replacedOrHeld reports whether the plan (its words) replaces fn for
// reason, or notes that the release, built with full optimization, holds
// fn only inlined, and replaces the functions holding its copies.
func replacedOrHeld(words, fn, reason string) bool {
	return strings.Contains(words, fn+" "+reason) || strings.Contains(words, fn+": inlined everywhere in the release: nothing to redirect; the functions holding its copies are replaced")
}

// TestBuildFindsChangedFunctions: `hotfix build` with no -func, against a
// release built in a temporary directory from a git revision: the plan
// names the changed functions (a body four lines longer, collapsed; a
// function after it; a closure of main.main registered at start-up), and
// the patch changes the running process's answers.
func TestBuildFindsChangedFunctions(t *testing.T) {
	f := requireFixture(t)
	t0 := time.Now()
	src, host := buildRepo(t, f)
	t.Logf("release built in %v", time.Since(t0).Round(time.Millisecond))
	if err := copyTree(filepath.Join("testdata", "build", "fix"), src); err != nil {
		t.Fatal(err)
	}
	mainGo := filepath.Join(src, "main.go")
	m, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	const handler = `fmt.Fprint(w, greet.Hello(r.URL.Query().Get("name")))`
	if !strings.Contains(string(m), handler) {
		t.Fatalf("testdata/hostapp/main.go has no %s: update this test", handler)
	}
	// The handler calls a helper new in main: the patch's copy of main
	// carries it.
	fixed := strings.Replace(string(m), handler, `fmt.Fprint(w, tagged(greet.Hello(r.URL.Query().Get("name"))))`, 1) +
		"\n// tagged is new in the fix.\nfunc tagged(s string) string { return s + \" (\" + variant + \")\" }\n"
	if err := os.WriteFile(mainGo, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}

	t0 = time.Now()
	plan, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	t.Logf("dry run in %v:\n%s", time.Since(t0).Round(time.Millisecond), plan)
	outputHas(t, "plan", plan,
		"greet/greet.go:7 example.com/hostapp/greet.Hello body changed; new body 6 line(s) longer: collapsed into the release's 1 line(s)",
		"example.com/hostapp/greet.version: inlined everywhere in the release: nothing to redirect; the functions holding its copies are replaced or ran only at start-up: greet.Hello",
		"main.go:30 main.main closures changed",
		"main.go:43 main.main.func1 closure of main.main: body changed",
		"main.tagged: new package-level object: func tagged (in the patch's copy of main)",
	)
	if strings.Contains(plan, "refused") {
		t.Errorf("plan refuses something")
	}
	if matches, _ := filepath.Glob(filepath.Join(src, "*.so")); len(matches) > 0 {
		t.Errorf("-dry-run wrote %v", matches)
	}

	// The real build rebuilds the release from git to learn its build ID:
	// with -trimpath it must be the ID of the host built above.
	patch := filepath.Join(t.TempDir(), "fix.so")
	t0 = time.Now()
	out, err := run(src, f.hotfix, "build", "-version", "found", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v", err)
	}
	t.Logf("built in %v: %s", time.Since(t0).Round(time.Millisecond), out[strings.LastIndex(out, "\n")+1:])
	if _, err := run(src, f.hotfix, "verify", "-binary", host, patch); err != nil {
		t.Fatalf("verify: %v", err)
	}

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	h.waitGreet("v0")
	drop(t, dir, patch, "fix.so")
	for path, want := range map[string]string{"/greet?name=x": "hello x v1 (a)", "/greet?name=": "hello someone v1 (a)"} {
		deadline := time.Now().Add(20 * time.Second)
		got := ""
		for time.Now().Before(deadline) {
			if got = h.mustGet(path); got == want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got != want {
			t.Fatalf("GET %s = %q, want %q\nlogs:\n%s", path, got, want, h.logs)
		}
	}
	rec := h.waitRecord("patch applied", 1)
	t.Logf("applied: %v", rec)
	h.stop()
}

// TestBuildRefusesEveryReason: a fix that cannot be hot-patched is refused
// with every reason at once, each with file:line, exit status 1, and no
// patch written.
func TestBuildRefusesEveryReason(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepo(t, f)
	if err := copyTree(filepath.Join("testdata", "build", "refused"), src); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "fix.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-o", patch)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("hotfix build of an unpatchable fix: %v, want exit status 1\n%s", err, out)
	}
	outputHas(t, "output", out,
		// Carried: the package would be rebuilt, were it not refused.
		"greet/greet.go:6: example.com/hostapp/greet: import added: strings",
		"greet/greet.go:10: example.com/hostapp/greet.Version: new package-level object",
		// Main calls Hello from a closure, which the patch cannot replace.
		"greet/greet.go:13: example.com/hostapp/greet.Hello: signature changed: func(name string) string → func(name string, extra ...string) string: exported, and the release's example.com/hostapp refers to it at main.go:",
		"in a function literal of main.main: closures the release already made would keep calling the old one",
		// Carried when every caller is replaced; Hello is not.
		"greet/greet.go:18: example.com/hostapp/greet.version: signature changed: func() string → func(short bool) string: used by Hello, which the patch does not replace",
		"refused: 2 change(s) cannot be hot-patched",
	)
	if _, err := os.Stat(patch); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote %s (%v)", patch, err)
	}
	t.Logf("refusal:\n%s", out)
}

// TestBuildFixesLeaves: one-line fixes of leaf functions (no stack check,
// no call: a 6-byte CMPQ first, short first instructions), reached
// directly, through an interface (a value method behind its wrapper) and
// through a func value, built by `hotfix build` and applied while HTTP
// callers check every answer.
func TestBuildFixesLeaves(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepo(t, f)
	cov, err := run(src, f.hotfix, "verify", "-binary", host)
	if err != nil || !strings.Contains(cov, "example.com/hostapp/pricing") || strings.Contains(cov, "cannot be patched: example.com/hostapp/pricing") {
		t.Fatalf("coverage of the release: %v\n%s", err, cov)
	}
	t.Logf("coverage:\n%s", cov)
	if err := copyTree(filepath.Join("testdata", "build", "leaves"), src); err != nil {
		t.Fatal(err)
	}
	plan, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	words := strings.Join(strings.Fields(plan), " ")
	for _, fn := range []string{"pricing.FreeShipping", "pricing.LineTotal", "pricing.Cents.Euros", "pricing.roundDown"} {
		if !replacedOrHeld(words, fn, "body changed") {
			t.Errorf("plan lacks %s:\n%s", fn, plan)
		}
	}
	patch := filepath.Join(t.TempDir(), "leaves.so")
	if out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "leaves", "-o", patch); err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	// Each field answers with the old code or the new, whichever ran.
	const path = "/price?q=-2&c=250"
	fields := [][2]string{{"false", "false"}, {"-500", "0"}, {"2", "3"}, {"200", "250"}}
	if got := h.mustGet(path); got != "false -500 2 200" {
		t.Fatalf("release answers %q", got)
	}
	load := startFieldLoad(h, path, fields)
	drop(t, dir, patch, "leaves.so")
	h.waitRecord("patch applied", 1)
	deadline := time.Now().Add(10 * time.Second)
	got := ""
	for got != "false 0 3 250" && time.Now().Before(deadline) {
		got = h.mustGet(path)
	}
	time.Sleep(200 * time.Millisecond) // keep the callers going on the new code
	calls := load.finish(t)
	if got != "false 0 3 250" {
		t.Fatalf("after the patch: %q, want %q\nlogs:\n%s", got, "false 0 3 250", h.logs)
	}
	if got := h.mustGet("/price?q=3&c=10000"); got != "true 30000 100 10000" {
		t.Errorf("free shipping at exactly 100 euros: %q", got)
	}
	t.Logf("%d calls over HTTP while the leaves were patched, 0 wrong; %v", calls, h.records("patch applied"))
	h.stop()
}

// TestBuildWithHostToolchain: the hotfix command built by one supported Go
// release builds a patch for a host built by the other: `hotfix build
// -binary` runs the host's toolchain (GOTOOLCHAIN, fetched through the
// module proxy), and the running host takes the patch.
func TestBuildWithHostToolchain(t *testing.T) {
	f := requireFixture(t)
	other := "go1.27.3"
	if strings.HasPrefix(runtime.Version(), "go1.27") {
		other = "go1.26.8"
	}
	src, _ := buildRepo(t, f)
	flags, err := runFlags(src, f.hotfix)
	if err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(t.TempDir(), "host-"+other)
	build := exec.Command("go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...)
	build.Dir, build.Env = src, append(os.Environ(), "GOTOOLCHAIN="+other)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the release with %s: %v\n%s", other, err, out)
	}
	if err := copyTree(filepath.Join("testdata", "build", "fix"), src); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "fix.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "other-go", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build (%s) for a host built by %s: %v\n%s", runtime.Version(), other, err, out)
	}
	if !strings.Contains(out, "building with "+other) {
		t.Errorf("build log does not name the host's toolchain %s:\n%s", other, out)
	}
	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	h.waitGreet("v0")
	drop(t, dir, patch, "fix.so")
	h.waitGreet("v1")
	t.Logf("hotfix %s built a patch for a host of %s: %v", runtime.Version(), other, h.records("patch applied"))
	h.stop()
}

// TestBuildCarriesNewHelper: a fix that adds an unexported helper, which
// only the changed function calls, under either Go release: the package
// is rebuilt from the fix's files and takes the release's fingerprint
// (rebuild.go), the patch passes the build's self-check and plugin.Open,
// and the running process answers with the helper's result.
func TestBuildCarriesNewHelper(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepo(t, f)
	greet := filepath.Join(src, "greet", "greet.go")
	b := readFile(greet)
	const old = "func version() string {\n\treturn fmt.Sprint(\"v0\")\n}\n"
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q: update this test", greet, old)
	}
	fixed := strings.Replace(string(b), old, "func version() string {\n\treturn stamp(\"v1\")\n}\n\n// stamp is new in the fix.\nfunc stamp(v string) string {\n\treturn fmt.Sprint(v, \"+helper\")\n}\n", 1)
	if err := os.WriteFile(greet, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "helper.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "helper", "-o", patch)
	if err != nil || !strings.Contains(out, "greet.stamp: new package-level object: func stamp (the package is rebuilt") {
		t.Fatalf("hotfix build = %v, want the helper carried\n%s", err, out)
	}
	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	h.waitGreet("v0")
	drop(t, dir, patch, "helper.so")
	h.waitGreet("v1+helper")
	remove(t, dir, "helper.so")
	h.waitGreet("v0")
	h.stop()
}
