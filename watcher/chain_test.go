package watcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChain pins which names a Follower watches for each way a file is
// reached through links: one missed name is one kind of edit never reloaded.
func TestChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layout []string // "dir/", "file", or "link -> target"
		path   string
		want   []string // "dir|name", relative to the root
		err    string
		reason string
	}{
		{"plain file", []string{"etc/", "etc/hotfix.yaml"}, "etc/hotfix.yaml",
			[]string{"etc|hotfix.yaml"}, "", "no links: the file's own name, as a Watcher of its directory"},
		{"link to another directory", []string{"etc/", "srv/", "srv/real.yaml", "etc/hotfix.yaml -> ../srv/real.yaml"}, "etc/hotfix.yaml",
			[]string{"etc|hotfix.yaml", "srv|real.yaml"}, "", "a target edited in place is written in its own directory, not the link's"},
		{"configmap", []string{"cm/", "cm/..2026_1/", "cm/..2026_1/hotfix.yaml", "cm/..data -> ..2026_1", "cm/hotfix.yaml -> ..data/hotfix.yaml"}, "cm/hotfix.yaml",
			[]string{"cm/..2026_1|hotfix.yaml", "cm|..data", "cm|hotfix.yaml"}, "", "kubelet swaps ..data only; the file's name never changes"},
		{"linked directory on the way", []string{"real/", "real/hotfix.yaml", "etc -> real"}, "etc/hotfix.yaml",
			[]string{"real|hotfix.yaml", "|etc"}, "", "a directory link repointed moves the file as much as a file link"},
		{"chain of absolute links", []string{"a/", "b/", "c/", "c/z", "b/y -> @/c/z", "a/x -> @/b/y"}, "a/x",
			[]string{"a|x", "b|y", "c|z"}, "", "every link of a chain can be repointed"},
		{"dotdot after a link", []string{"d/", "d/e/", "d/p.yaml", "p.yaml", "link -> d/e"}, "link/../p.yaml",
			[]string{"d|p.yaml", "|link"}, "", ".. after a link goes to the target's parent, as the kernel resolves it"},
		{"dangling link", []string{"etc/", "srv/", "etc/hotfix.yaml -> ../srv/missing.yaml"}, "etc/hotfix.yaml",
			[]string{"etc|hotfix.yaml", "srv|missing.yaml"}, "", "the target may appear later: watch where it would"},
		{"missing directory", []string{"etc/", "etc/hotfix.yaml -> ../gone/x.yaml"}, "etc/hotfix.yaml",
			[]string{"etc|hotfix.yaml", "|gone"}, "", "the deepest directory that exists is watched for the next name"},
		{"loop", []string{"a/", "a/x -> y", "a/y -> x"}, "a/x",
			nil, "more than 40 symbolic links", "a loop must end the walk, not hang the watcher"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			makeLayout(t, root, tt.layout)
			places, err := chain(root + "/" + tt.path) // not Join: it would clean "link/.." away
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("chain: error %v, want one containing %q (%s)", err, tt.err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("chain: %v (%s)", err, tt.reason)
			}
			got := map[string]bool{}
			for _, p := range places {
				rel := strings.TrimPrefix(strings.TrimPrefix(p.dir, root), "/")
				got[rel+"|"+p.name] = true
			}
			want := map[string]bool{}
			for _, w := range tt.want {
				want[w] = true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("watched places (-want +got), %s:\n%s", tt.reason, diff)
			}
		})
	}
}

// makeLayout creates entries under root: "d/" a directory, "f" a file,
// "l -> t" a symbolic link ("@" in t stands for root).
func makeLayout(t *testing.T, root string, layout []string) {
	t.Helper()
	for _, e := range layout {
		var err error
		switch name, target, link := strings.Cut(e, " -> "); {
		case link:
			err = os.Symlink(strings.ReplaceAll(target, "@", root), filepath.Join(root, name))
		case strings.HasSuffix(e, "/"):
			err = os.Mkdir(filepath.Join(root, e), 0o755)
		default:
			err = os.WriteFile(filepath.Join(root, e), []byte(e), 0o644)
		}
		if err != nil {
			t.Fatalf("make %s: %v", e, err)
		}
	}
}
