package tests

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/patchbuild"
	"github.com/gohotfix/hotfix/policy"
)

// TestInlinedTargetRefused: a function that the release's compiler
// inlined into a caller the patch leaves alone is refused, naming the
// caller and the call's file:line, by the plan of `hotfix build` and by
// the admission pipeline (the agent's and `hotfix verify`'s) that its
// self-check runs on the patch it built. The release was built for
// policy.yaml, which does not allow package guard, so guard was compiled
// without -l and guard.Level was inlined into guard.Strict
// (testdata/build/base/guard/strict.go); the policy now allows
// guard.Level, which would need a new release built with its flags.
func TestInlinedTargetRefused(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "offpolicy.yaml") // a host built with -l on the allowed packages
	hostFlags, err := runFlags(src, f.hotfix)
	if err != nil {
		t.Fatalf("hotfix flags: %v", err)
	}
	pol, err := os.ReadFile(filepath.Join(src, "hotfix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wider := strings.Replace(string(pol), "deny:", "  functions: [example.com/hostapp/guard.Level]\ndeny:", 1)
	if err := os.WriteFile(filepath.Join(src, "wider.yaml"), []byte(wider), 0o644); err != nil {
		t.Fatal(err)
	}
	strict := filepath.Join(src, "guard", "strict.go")
	b, err := os.ReadFile(strict)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strict, []byte(strings.Replace(string(b), "len(token) % 3", "len(token) % 5", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	const site = "example.com/hostapp/guard.Level was inlined into example.com/hostapp/guard.Strict at example.com/hostapp/guard/strict.go:10"

	out, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host, "-policy", "wider.yaml")
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("hotfix build -dry-run: %v, want exit status 1\n%s", err, out)
	}
	want := "guard/strict.go:6: example.com/hostapp/guard.Level: inlined in the release: " + strings.TrimPrefix(site, "example.com/hostapp/guard.Level was ")
	if !strings.Contains(out, want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}
	t.Logf("plan:\n%s", out)

	// A patch of guard.Level built with the release's flags, as only the
	// library can be asked to, and Level's body as released (a changed
	// inlinable body changes guard's export data, and its fingerprint,
	// which the build step refuses first): the self-check refuses it at
	// the inlined step.
	if err := os.WriteFile(strict, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join(src, "wider.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = patchbuild.Build(context.Background(), patchbuild.Options{
		Dir: src, Binary: host, Funcs: []string{"example.com/hostapp/guard.Level"}, Policy: p,
		Flags: strings.Fields(hostFlags), Out: filepath.Join(t.TempDir(), "fix.so"), Log: testWriter{t},
	})
	var r *admit.Refusal
	if !errors.As(err, &r) || r.Step != admit.StepInlined || !errors.Is(err, admit.ErrInlined) || !strings.Contains(err.Error(), site) {
		t.Fatalf("build with the release's flags: %v, want a refusal at step %q naming %q", err, admit.StepInlined, site)
	}
	t.Logf("refusal: %v", err)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
