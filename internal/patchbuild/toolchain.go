package patchbuild

import (
	"context"
	"fmt"
	"go/version"
	"path/filepath"
	"strings"
)

// `hotfix build -go go1.26.9` is `-goroot` with the root of that Go
// release as the go command gets it on the operator's machine:
// `GOTOOLCHAIN=go1.26.9 go env GOROOT` switches to the toolchain, which
// the go command downloads through the module proxy into the module cache
// (golang.org/toolchain@v0.0.1-go1.26.9.linux-amd64) unless it is there
// already, and reports its root. The root is then checked and used as any
// -goroot is (goroot.go); the build from a root in the module cache is
// what TestStdFixGoRoot runs under Go 1.27.

// CheckGoRelease says why v cannot name the Go release of `hotfix build
// -go`, or returns nil: it must be a toolchain the go command can fetch,
// go1.N.P (or a release candidate, go1.Nrc1). A language version (go1.27)
// names no toolchain, and a suffixed name (go1.26.9-custom, +auto) or one
// of GOTOOLCHAIN's other values (local, auto, path) names no release.
func CheckGoRelease(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("-go: empty: name a Go release, such as go1.26.9")
	case strings.ContainsAny(v, "-+ /\\") || !version.IsValid(v):
		hint := ""
		if version.IsValid("go" + v) {
			hint = fmt.Sprintf(" (go%s?)", v)
		}
		return fmt.Errorf("-go %q: not a Go release%s: name one as the go command's GOTOOLCHAIN does, such as go1.26.9", v, hint)
	case version.Lang(v) == v:
		return fmt.Errorf("-go %s: a language version names no toolchain: name its point release, such as %s.0", v, v)
	}
	return nil
}

// toolchainRoot returns the Go root of release v as the go command on PATH
// switches to it, fetching it if need be, once v is checked to fit the
// release built by Go release (fixRootFits), so that a refused release is
// never downloaded. The command runs in tmp, outside the module, whose
// go.mod must not decide it, with GOROOT empty: GOTOOLCHAIN naming the go
// command's own release does not switch, and then a GOROOT in the
// environment would name the root (TestToolchainRoot).
func toolchainRoot(ctx context.Context, tmp, release, v string) (string, error) {
	if why := fixRootFits(release, v); why != "" {
		return "", fmt.Errorf("%w: -go %s: %s", ErrRefused, v, why)
	}
	env := []string{"GOTOOLCHAIN=" + v, "GOROOT="}
	root, err := run(ctx, tmp, env, "go", "env", "GOROOT")
	if err != nil {
		return "", fmt.Errorf("-go %s: the go command could not switch to it (GOTOOLCHAIN=%s go env GOROOT; it fetches a release through GOPROXY): %w", v, v, err)
	}
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("-go %s: the go command reports the root %q", v, root)
	}
	got, err := rootVersion(ctx, tmp, root)
	if err != nil {
		return "", fmt.Errorf("-go %s: %w", v, err)
	}
	if got != v {
		return "", fmt.Errorf("-go %s: the go command switched to %s, whose release is %s", v, root, got)
	}
	return root, nil
}
