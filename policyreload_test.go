package hotfix

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPolicyReloadFollowsSymlinks: a real agent reloads a policy changed
// through symbolic links, the two ways issue 22 names. Watching the
// policy's directory for its name alone saw neither, and a key revoked
// that way stayed trusted. Each edit changes limits.max_patches, which the
// agent shows as Metrics().PluginsMax once the new policy is in force.
func TestPolicyReloadFollowsSymlinks(t *testing.T) {
	t.Setenv("HOTFIX_POLICY", "") // it would override Config.PolicyPath
	t.Run("configmap swap", func(t *testing.T) {
		root := t.TempDir()
		cm := filepath.Join(root, "config")
		mkdir(t, cm)
		// kubelet's layout: hotfix.yaml -> ..data/hotfix.yaml, ..data -> ..TIMESTAMP.
		configMapUpdate(t, cm, "..2026_12_06_1", policyText(root, 5))
		symlink(t, "..data/hotfix.yaml", filepath.Join(cm, "hotfix.yaml"))
		a := startAgent(t, filepath.Join(cm, "hotfix.yaml"))
		waitPluginsMax(t, a, 5)

		// Twice: an update during start-up is read by the first reload
		// whatever is watched, and the first swap moves the file to
		// another directory, which the second must be seen in.
		configMapUpdate(t, cm, "..2026_12_06_2", policyText(root, 7))
		waitPluginsMax(t, a, 7)
		configMapUpdate(t, cm, "..2026_12_06_3", policyText(root, 9))
		waitPluginsMax(t, a, 9)
	})
	t.Run("symlinked file edited in place", func(t *testing.T) {
		root := t.TempDir()
		etc, srv := filepath.Join(root, "etc"), filepath.Join(root, "srv")
		mkdir(t, etc)
		mkdir(t, srv)
		target := filepath.Join(srv, "hotfix.yaml")
		writeFile(t, target, policyText(root, 5))
		symlink(t, target, filepath.Join(etc, "hotfix.yaml"))
		a := startAgent(t, filepath.Join(etc, "hotfix.yaml"))
		waitPluginsMax(t, a, 5)

		// Twice: an edit during start-up is read by the first reload
		// whatever is watched; the second shows the file is followed.
		for _, n := range []int{7, 9} {
			writeInPlace(t, target, policyText(root, n))
			waitPluginsMax(t, a, n)
		}
	})
}

// writeInPlace rewrites a file as `cat >` and many editors do: same inode.
func writeInPlace(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func policyText(root string, maxPatches int) string {
	return fmt.Sprintf("patch_dir: %s\nstate_dir: %s\nlimits:\n  max_patches: %d\n",
		filepath.Join(root, "patches"), filepath.Join(root, "state"), maxPatches)
}

// configMapUpdate does what kubelet's atomic writer does
// (pkg/volume/util/atomic_writer.go): write a new timestamped directory,
// point ..data_tmp at it, rename it over ..data, remove the old directory.
func configMapUpdate(t *testing.T, cm, stamp, policy string) {
	t.Helper()
	mkdir(t, filepath.Join(cm, stamp))
	writeFile(t, filepath.Join(cm, stamp, "hotfix.yaml"), policy)
	old, _ := os.Readlink(filepath.Join(cm, "..data"))
	symlink(t, stamp, filepath.Join(cm, "..data_tmp"))
	if err := os.Rename(filepath.Join(cm, "..data_tmp"), filepath.Join(cm, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(cm, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func startAgent(t *testing.T, policyPath string) *Agent {
	t.Helper()
	a, err := Start(context.Background(), Config{PolicyPath: policyPath, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start agent with %s: %v", policyPath, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// waitPluginsMax polls the agent's view until the policy in force says
// limits.max_patches is want.
func waitPluginsMax(t *testing.T, a *Agent, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := a.Metrics().PluginsMax
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy not reloaded: limits.max_patches in force is %d, want %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}
