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
