package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/loader"
)

// TestGcflagsEarlierPattern: a release built without one of the policy's
// -gcflags patterns, not the last one (greet's: the policy's flags are
// sorted, guard's is last), has the same build settings as the patch
// built with all of them, because the build information keeps only the
// last -gcflags (loader's TestGcflagsFacts). The difference must not pass,
// and the facts the binary holds refuse it: without -l, Hello was inlined
// into its callers (the release's inline tables), and greet's export data
// carries Hello's body, so its fingerprint differs from the patch's.
func TestGcflagsEarlierPattern(t *testing.T) {
	f := requireFixture(t)
	flags, err := f.flags("policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const greetL = "-gcflags=example.com/hostapp/greet=-l"
	var hostFlags []string
	for _, fl := range flags {
		if fl != greetL {
			hostFlags = append(hostFlags, fl)
		}
	}
	if len(hostFlags) != len(flags)-1 || flags[len(flags)-1] == greetL {
		t.Fatalf("hotfix flags %q: want %s among them, not last", flags, greetL)
	}
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	gitRelease(t, src)
	host := filepath.Join(t.TempDir(), "host")
	mustRun(t, src, "go", append(append([]string{"build"}, hostFlags...), "-o", host, ".")...)
	if got, want := gcflagsSetting(t, host), gcflagsSetting(t, f.host); got != want {
		t.Fatalf("the release built without %s records -gcflags=%q, the policy's build %q: the case tests nothing", greetL, got, want)
	}

	if err := copyTree(filepath.Join("testdata", "patches", "v1"), src); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		want   string
		reason string
	}{
		{"changed", nil, "example.com/hostapp/greet.Hello: inlined in the release",
			"the plan reads the release's inline tables: without -l, Hello was inlined into main"},
		{"func", []string{"-func", "example.com/hostapp/greet.Hello"}, "-func example.com/hostapp/greet.Hello: not in the release binary",
			"-func skips the plan, and Hello was inlined everywhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch := filepath.Join(t.TempDir(), "v1.so")
			out, err := run(src, f.hotfix, append([]string{"build", "-binary", host, "-policy", "policy.yaml", "-o", patch}, tt.args...)...)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("hotfix build %s for the release built without %s: %v, want %q: %s", strings.Join(tt.args, " "), greetL, err, tt.want, tt.reason)
			}
			if _, err := os.Stat(patch); !os.IsNotExist(err) {
				t.Errorf("a refused build wrote %s: %v", patch, err)
			}
		})
	}
}

// TestGcflagsEarlierExtra: the other way round, the case of issue 26's
// item 6: a release built with -gcflags=fmt=-l before the policy's flags
// records the policy's last -gcflags, as the patch built with the policy's
// flags only does. fmt, which the patch of greet.Hello links, has
// inlinable functions: its fingerprint differs, and the self-check of
// `hotfix build` names it, and says that the release's flags for it
// differ (fmt is the release's own source).
func TestGcflagsEarlierExtra(t *testing.T) {
	f := requireFixture(t)
	flags, err := f.flags("policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(t.TempDir(), "host")
	t0 := time.Now()
	mustRun(t, src, "go", append(append([]string{"build", "-gcflags=fmt=-l"}, flags...), "-o", host, ".")...)
	t.Logf("the release with -gcflags=fmt=-l first: built in %s", time.Since(t0).Round(time.Millisecond))
	if got, want := gcflagsSetting(t, host), gcflagsSetting(t, f.host); got != want {
		t.Fatalf("the release built with -gcflags=fmt=-l first records -gcflags=%q, the policy's build %q: the case tests nothing", got, want)
	}
	gitRelease(t, src) // the release: the tree without the fix
	if err := copyTree(filepath.Join("testdata", "patches", "v1"), src); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-func", "example.com/hostapp/greet.Hello"}, nil} {
		patch := filepath.Join(t.TempDir(), "v1.so")
		out, err := run(src, f.hotfix, append([]string{"build", "-binary", host, "-policy", "policy.yaml", "-o", patch}, args...)...)
		t.Logf("hotfix build %s:\n%s", strings.Join(args, " "), out)
		for _, want := range []string{
			"package fmt in the patch differs from this binary's",
			"fmt is compiled from the release's own source, and this build gave it no -gcflags",
		} {
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("hotfix build %s for the release built with -gcflags=fmt=-l: %v, want %q", strings.Join(args, " "), err, want)
			}
		}
		if strings.Contains(out, "Keep the line count") {
			t.Errorf("the refusal blames the working tree's lines, which -func compiles, for a package it does not:\n%s", out)
		}
		if _, err := os.Stat(patch); !os.IsNotExist(err) {
			t.Errorf("a refused build wrote %s: %v", patch, err)
		}
	}
}

// gcflagsSetting is the -gcflags the binary's build information records.
func gcflagsSetting(t *testing.T, bin string) string {
	t.Helper()
	b, err := loader.ReadBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range b.BuildInfo().Settings {
		if s.Key == "-gcflags" {
			return s.Value
		}
	}
	return ""
}
