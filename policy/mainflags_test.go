package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildFlagsWithMain(t *testing.T) {
	const minimal = "patch_dir: p\nstate_dir: s\n"
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
			want:   []string{"-trimpath", "-ldflags=-checklinkname=0", "-gcflags=example.com/app=-l", "-gcflags=example.com/app/router=-l"},
			reason: "the go command matches -gcflags patterns against import paths: main's is the module's",
		},
		{
			name:   "main by function",
			yaml:   minimal + "allow:\n  functions: [main.handler]\n",
			mains:  []string{"example.com/app/cmd/b", "example.com/app/cmd/a"},
			want:   []string{"-trimpath", "-ldflags=-checklinkname=0", "-gcflags=example.com/app/cmd/a=-l", "-gcflags=example.com/app/cmd/b=-l"},
			reason: "every main package of the module, sorted: flags and build agree byte for byte",
		},
		{
			name:   "no main",
			yaml:   minimal + "allow:\n  packages: [example.com/app/router]\n",
			mains:  []string{"example.com/app"},
			want:   []string{"-trimpath", "-ldflags=-checklinkname=0", "-gcflags=example.com/app/router=-l"},
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
