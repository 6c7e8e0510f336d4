package patchbuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gohotfix/hotfix/internal/patchbuild/overlay"
)

func TestFixRootFits(t *testing.T) {
	tests := []struct {
		name, release, fix string
		ok                 bool
		reason             string
	}{
		{"same", "go1.26.8", "go1.26.8", true, "the release's own root with the fix made in a copy (the tests' synthetic point release)"},
		{"point", "go1.26.8", "go1.26.9", true, "the next point release: what an operator ships"},
		{"point-127", "go1.27.3", "go1.27.4", true, "the same for Go 1.27"},
		{"older", "go1.26.8", "go1.26.7", false, "an older point release would take fixes back"},
		{"minor", "go1.26.8", "go1.27.0", false, "another Go: too much changes, and the export data's format may"},
		{"devel", "go1.26.8", "devel go1.27-abcdef", false, "a development toolchain is no release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := fixRootFits(tt.release, tt.fix)
			if (why == "") != tt.ok {
				t.Errorf("fixRootFits(%q, %q) = %q, want ok=%v: %s", tt.release, tt.fix, why, tt.ok, tt.reason)
			}
		})
	}
}

func TestUnderRoot(t *testing.T) {
	files := map[string][]byte{
		"/usr/local/go/src/net/textproto/reader.go": []byte("a"),
		"/usr/local/gopher/x.go":                    []byte("b"), // a sibling whose name starts alike
		"/work/app/hotfix_patch_1/zz.go":            []byte("c"),
		"/usr/local/go/src/gone.go":                 nil, // deleted by the overlay: kept so
	}
	want := map[string][]byte{
		"/tmp/b/goroot/src/net/textproto/reader.go": []byte("a"),
		"/usr/local/gopher/x.go":                    []byte("b"),
		"/work/app/hotfix_patch_1/zz.go":            []byte("c"),
		"/tmp/b/goroot/src/gone.go":                 nil,
	}
	if diff := cmp.Diff(want, underRoot(files, "/usr/local/go", "/tmp/b/goroot")); diff != "" {
		t.Errorf("underRoot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(files, underRoot(files, "", "/tmp/b/goroot")); diff != "" {
		t.Errorf("underRoot without a root changed files (-want +got):\n%s", diff)
	}
}

func TestGoBinary(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "go"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    []string
		want   string
		reason string
	}{
		{"none", nil, "go", "no Go root named: the go command on PATH, with GOTOOLCHAIN as set"},
		{"modcache", []string{"GOMODCACHE=/x"}, "go", "other variables name no root"},
		{"root", goRootEnv(root), filepath.Join(root, "bin", "go"), "a root's packages compile with its own go command only"},
		{"last", []string{"GOROOT=/nowhere", "GOROOT=" + root}, filepath.Join(root, "bin", "go"), "the last GOROOT wins, as in exec.Cmd.Env"},
		{"no-bin", goRootEnv(t.TempDir()), "go", "a root without bin/go (a source tree): the go command on PATH"},
	}
	for _, tt := range tests {
		if got := goBinary(tt.env); got != tt.want {
			t.Errorf("%s: goBinary(%q) = %q, want %q: %s", tt.name, tt.env, got, tt.want, tt.reason)
		}
	}
}

func TestSourceImport(t *testing.T) {
	tests := []struct{ pkg, path, want, reason string }{
		{"net/http", "vendor/golang.org/x/net/http/httpguts", "golang.org/x/net/http/httpguts", "the standard library imports its vendored copies by their module path"},
		{"vendor/golang.org/x/net/http/httpproxy", "vendor/golang.org/x/net/idna", "golang.org/x/net/idna", "and so do the vendored packages themselves"},
		{"net/http", "net/textproto", "net/textproto", "a standard package is imported as it is"},
		{"example.com/app", "example.com/app/vendor/x", "example.com/app/vendor/x", "a module's own path is never rewritten"},
	}
	for _, tt := range tests {
		if got := sourceImport(tt.pkg, tt.path); got != tt.want {
			t.Errorf("sourceImport(%q, %q) = %q, want %q: %s", tt.pkg, tt.path, got, tt.want, tt.reason)
		}
	}
}

// TestGoRootFacts pins what the go command does with a Go root that is not
// its own, which goroot.go relies on, under the toolchain the tests run
// with (CI runs them under every supported release).
func TestGoRootFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs with the go command")
	}
	ctx := context.Background()
	root := goEnv(t, "GOROOT")
	priv := filepath.Join(t.TempDir(), "go")
	if err := linkTree(root, priv); err != nil {
		t.Fatal(err)
	}
	app := tinyApp(t)

	// GOROOT=copy with GOTOOLCHAIN=local: the copy is the root.
	if got, err := goOut(ctx, app, goRootEnv(priv), "env", "GOROOT"); err != nil || got != priv {
		t.Errorf("go env GOROOT with GOROOT=%s GOTOOLCHAIN=local: %q, %v", priv, got, err)
	}
	// The root's release, from its VERSION file.
	if v, err := rootVersion(ctx, app, priv); err != nil || v != goEnv(t, "GOVERSION") {
		t.Errorf("rootVersion(%s) = %q, %v; want %s", priv, v, err, goEnv(t, "GOVERSION"))
	}
	// The same program from the copy and from the root: the same bytes,
	// with -trimpath, so the plugin's unchanged packages keep the host's
	// fingerprints.
	fromRoot := buildTiny(t, app, nil, "")
	fromCopy := buildTiny(t, app, goRootEnv(priv), "")
	if !bytes.Equal(fromRoot, fromCopy) {
		t.Errorf("a -trimpath build from a hard-linked copy of %s differs from one from the root", root)
	}
	// An overlay keyed by the copy's file is compiled; one keyed by
	// another root's while GOROOT names the copy is silently ignored.
	file := filepath.Join("src", "unicode", "utf8", "utf8.go")
	fixed := overlayRuneLen(t, filepath.Join(root, file))
	if got := runTiny(t, app, goRootEnv(priv), overlayWith(t, filepath.Join(priv, file), fixed)); got != "42" {
		t.Errorf("overlay keyed by the copy's file: the program prints %q, want the overlay's 42", got)
	}
	other := filepath.Join(t.TempDir(), "go")
	if err := linkTree(root, other); err != nil {
		t.Fatal(err)
	}
	if got := runTiny(t, app, goRootEnv(priv), overlayWith(t, filepath.Join(other, file), fixed)); got != "1" {
		t.Errorf("overlay keyed by another root's file than GOROOT's: the program prints %q, want the release's 1 (the overlay ignored)", got)
	}
	// No overlay beneath GOMODCACHE, where every toolchain the go command
	// downloads lives.
	mc := t.TempDir()
	inCache := filepath.Join(mc, "golang.org", "toolchain@v0.0.1-go1.99.0.linux-amd64", "x.go")
	args := []string{"build", "-overlay", overlayWith(t, inCache, []byte("package x\n")), "-o", os.DevNull, "."}
	if out, err := runAll(ctx, app, []string{"GOMODCACHE=" + mc}, args...); err == nil || !strings.Contains(out, "Files beneath GOMODCACHE") {
		t.Errorf("overlay of a module cache file: %v\n%s\nwant the go command's refusal", err, out)
	}
	otherReleaseFacts(t, app, priv)
}

// otherReleaseFacts pins the facts that need a second Go release, when its
// toolchain is in the module cache already (nothing is downloaded): a
// toolchain switch replaces GOROOT, and a go command of one release
// cannot compile another's root.
func otherReleaseFacts(t *testing.T, app, priv string) {
	ctx := context.Background()
	local, err := goOut(ctx, app, []string{"GOTOOLCHAIN=local"}, "env", "GOVERSION")
	if err != nil {
		t.Fatal(err)
	}
	var other, otherRoot string
	for _, v := range []string{"go1.26.8", "go1.27.3"} {
		dir := filepath.Join(modCache(), "golang.org", "toolchain@v0.0.1-"+v+".linux-amd64")
		if v != local && exists(filepath.Join(dir, "bin", "go")) {
			other, otherRoot = v, dir
		}
	}
	if other == "" {
		t.Logf("no second Go release in the module cache: the switch facts are not checked")
		return
	}
	// The go command on PATH, which switches: priv's own would not.
	got, err := runWith(ctx, app, "go", []string{"GOROOT=" + priv, "GOTOOLCHAIN=" + other}, "env", "GOROOT")
	if got = strings.TrimSpace(got); err != nil || got != otherRoot {
		t.Errorf("GOROOT=%s GOTOOLCHAIN=%s go env GOROOT: %q, %v; want the switched toolchain's root %s", priv, other, got, err, otherRoot)
	}
	env := []string{"GOROOT=" + otherRoot, "GOTOOLCHAIN=local"}
	if v, err := runWith(ctx, app, "go", env, "env", "GOVERSION"); err != nil || strings.TrimSpace(v) != local {
		t.Errorf("%s's go command with GOROOT=%s: go env GOVERSION = %q, %v; want its own %s (so rootVersion reads VERSION)", local, otherRoot, v, err, local)
	}
	out, err := runWith(ctx, app, "go", env, "build", "-o", os.DevNull, ".")
	if err == nil || !strings.Contains(out, "does not match go tool version") {
		t.Errorf("%s's go command building with %s's root: %v\n%s\nwant a version mismatch", local, other, err, out)
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := goOut(context.Background(), ".", nil, "env", name)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tinyApp writes a module whose program prints utf8.RuneLen('a') and
// imports nothing else, so that an overlay of utf8 rebuilds little.
func tinyApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"unicode/utf8\"\n\nfunc main() { println(utf8.RuneLen('a')) }\n",
	}
	writeFiles(t, dir, files)
	return dir
}

// overlayRuneLen returns utf8.go with RuneLen answering 42 for ASCII.
func overlayRuneLen(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	old := []byte("func RuneLen(r rune) int {\n")
	if !bytes.Contains(b, old) {
		t.Fatalf("%s: no RuneLen to change", file)
	}
	return bytes.Replace(b, old, []byte("func RuneLen(r rune) int {\n\tif r < 128 {\n\t\treturn 42\n\t}\n"), 1)
}

// overlayWith writes an -overlay file that replaces path with src.
func overlayWith(t *testing.T, path string, src []byte) string {
	t.Helper()
	o, err := overlay.Write(t.TempDir(), map[string][]byte{path: src})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func buildTiny(t *testing.T, app string, env []string, overlayFile string) []byte {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tiny")
	args := []string{"build", "-trimpath", "-o", bin}
	if overlayFile != "" {
		args = append(args, "-overlay", overlayFile)
	}
	if out, err := runAll(context.Background(), app, env, append(args, ".")...); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runTiny(t *testing.T, app string, env []string, overlayFile string) string {
	t.Helper()
	b := buildTiny(t, app, env, overlayFile)
	bin := filepath.Join(t.TempDir(), "tiny")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// runWith runs the command name (not goBinary's choice) with env.
func runWith(ctx context.Context, dir, name string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
