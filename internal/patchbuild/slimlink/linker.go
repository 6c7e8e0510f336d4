package slimlink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/overlay"
)

// Linker returns the path of the toolchain's linker built with edits,
// building it into cacheDir the first time (about 20 s). The go command
// on PATH, with the environment env, names the toolchain: the one that
// built the release.
func Linker(ctx context.Context, env []string, cacheDir string) (string, error) {
	vars, err := goEnv(ctx, env, "GOROOT", "GOVERSION")
	if err != nil {
		return "", err
	}
	goroot, version := vars[0], vars[1]
	files, err := editedSources(goroot)
	if err != nil {
		return "", fmt.Errorf("%s: %w", version, err)
	}
	out := filepath.Join(cacheDir, "link-"+version+"-"+overlayHash(files))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ovl, err := overlay.Write(tmp, files)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "link")
	cmd := exec.CommandContext(ctx, filepath.Join(goroot, "bin", "go"), "build", "-overlay", ovl, "-o", bin, "cmd/link")
	// The linker runs here, whatever the release's architecture, and cmd
	// builds from its own vendor directory. A toolchain the go command
	// fetched has its root in the module cache, where an overlay may not
	// replace files: its own go command runs with another module cache.
	cmd.Env = append(env, "GOFLAGS=", "GOARCH=", "GOOS=", "GOAMD64=", "GOARM64=", "CGO_ENABLED=0",
		"GOTOOLCHAIN=local", "GOWORK=off", "GOMODCACHE="+filepath.Join(tmp, "modcache"))
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("slim link: building %s's linker with hotfix's edits: %v\n%s", version, err, b)
	}
	return out, os.Rename(bin, out)
}

func overlayHash(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// goEnv returns the go command's values of the variables names, one go
// command for all.
func goEnv(ctx context.Context, env []string, names ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"env"}, names...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env %s: %v: %s", strings.Join(names, " "), err, stderr.Bytes())
	}
	vals := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(vals) != len(names) {
		return nil, fmt.Errorf("go env %s: %d values: %q", strings.Join(names, " "), len(vals), b)
	}
	return vals, nil
}
