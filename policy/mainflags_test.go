package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildFlagsWithMain(t *testing.T) {
	const minimal = "patch_dir: p\nstate_dir: s\ninlining: off\n"
	tests := []struct {
		name   string
		yaml   string
		mains  []string
		want   []string
		reason string
	}{
		{
			name:   "main replaced",
			yaml:   minimal + "allow:\n  packages: [main, example.com/app/router]\n",
			mains:  []string{"example.com/app"},
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0", "-gcflags=example.com/app=-l", "-gcflags=example.com/app/router=-l"},
			reason: "the go command matches -gcflags patterns against import paths: main's is the module's",
		},
		{
			name:   "main by function",
			yaml:   minimal + "allow:\n  functions: [main.handler]\n",
			mains:  []string{"example.com/app/cmd/b", "example.com/app/cmd/a"},
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0", "-gcflags=example.com/app/cmd/a=-l", "-gcflags=example.com/app/cmd/b=-l"},
			reason: "every main package of the module, sorted: flags and build agree byte for byte",
		},
		{
			name:   "inlining kept (the default)",
			yaml:   "patch_dir: p\nstate_dir: s\nallow:\n  packages: [main, example.com/app/router]\n",
			mains:  []string{"example.com/app"},
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0"},
			reason: "inlining: keep: the allowed packages are no build input, a patch replaces the holders of an inlined target",
		},
		{
			name:   "no main",
			yaml:   minimal + "allow:\n  packages: [example.com/app/router]\n",
			mains:  []string{"example.com/app"},
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0", "-gcflags=example.com/app/router=-l"},
			reason: "main not allowed: BuildFlags as is",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.yaml), "hotfix.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.BuildFlagsWithMain(tt.mains...)); diff != "" {
				t.Errorf("BuildFlagsWithMain (-want +got), %s:\n%s", tt.reason, diff)
			}
		})
	}
}

// TestModuleBuildFlags: the main packages' import paths come from the
// go command, which lists every main package of the module.
func TestModuleBuildFlags(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/m\n\ngo 1.26\n",
		"cmd/a/main.go":   "package main\n\nfunc main() {}\n",
		"cmd/b/main.go":   "package main\n\nfunc main() {}\n",
		"lib/lib.go":      "package lib\n",
		"hotfix.yaml":     "patch_dir: p\nstate_dir: s\ninlining: off\nallow:\n  packages: [main]\n",
		"other/nomain.go": "package other\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(filepath.Join(dir, "hotfix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ModuleBuildFlags(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0", "-gcflags=example.com/m/cmd/a=-l", "-gcflags=example.com/m/cmd/b=-l"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ModuleBuildFlags (-want +got):\n%s", diff)
	}
	if _, err := p.ModuleBuildFlags(context.Background(), t.TempDir()); err == nil {
		t.Error("ModuleBuildFlags outside a module: no error")
	}
}
