package patchbuild

import (
	"errors"
	"strings"
	"testing"
)

func TestRemovedInUse(t *testing.T) {
	plan := &Plan{
		Notes: []Finding{
			{Pos: "internal/plugin/loader.go:164", Object: "helm.sh/helm/v4/internal/plugin.LoadAll", Rule: "package-level object removed"},
			{Pos: "y.go:3", Object: "gopkg.in/yaml.v3.Old", Rule: "package-level variable removed"},
			{Pos: "a.go:1", Object: "helm.sh/helm/v4/internal/plugin.New", Rule: "new package-level object"},
		},
		pkgs: []string{"helm.sh/helm/v4/internal/plugin", "example.com/app/fixed"},
	}
	build := errors.New(`go build -buildmode=plugin ...: exit status 1
# helm.sh/helm/v4/pkg/cmd
third_party/helm.sh/helm/v4/pkg/cmd/plugin_uninstall.go:65:25: undefined: plugin.LoadAll
third_party/helm.sh/helm/v4/pkg/cmd/plugin_update.go:65:25: undefined: plugin.New
# example.com/app/cfg
cfg/cfg.go:9:2: undefined: yaml.Old
# example.com/app/fixed
fixed/f.go:3:2: undefined: plugin.LoadAll`)
	err := removedInUse(build, plan)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("removedInUse = %v, want a refusal", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"plugin_uninstall.go:65:25: helm.sh/helm/v4/internal/plugin.LoadAll: package-level object removed, but helm.sh/helm/v4/pkg/cmd, which the patch compiles from the release's own source, uses it: keep LoadAll in the fix",
		"cfg/cfg.go:9:2: gopkg.in/yaml.v3.Old: package-level object removed, but example.com/app/cfg",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q:\n%s", want, msg)
		}
	}
	// A new object undefined is not a removal; a package the patch
	// compiles from the fix is the fix's own error.
	if n := strings.Count(msg, "\n") + 1; n != 2 {
		t.Errorf("%d refusals, want 2:\n%s", n, msg)
	}
	if err := removedInUse(errors.New("# example.com/app/cfg\ncfg/cfg.go:9:2: undefined: yaml.Other"), plan); err != nil {
		t.Errorf("an unrelated compile error: %v", err)
	}
	if err := removedInUse(nil, plan); err != nil {
		t.Errorf("no error: %v", err)
	}
}

func TestPkgName(t *testing.T) {
	for path, want := range map[string]string{
		"helm.sh/helm/v4/internal/plugin": "plugin",
		"gopkg.in/yaml.v3":                "yaml",
		"github.com/x/y/v2":               "y",
		"fmt":                             "fmt",
		"example.com/v2x":                 "v2x",
	} {
		if got := pkgName(path); got != want {
			t.Errorf("pkgName(%q) = %q, want %q", path, got, want)
		}
	}
}
