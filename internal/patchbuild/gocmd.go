package patchbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/gohotfix/hotfix/loader"
)

type hostInfo struct {
	bin      *loader.Binary
	revision string
}

// inlinedAt says where the release's compiler inlined the function sym
// (a linker symbol), "" for nowhere, and whether the release has it out
// of line too. An inline tree that cannot be read counts as inlined: the
// caller then replaces more, or refuses.
func (h *hostInfo) inlinedAt(sym string) (string, bool) {
	_, outOfLine := h.bin.Func(sym)
	sites, err := h.bin.Inlined(sym)
	switch {
	case err != nil:
		return "perhaps: the binary's inline trees could not be read: " + err.Error(), outOfLine
	case len(sites) == 0:
		return "", outOfLine
	case len(sites) == 1:
		return sites[0].String(), outOfLine
	}
	return fmt.Sprintf("%s (and at %d more sites)", sites[0], len(sites)-1), outOfLine
}

// hostIdentity finds the build ID of the release: read from the binary when
// given, else reproduced by building the base revision with the same flags
// (builds with -trimpath are reproducible across directories).
// The base binary is written to tmp, which must outlive the result.
func hostIdentity(ctx context.Context, opt Options, tmp string) (*hostInfo, error) {
	if opt.Binary != "" {
		bin, err := loader.ReadBinary(opt.Binary)
		if err != nil {
			return nil, err
		}
		return &hostInfo{bin: bin, revision: opt.Base}, nil
	}
	wt, err := checkoutBase(ctx, opt, tmp)
	if err != nil {
		return nil, err
	}
	defer wt.remove()
	mainPkg, err := resolveMain(ctx, wt.dir, opt.Main)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Log, "building base release %s to learn its build ID\n", mainPkg)
	host, err := buildHost(ctx, opt, wt.dir, mainPkg, tmp)
	if err != nil {
		return nil, err
	}
	host.revision = wt.rev
	return host, nil
}

func buildHost(ctx context.Context, opt Options, dir, mainPkg, tmp string) (*hostInfo, error) {
	args := append([]string{"build"}, opt.Flags...)
	args = append(args, "-o", filepath.Join(tmp, "host"), mainPkg)
	if _, err := goOut(ctx, dir, nil, args...); err != nil {
		return nil, fmt.Errorf("build base: %w", err)
	}
	bin, err := loader.ReadBinary(filepath.Join(tmp, "host"))
	if err != nil {
		return nil, err
	}
	return &hostInfo{bin: bin}, nil
}

// worktree is a temporary checkout of the release source.
type worktree struct {
	repo, path string
	dir        string // the module root inside it
	rev        string
}

// checkoutBase checks out opt.Base in a temporary git worktree under tmp;
// remove takes it away again.
func checkoutBase(ctx context.Context, opt Options, tmp string) (*worktree, error) {
	base := opt.baseName()
	rev, err := run(ctx, opt.Dir, nil, "git", "rev-parse", "--verify", base+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("base revision %s (the release's source, which the working tree is compared with; or name the functions with -func): %w", base, err)
	}
	top, err := run(ctx, opt.Dir, nil, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	absDir, _ := filepath.Abs(opt.Dir)
	if d, err := filepath.EvalSymlinks(absDir); err == nil {
		absDir = d
	}
	if t, err := filepath.EvalSymlinks(top); err == nil {
		top = t
	}
	rel, err := filepath.Rel(top, absDir)
	if err != nil {
		return nil, err
	}
	// Nested, so that a relative replace climbing out of the module
	// still lands inside tmp (linkReplaces).
	w := &worktree{repo: opt.Dir, path: filepath.Join(tmp, "r", "r", "r", "r", "r", "r", "r", "r", "base"), rev: rev}
	fmt.Fprintf(opt.Log, "checking out the release %s (%s) in a temporary worktree\n", rev[:12], base)
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return nil, err
	}
	if _, err := run(ctx, opt.Dir, nil, "git", "worktree", "add", "--detach", "--force", w.path, rev); err != nil {
		return nil, err
	}
	w.dir = filepath.Join(w.path, rel)
	if err := linkReplaces(w.dir, absDir, tmp); err != nil {
		w.remove()
		return nil, err
	}
	return w, nil
}

// linkReplaces makes the relative replace directives of the release's
// go.mod (replace m => ../m, the way one works from a clone) resolve in
// the worktree at dir as they do in the module at real: a directory they
// name that the worktree lacks (outside the repository) becomes a
// symbolic link to the real one. The go.mod is left as it is, so the
// release builds with the same module information, and the same build
// ID, as the binary built in the real module.
func linkReplaces(dir, real, tmp string) error {
	gomod := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil // not a module root: the go command will say so
	}
	mf, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return err
	}
	for _, r := range mf.Replace {
		p := r.New.Path
		if r.New.Version != "" || !modfile.IsDirectoryPath(p) || filepath.IsAbs(p) {
			continue
		}
		in, want := filepath.Join(dir, p), filepath.Join(real, p)
		if _, err := os.Stat(in); err == nil {
			continue // in the repository: the release's own copy
		}
		if _, err := os.Stat(want); err != nil {
			return fmt.Errorf("go.mod: replace %s => %s: %w", r.Old.Path, p, err)
		}
		if up, err := filepath.Rel(tmp, in); err != nil || strings.HasPrefix(up, "..") {
			return fmt.Errorf("go.mod: replace %s => %s climbs too far above the module to be rebuilt elsewhere; use an absolute path", r.Old.Path, p)
		}
		if err := os.MkdirAll(filepath.Dir(in), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(want, in); err != nil {
			return err
		}
	}
	return nil
}

func (w *worktree) remove() {
	run(context.Background(), w.repo, nil, "git", "worktree", "remove", "--force", w.path)
}

// resolveMain returns the import path of the release's main package:
// pattern (as given with -main) or the only main package of the module.
func resolveMain(ctx context.Context, dir, pattern string) (string, error) {
	if pattern == "" {
		return findMain(ctx, dir)
	}
	out, err := goOut(ctx, dir, nil, "list", "-f", "{{.Name}} {{.ImportPath}}", pattern)
	if err != nil {
		return "", fmt.Errorf("-main %s: %w", pattern, err)
	}
	name, path, _ := strings.Cut(out, " ")
	if name != "main" || strings.Contains(path, "\n") {
		return "", fmt.Errorf("-main %s: not one main package (%s)", pattern, out)
	}
	return path, nil
}

func findMain(ctx context.Context, dir string) (string, error) {
	out, err := goOut(ctx, dir, nil, "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...")
	if err != nil {
		return "", err
	}
	var mains []string
	for _, l := range strings.Fields(out) {
		mains = append(mains, l)
	}
	if len(mains) != 1 {
		return "", fmt.Errorf("found %d main packages (%s): say which one the release is built from with -main", len(mains), strings.Join(mains, ", "))
	}
	return mains[0], nil
}

// goOut runs the go command: the one of the Go root env names, if it
// names one (goBinary).
func goOut(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	return run(ctx, dir, env, goBinary(env), args...)
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".part"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// compileOutput compiles pkgs with the go command's build flags and
// returns what the compiler printed (its -m and -S output go to stderr).
// It runs go list -export, not go build: go build links a main package
// even with -o /dev/null, which took 2.0 of a warm 3.4 s patch build of
// the example shop; go list -export compiles only, and replays a cached
// compile's output as go build does (TestCompileOutputLinksNothing).
func compileOutput(ctx context.Context, dir string, env, flags, pkgs []string) (string, error) {
	var out strings.Builder
	_, err := compileRead(ctx, dir, env, flags, pkgs, func(r io.Reader) error {
		_, err := io.Copy(&out, r)
		return err
	})
	return out.String(), err
}

// compileRead is compileOutput for output too large to hold: read takes
// it as it comes. It returns the output's last lines, for an error.
func compileRead(ctx context.Context, dir string, env, flags, pkgs []string, read func(io.Reader) error) (string, error) {
	args := append([]string{"list", "-export", "-f", "{{.ImportPath}}"}, flags...)
	cmd := exec.CommandContext(ctx, goBinary(env), append(args, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	tail := &tailWriter{max: 16 << 10}
	readErr := read(io.TeeReader(stderr, tail))
	io.Copy(io.Discard, stderr) // what read left, so that the command ends
	if err := cmd.Wait(); err != nil {
		return tail.String(), err
	}
	return tail.String(), readErr
}

// tailWriter keeps the last max bytes or so written to it.
type tailWriter struct {
	max int
	b   []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > 2*w.max {
		w.b = append(w.b[:0], w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string { return string(w.b) }
