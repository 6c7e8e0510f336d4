package patchbuild

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestFlagsHint: a fingerprint refusal of a package the patch compiled
// from the release's own source is explained by the flags (issue 26, item
// 6: the build information shows only the last -gcflags), saying what
// this build gave the package; a package the patch changed, or another
// refusal, keeps its callers' hints.
func TestFlagsHint(t *testing.T) {
	flags := []string{"-trimpath", "-tags=hotfix", "-gcflags=example.com/app/greet=-l", "-gcflags=example.com/app/guard=-l"}
	pkgErr := func(pkg string) error {
		return fmt.Errorf("self-check against host: %w", &loader.PackageError{Package: pkg})
	}
	changed := func(pkg string) bool { return pkg == "example.com/app/greet" }
	tests := []struct {
		name   string
		err    error
		want   string // "" for no hint
		reason string
	}{
		{"std", pkgErr("fmt"), "fmt is compiled from the release's own source, and this build gave it no -gcflags (this build's -gcflags: -gcflags=example.com/app/greet=-l -gcflags=example.com/app/guard=-l)",
			"a release built with -gcflags=fmt=-l before the policy's flags: the settings agree, fmt's export data does not"},
		{"module", pkgErr("example.com/app/guard"), "this build gave it -gcflags=-l", "a package of the module the patch did not change: its -l is named"},
		{"changed", pkgErr("example.com/app/greet"), "", "a package the patch changed: its source is the likely cause (diagnose, or -func's line count)"},
		{"other", fmt.Errorf("%w: patch built for binary x", loader.ErrIncompatible), "", "not a fingerprint"},
		{"nil", nil, "", "no error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := flagsHint(tt.err, flags, changed)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("flagsHint(%v) = %q, want %q: %s", tt.err, got, tt.want, tt.reason)
			}
		})
	}
	if err := pkgErr("fmt"); !errors.Is(err, loader.ErrIncompatible) {
		t.Errorf("a PackageError is not ErrIncompatible: %v", err)
	}
}

func TestPlanCompiles(t *testing.T) {
	p := &Plan{Main: "example.com/app", pkgs: []string{"example.com/app/greet"}, rebuilt: []*rebuiltPkg{{path: "example.com/app/words"}},
		generics: []*genericFunc{{pkg: "example.com/app/gen"}}}
	for pkg, want := range map[string]bool{"example.com/app/greet": true, "example.com/app/words": true, "example.com/app/gen": true,
		"example.com/app": false, "fmt": false, "example.com/app/guard": false} {
		if got := p.compiles(pkg); got != want {
			t.Errorf("compiles(%s) = %v, want %v", pkg, got, want)
		}
	}
	p.mainPkg = &mainPatch{}
	if !p.compiles("example.com/app") {
		t.Errorf("compiles(main) with main's functions changed = false")
	}
}
