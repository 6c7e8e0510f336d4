package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlainBuild: a service that imports hotfix builds, vets and tests
// with the go command's defaults, no flag at all (issue 23). The binary
// runs and serves; its agent says at start that it was not built for
// patching, and refuses a patch with that reason.
func TestPlainBuild(t *testing.T) {
	f := requireFixture(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "hostapp"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeGoMod(src, f.repo); err != nil {
		t.Fatal(err)
	}
	// A test of package main links it, hotfix included.
	test := "package main\n\nimport \"testing\"\n\nfunc TestLinks(t *testing.T) {}\n"
	if err := os.WriteFile(filepath.Join(src, "links_test.go"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "plain")
	for _, args := range [][]string{{"build", "-o", bin, "."}, {"vet", "./..."}, {"test", "-count=1", "./..."}} {
		if out, err := run(src, "go", args...); err != nil {
			t.Fatalf("go %s with no flags: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, bin, dir)
	start := h.waitRecord("this binary cannot take patches; every patch will be refused", 1)
	if reason := fmt.Sprint(start["reason"]); !strings.Contains(reason, "not built for patching") || !strings.Contains(reason, "hotfix flags") {
		t.Errorf("start-up says %q, want why and what to do", reason)
	}
	if got := h.mustGet("/greet?name=x"); got == "" {
		t.Fatal("the plain host does not serve")
	}
	drop(t, dir, f.patches["v1"], "v1.so")
	r := h.waitRecord("patch refused", 1)
	if reason := fmt.Sprint(r["reason"]); !strings.Contains(reason, "not built for patching") {
		t.Errorf("the patch is refused with %q, want the binary's reason", reason)
	}
	h.stop()
}

// TestRelativeReplace: a service that requires hotfix through a relative
// replace (replace github.com/gohotfix/hotfix => ../hotfix, the way one
// works from a clone) takes a patch that `hotfix build` made by rebuilding
// its release in a temporary worktree elsewhere.
func TestRelativeReplace(t *testing.T) {
	f := requireFixture(t)
	root := t.TempDir()
	if err := os.Symlink(f.repo, filepath.Join(root, "hotfix")); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "svc")
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "hostapp"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeGoMod(src, f.repo); err != nil {
		t.Fatal(err)
	}
	gomod := filepath.Join(src, "go.mod")
	if err := os.WriteFile(gomod, []byte(strings.Replace(string(readFile(gomod)), "=> "+f.repo, "=> ../hotfix", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(f.repo, "tests", "testdata", "policy.yaml"), filepath.Join(src, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		if out, err := run(src, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@localhost"}, args...)...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", ".")
	git("add", "-A")
	git("commit", "-qm", "release")
	flags, err := runFlags(src, f.hotfix, "-policy", "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(root, "host")
	if out, err := run(src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "patches", "v1"), src); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(root, "v1.so")
	// Without -binary: the release is rebuilt from the worktree, and its
	// build ID must be the one of the binary built here.
	if out, err := run(src, f.hotfix, "build", "-policy", "policy.yaml", "-version", "v1", "-o", patch, "-func", "example.com/hostapp/greet.Hello"); err != nil {
		t.Fatalf("hotfix build with a relative replace: %v\n%s", err, out)
	}
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, host, dir)
	drop(t, dir, patch, "v1.so")
	h.waitRecord("patch applied", 1)
	h.waitGreet("v1")
	h.stop()
}

// TestFuncNameErrors: a -func that names no function of the release says
// what it is closest to, or that the release has no such package, before
// anything is compiled (issue 23).
func TestFuncNameErrors(t *testing.T) {
	f := requireFixture(t)
	for fn, want := range map[string]string{
		"example.com/hostapp/greet.Helo": "-func example.com/hostapp/greet.Helo: not in the release binary: no function of that name; did you mean example.com/hostapp/greet.Hello?",
		"nosuch.Func":                    "-func nosuch.Func: not in the release binary: no package nosuch in it",
		"net/http.(*ServeMux).ServeHTTP": "-func net/http.(*ServeMux).ServeHTTP: a standard-library function: its fixed code is in a new Go release's root; build without -func, with -goroot DIR",
	} {
		out, err := run(f.src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-o", filepath.Join(t.TempDir(), "x.so"), "-func", fn)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("hotfix build -func %s: %v, want %q:\n%s", fn, err, want, out)
		}
	}
}

// TestFuncLineShift: under -func, a line added before the changed
// function moves the package's export data; the refusal says so, and what
// to do (issue 23).
func TestFuncLineShift(t *testing.T) {
	f := requireFixture(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	greet := filepath.Join(src, "greet", "greet.go")
	shifted := strings.Replace(string(readFile(greet)), "// Hello answers", "// A line the fix adds.\n\n// Hello answers", 1)
	shifted = strings.Replace(shifted, "v0", "v1", 1)
	if err := os.WriteFile(greet, []byte(shifted), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-o", filepath.Join(t.TempDir(), "x.so"), "-func", "example.com/hostapp/greet.Hello")
	if err == nil || !strings.Contains(out, "a line added or removed anywhere in such a package moves the positions its export data records") {
		t.Fatalf("hotfix build -func after a line shift: %v\n%s", err, out)
	}
}

// TestBuildWarnsUntrusted: a patch the policy's agent would refuse for its
// signature is built, with a warning that says so (issue 23).
func TestBuildWarnsUntrusted(t *testing.T) {
	f := requireFixture(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	pol := string(readFile(filepath.Join(src, "policy.yaml"))) + "trust:\n  require_signature: true\n  keys: [\"ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"]\n"
	if err := os.WriteFile(filepath.Join(src, "signed.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "patches", "v1"), src); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "signed.yaml", "-o", filepath.Join(t.TempDir(), "x.so"), "-func", "example.com/hostapp/greet.Hello")
	if err != nil || !strings.Contains(out, "warning: an agent under signed.yaml will refuse this patch: policy: untrusted: patch is unsigned and trust.require_signature is true") {
		t.Fatalf("hotfix build of an unsigned patch under a policy that requires signatures: %v\n%s", err, out)
	}
}
