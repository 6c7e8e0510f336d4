package loader

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

const gcflagsPkg = "example.com/gcflags/"

// buildGcflags builds testdata/gcflags with one -gcflags=PKG=-l per
// package named, in that order, and reads the binary.
func buildGcflags(t *testing.T, noInline ...string) *Binary {
	t.Helper()
	if testing.Short() {
		t.Skip("builds programs")
	}
	exe := filepath.Join(t.TempDir(), "gcflags")
	args := []string{"build", "-trimpath", "-ldflags=-checklinkname=0"}
	for _, p := range noInline {
		args = append(args, "-gcflags="+gcflagsPkg+p+"=-l")
	}
	cmd := exec.Command("go", append(args, "-o", exe, ".")...)
	cmd.Dir = filepath.Join("testdata", "gcflags")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/gcflags with -l on %v: %v\n%s", noInline, err, out)
	}
	bin, err := ReadBinary(exe)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestGcflagsFacts pins what a build records of its -gcflags, and what
// the checks of MatchBuild see of a difference in them (issue 26, item
// 6), on the toolchain in use:
//
//   - The build information keeps only the last -gcflags
//     (cmd/go/internal/load: the "-gcflags" setting is the flag's raw
//     value, which each -gcflags replaces): a build with -l on a and b and
//     one with -l on b only record the same setting, and compatible
//     passes them.
//   - The linker's fingerprint of a package is the hash of its export
//     data, which holds the bodies of its inlinable functions and the
//     escape analysis of its functions, everything other packages are
//     compiled against. -l on a package with an inlinable function
//     removes the bodies: its fingerprint changes, and samePackages names
//     it.
//   - -l on a package with nothing inlinable (d) leaves its export data,
//     and its fingerprint, as they are: only d's own code changes (a.Small
//     is no longer inlined into d.Mix, as its inline tables show), and no
//     other compiled code depends on that. A patch built without it
//     replaces functions whose callers see the same facts as the host's.
func TestGcflagsFacts(t *testing.T) {
	ab, b, db := buildGcflags(t, "a", "b"), buildGcflags(t, "b"), buildGcflags(t, "d", "b")
	want := gcflagsPkg + "b=-l"
	for name, bin := range map[string]*Binary{"a=-l b=-l": ab, "b=-l": b, "d=-l b=-l": db} {
		if got := settings(bin.BuildInfo())["-gcflags"]; got != want {
			t.Errorf("built with -l on %s: the build information's -gcflags is %q, want only the last, %q", name, got, want)
		}
	}
	if err := compatible(b.BuildInfo(), ab.BuildInfo()); err != nil {
		t.Errorf("the build settings of builds that differ in an earlier -gcflags differ: %v (the fact changed: compatible could then see every pattern)", err)
	}
	err := samePackages(b.img.pkgHash, ab.img.pkgHash)
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "package "+gcflagsPkg+"a ") {
		t.Errorf("a built without the host's -l on a (which has an inlinable function): samePackages = %v, want package a named", err)
	}
	if err := samePackages(b.img.pkgHash, db.img.pkgHash); err != nil {
		t.Errorf("-l on d, which has no inlinable function, changed a fingerprint: %v", err)
	}
	if callers := inlinedInto(t, b, gcflagsPkg+"a.Small", gcflagsPkg+"d."); len(callers) == 0 {
		t.Errorf("without -l on d, a.Small is not inlined into d: the case above proves nothing")
	}
	if callers := inlinedInto(t, db, gcflagsPkg+"a.Small", gcflagsPkg+"d."); len(callers) != 0 {
		t.Errorf("with -l on d, a.Small is inlined into %v", callers)
	}
}

// inlinedInto returns the functions with the prefix into which bin's
// compiler inlined fn.
func inlinedInto(t *testing.T, bin *Binary, fn, prefix string) []string {
	t.Helper()
	sites, err := bin.Inlined(fn)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sites {
		if strings.HasPrefix(s.Caller, prefix) {
			out = append(out, s.Caller)
		}
	}
	return out
}

// TestGcflagsChecked is the decision MatchBuild makes of two builds'
// flags, from what each binary records (build settings, then package
// fingerprints; the build ID check between them is left out): the
// "-gcflags" setting is compared as it is, and the earlier patterns are
// judged by the fingerprints of the packages both link.
func TestGcflagsChecked(t *testing.T) {
	info := func(gcflags string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/app"},
			Settings: []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "-gcflags", Value: gcflags}}}
	}
	host := map[string]string{"example.com/app/a": "aaaa", "example.com/app/b": "bbbb", "fmt": "ffff"}
	tests := []struct {
		name        string
		patchFlags  string
		patchHashes map[string]string
		want        string // in the refusal; "" passes
		reason      string
	}{
		{"same", "example.com/app/b=-l", host, "", "the same flags: the same settings and fingerprints"},
		{"earlier-pattern", "example.com/app/b=-l", map[string]string{"example.com/app/a": "a-no-l", "example.com/app/b": "bbbb", "fmt": "ffff"},
			"package example.com/app/a in the patch differs", "the host had -l on a too, which its build information does not show: a's export data, and fingerprint, differ"},
		{"earlier-pattern-no-inline-body", "example.com/app/b=-l", host, "",
			"an earlier -l on a package with nothing inlinable changes no export data: what other code was compiled against is the host's"},
		{"earlier-pattern-not-linked", "example.com/app/b=-l", map[string]string{"example.com/app/b": "bbbb", "fmt": "ffff"}, "",
			"the patch does not link a: how the host compiled it changes nothing the patch compiled"},
		{"last-pattern", "example.com/app/c=-l", host, "-gcflags=example.com/app/c=-l", "a difference in the last -gcflags is named by the build settings, before the fingerprints"},
		{"other-flag", "example.com/app/b=-l -B", host, "-gcflags=example.com/app/b=-l -B", "a flag that changes no export data (-B) is caught only when it is in the last -gcflags: hotfix's builds never use one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compatible(info(tt.patchFlags), info("example.com/app/b=-l"))
			if err == nil {
				err = samePackages(tt.patchHashes, host)
			}
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("patch built with -gcflags=%s: %v, want %q: %s", tt.patchFlags, err, tt.want, tt.reason)
			}
		})
	}
}
