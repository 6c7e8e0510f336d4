package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoopRefused: `hotfix build` refuses a target whose new machine code
// is the release's, naming it (issue 26, item 4): a -func target the
// working tree does not change, and a change the compiler optimizes away
// (found by comparing the release in git with the tree). The real v1 fix
// of the same function still builds, and the build says it compared.
func TestNoopRefused(t *testing.T) {
	f := requireFixture(t)
	const refusal = "example.com/hostapp/greet.Hello: no-op: its new machine code is the release's"
	t.Run("func on an unchanged tree", func(t *testing.T) {
		patch := filepath.Join(t.TempDir(), "noop.so")
		out, err := run(f.src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-o", patch, "-func", "example.com/hostapp/greet.Hello")
		if err == nil || !strings.Contains(out, refusal+" (the working tree does not change it: name the functions the fix changes)") {
			t.Fatalf("hotfix build -func of an unchanged function: %v, want %q:\n%s", err, refusal, out)
		}
		if _, err := os.Stat(patch); !os.IsNotExist(err) {
			t.Errorf("a refused build wrote %s: %v", patch, err)
		}
	})
	t.Run("the v1 fix", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src")
		if err := copyTree(f.src, src); err != nil {
			t.Fatal(err)
		}
		if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "patches", "v1"), src); err != nil {
			t.Fatal(err)
		}
		out, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-o", filepath.Join(t.TempDir(), "v1.so"), "-func", "example.com/hostapp/greet.Hello")
		if err != nil || !strings.Contains(out, "compared with the release's code") || !strings.Contains(out, "1 of 1 target(s) changed") {
			t.Fatalf("hotfix build of the v1 fix: %v, want it built and compared:\n%s", err, out)
		}
	})
	t.Run("change optimized away", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src")
		if err := copyTree(f.src, src); err != nil {
			t.Fatal(err)
		}
		gitRelease(t, src)
		greet := filepath.Join(src, "greet", "greet.go")
		body := `return fmt.Sprintf("hello %s v0", name)`
		changed := strings.Replace(string(readFile(greet)), body, "who := name\n\t"+strings.Replace(body, "name)", "who)", 1), 1)
		if changed == string(readFile(greet)) {
			t.Fatalf("%s has no %q", greet, body)
		}
		if err := os.WriteFile(greet, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-o", filepath.Join(t.TempDir(), "noop.so"))
		if err == nil || !strings.Contains(out, "body changed") || !strings.Contains(out, refusal+" (its change compiles to the release's code") {
			t.Fatalf("hotfix build of a change the compiler optimizes away: %v, want the plan to replace Hello and the build to refuse it:\n%s", err, out)
		}
	})
}
