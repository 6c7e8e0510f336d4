package watcher_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/watcher"
)

// follow starts a Follower with a short quiet period and waits for its
// report at start.
func follow(t *testing.T, path string) *watcher.Follower {
	t.Helper()
	f, err := watcher.Follow(path, 30*time.Millisecond)
	if err != nil {
		t.Fatalf("follow %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	select {
	case ev := <-f.Events():
		if ev.Op != watcher.Ready || ev.Path != path {
			t.Fatalf("first event %v %s, want Ready %s", ev.Op, ev.Path, path)
		}
	case <-time.After(eventWait):
		t.Fatal("no Ready at start")
	}
	return f
}

// waitContent reads path after each Ready, as the agent does, until it
// holds want: a Follower reports possible changes, the reader compares.
func waitContent(t *testing.T, f *watcher.Follower, path, want, doing string) {
	t.Helper()
	deadline := time.After(eventWait)
	for {
		select {
		case ev := <-f.Events():
			if ev.Op != watcher.Ready || ev.Path != path {
				t.Fatalf("%s: event %v %s, want Ready %s", doing, ev.Op, ev.Path, path)
			}
			if b, _ := os.ReadFile(path); string(b) == want {
				return
			}
		case <-deadline:
			b, _ := os.ReadFile(path)
			t.Fatalf("%s: no Ready after which %s holds %q (it holds %q)", doing, path, want, b)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// relink points name at target the way `ln -sfn` and kubelet do: a new
// link renamed over the old one.
func relink(t *testing.T, target, name string) {
	t.Helper()
	tmp := name + "_tmp"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// TestFollowConfigMapSwap: a Kubernetes ConfigMap volume updated twice,
// as kubelet's atomic writer does it (pkg/volume/util/atomic_writer.go):
// new timestamped directory, ..data_tmp pointed at it and renamed over
// ..data, old directory removed. The second update shows the Follower
// moved its watches to the directory of the first.
func TestFollowConfigMapSwap(t *testing.T) {
	t.Parallel()
	cm := t.TempDir()
	must(t, os.Mkdir(filepath.Join(cm, "..2026_1"), 0o755))
	write(t, filepath.Join(cm, "..2026_1", "hotfix.yaml"), "v1")
	must(t, os.Symlink("..2026_1", filepath.Join(cm, "..data")))
	must(t, os.Symlink("..data/hotfix.yaml", filepath.Join(cm, "hotfix.yaml")))
	path := filepath.Join(cm, "hotfix.yaml")
	f := follow(t, path)

	for i, v := range []string{"v2", "v3"} {
		dir := filepath.Join(cm, "..2026_"+string(rune('2'+i)))
		must(t, os.Mkdir(dir, 0o755))
		write(t, filepath.Join(dir, "hotfix.yaml"), v)
		old, err := os.Readlink(filepath.Join(cm, "..data"))
		must(t, err)
		relink(t, filepath.Base(dir), filepath.Join(cm, "..data"))
		must(t, os.RemoveAll(filepath.Join(cm, old)))
		waitContent(t, f, path, v, "ConfigMap update to "+v)
	}
	// Not what kubelet does, but it proves the file's directory is watched.
	write(t, filepath.Join(cm, "..2026_3", "hotfix.yaml"), "v4")
	waitContent(t, f, path, "v4", "edit of the file behind ..data")
}

// TestFollowLinkTarget: a link to a file in another directory, the file
// edited in place, the link repointed, and the new target edited.
func TestFollowLinkTarget(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	etc, srv, other := filepath.Join(root, "etc"), filepath.Join(root, "srv"), filepath.Join(root, "other")
	for _, d := range []string{etc, srv, other} {
		must(t, os.Mkdir(d, 0o755))
	}
	write(t, filepath.Join(srv, "hotfix.yaml"), "v1")
	path := filepath.Join(etc, "hotfix.yaml")
	must(t, os.Symlink(filepath.Join(srv, "hotfix.yaml"), path))
	f := follow(t, path)

	write(t, filepath.Join(srv, "hotfix.yaml"), "v2")
	waitContent(t, f, path, "v2", "target edited in place")
	write(t, filepath.Join(other, "new.yaml"), "v3")
	relink(t, "../other/new.yaml", path)
	waitContent(t, f, path, "v3", "link repointed")
	write(t, filepath.Join(other, "new.yaml"), "v4")
	waitContent(t, f, path, "v4", "new target edited in place")
}

// TestFollowPlainFile: without links, an editor's save (a new file renamed
// over the old) and a write in place are both followed.
func TestFollowPlainFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hotfix.yaml")
	write(t, path, "v1")
	f := follow(t, path)
	write(t, path+".swp", "v2")
	must(t, os.Rename(path+".swp", path))
	waitContent(t, f, path, "v2", "editor save by rename")
	write(t, path, "v3")
	waitContent(t, f, path, "v3", "write in place")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
