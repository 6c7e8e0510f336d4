package patchbuild

import (
	"context"
	"errors"
	"go/version"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckGoRelease(t *testing.T) {
	tests := []struct {
		name, v string
		ok      bool
		want    string // in the error
		reason  string
	}{
		{"point", "go1.26.9", true, "", "a point release: what an operator ships"},
		{"zero", "go1.27.0", true, "", "the first release of a Go is go1.N.0"},
		{"rc", "go1.27rc1", true, "", "a release candidate is a toolchain the go command fetches"},
		{"empty", "", false, "-go: empty", "an empty value names nothing"},
		{"no-go", "1.27.3", false, `(go1.27.3?)`, "the version without its go prefix: say what was meant"},
		{"lang", "go1.27", false, "language version", "go1.27 names the language, not a toolchain (GOTOOLCHAIN=go1.27 fails)"},
		{"suffix", "go1.26.9-custom", false, "not a Go release", "go/version accepts the suffix, which names no release the proxy serves"},
		{"auto", "go1.26.9+auto", false, "not a Go release", "GOTOOLCHAIN's +auto is a policy, not a release"},
		{"local", "local", false, "not a Go release", "GOTOOLCHAIN=local would use the go command's own root: that is no release named"},
		{"path", "go1.26.9/../x", false, "not a Go release", "no path in a release name"},
		{"garbage", "latest", false, "not a Go release", "the go command's toolchain@latest is not a release of the release's Go"},
		{"devel", "devel", false, "not a Go release", "a development toolchain is no release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckGoRelease(tt.v)
			if (err == nil) != tt.ok || (err != nil && (!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "-go"))) {
				t.Errorf("CheckGoRelease(%q) = %v, want ok=%v with %q, naming -go: %s", tt.v, err, tt.ok, tt.want, tt.reason)
			}
		})
	}
}

// TestToolchainRoot runs the go command as `hotfix build -go` does, on the
// releases this machine has only: GOPROXY=off makes a missing one an
// error, never a download. The go command's own release gives its root
// even with another GOROOT in the environment; the other release, when
// its toolchain is in the module cache, its root there; a release of
// another Go is refused, naming both, before the go command runs.
func TestToolchainRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	ctx := context.Background()
	local := goEnv(t, "GOVERSION")
	root := goEnv(t, "GOROOT")
	mc := modCache() // once, before GOROOT changes below
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOROOT", t.TempDir()) // not a Go root: must not be the answer
	tmp := t.TempDir()
	if got, err := toolchainRoot(ctx, tmp, local, local); err != nil || got != root {
		t.Errorf("toolchainRoot(%s) = %q, %v; want the go command's own root %s", local, got, err, root)
	}
	for _, other := range []string{"go1.26.8", "go1.27.3"} {
		if other == local {
			continue
		}
		_, err := toolchainRoot(ctx, tmp, local, other)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "-go "+other) || !strings.Contains(err.Error(), local) {
			t.Errorf("toolchainRoot(%s) for a %s release: %v; want a refusal naming both", other, local, err)
		}
		dir := filepath.Join(mc, "golang.org", "toolchain@v0.0.1-"+other+".linux-amd64")
		if _, err := os.Stat(filepath.Join(dir, "bin", "go")); err != nil {
			t.Logf("%s is not in the module cache: its root is not checked", other)
			continue
		}
		// As a release of its own Go would ask for it.
		if got, err := toolchainRoot(ctx, tmp, other, other); err != nil || got != dir {
			t.Errorf("toolchainRoot(%s) = %q, %v; want the module cache's %s", other, got, err, dir)
		}
	}
	// A point release this machine lacks: with GOPROXY=off the go command
	// cannot fetch it, and the error says what was run.
	missing := version.Lang(local) + ".99"
	if _, err := toolchainRoot(ctx, tmp, local, missing); err == nil || !strings.Contains(err.Error(), "GOTOOLCHAIN="+missing) {
		t.Errorf("toolchainRoot(%s) with GOPROXY=off: %v; want the go command's failure, naming the switch", missing, err)
	}
}
