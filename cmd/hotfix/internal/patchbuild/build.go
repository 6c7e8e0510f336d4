// Package patchbuild turns a fixed working tree into a patch file for one
// exact release binary: it reproduces the host's identity, generates a main
// package that keeps the target functions alive, builds it as a plugin with
// the host's flags, and appends the manifest and signature.
package patchbuild

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher/prologue"
)

// ErrRefused means the change cannot be shipped as a patch; the message
// says why.
var ErrRefused = errors.New("refused")

// Options says what to build.
type Options struct {
	Dir      string             // module root of the fixed working tree
	Base     string             // git revision of the running release; "" for HEAD
	Binary   string             // the release binary itself; when set, Base is not built
	Main     string             // main package of the release (pattern relative to Dir); "" to find it
	Funcs    []string           // target functions, as linker symbols
	Flags    []string           // go build flags of the release, from `hotfix flags`
	Version  string             // "" for a unique default
	Sequence int64              // 0 for the build time
	Key      ed25519.PrivateKey // nil for unsigned
	Out      string
	Log      io.Writer // progress lines
}

// Result is what was built.
type Result struct {
	Manifest loader.Manifest
	Out      string
	Size     int
}

// Build builds the patch described by opt.
func Build(ctx context.Context, opt Options) (*Result, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if len(opt.Funcs) == 0 {
		return nil, fmt.Errorf("%w: no target functions", ErrRefused)
	}
	modPath, err := goOut(ctx, opt.Dir, nil, "list", "-m")
	if err != nil {
		return nil, err
	}
	goVersion, err := goOut(ctx, opt.Dir, nil, "env", "GOVERSION")
	if err != nil {
		return nil, err
	}
	pkgs := map[string]bool{}
	for _, fn := range opt.Funcs {
		n, err := symbol.Parse(fn)
		if err != nil {
			return nil, fmt.Errorf("%w: -func %s: %v", ErrRefused, fn, err)
		}
		if n.Package == "main" {
			return nil, fmt.Errorf("%w: -func %s: functions of package main need `hotfix build` without -func (builds from main's own files)", ErrRefused, fn)
		}
		if n.Generic {
			return nil, fmt.Errorf("%w: -func %s: generic functions are shared by instantiation shape and are not patched by name", ErrRefused, fn)
		}
		pkgs[n.Package] = true
	}

	rnd := make([]byte, 6)
	rand.Read(rnd)
	id := time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(rnd)
	version := opt.Version
	if version == "" {
		version = id
	}
	seq := opt.Sequence
	if seq == 0 {
		seq = time.Now().UnixNano()
	}
	pkgDir := "hotfix_patch_" + strings.ReplaceAll(id, "-", "_")
	pluginPath := modPath + "/" + pkgDir

	tmp, err := os.MkdirTemp("", "hotfix-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	host, err := hostIdentity(ctx, opt, tmp)
	if err != nil {
		return nil, err
	}
	src, err := generateMain(opt.Funcs, pkgs)
	if err != nil {
		return nil, err
	}
	genFile := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(genFile, src, 0o644); err != nil {
		return nil, err
	}
	absDir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(absDir, pkgDir, "zz_hotfix_main.go"): genFile,
	}})
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return nil, err
	}
	soFile := filepath.Join(tmp, "patch.so")
	fmt.Fprintf(opt.Log, "building patch %s (plugin %s) for %d function(s)\n", version, pluginPath, len(opt.Funcs))
	args := append([]string{"build", "-buildmode=plugin", "-overlay", overlayFile}, opt.Flags...)
	args = append(args, "-o", soFile, "./"+pkgDir)
	if _, err := goOut(ctx, opt.Dir, nil, args...); err != nil {
		return nil, err
	}
	elfBytes, err := os.ReadFile(soFile)
	if err != nil {
		return nil, err
	}
	m := loader.Manifest{
		ID:           id,
		Version:      version,
		Sequence:     seq,
		BaseRevision: host.revision,
		PluginPath:   pluginPath,
		Anchor:       anchorName,
		GoVersion:    goVersion,
		BuildFlags:   opt.Flags,
		Host:         loader.Host{BuildID: host.bin.BuildID(), MainPath: host.bin.BuildInfo().Path},
		Built:        time.Now().UTC().Truncate(time.Second),
	}
	for _, fn := range opt.Funcs {
		m.Targets = append(m.Targets, loader.Target{Name: fn, Reason: "named with -func"})
	}
	out, err := loader.Encode(elfBytes, m, opt.Key)
	if err != nil {
		return nil, err
	}
	// A checked build: the patch must pass every offline check against
	// the host it was built for before anyone copies it anywhere.
	f, err := loader.Decode(out)
	if err != nil {
		return nil, fmt.Errorf("self-check: %w", err)
	}
	if _, err := loader.Check(f, opt.Out, host.bin); err != nil {
		return nil, fmt.Errorf("self-check against %s: %w", host.bin.Path, err)
	}
	if err := CheckPrologues(host.bin, opt.Funcs); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(opt.Out, out); err != nil {
		return nil, err
	}
	return &Result{Manifest: m, Out: opt.Out, Size: len(out)}, nil
}

const anchorName = "HotfixTargets"

var mainTemplate = template.Must(template.New("main").Parse(`// Code generated by hotfix build. DO NOT EDIT.

// The plugin main package of one patch. Its import path is unique per patch,
// so the runtime never sees the same plugin path twice, and its exported
// variable keeps every target function in the plugin: the linker drops
// whatever a plugin's exported symbols do not reach.
package main

import (
	_ "unsafe" // go:linkname
{{range .Pkgs}}
	_ {{printf "%q" .}}{{end}}
)
{{range $i, $f := .Funcs}}
//go:linkname hotfixTarget{{$i}} {{$f}}
func hotfixTarget{{$i}}()
{{end}}
var {{.Anchor}} = []any{ {{- range $i, $f := .Funcs}}hotfixTarget{{$i}}, {{end -}} }

func main() {}
`))

func generateMain(funcs []string, pkgs map[string]bool) ([]byte, error) {
	var list []string
	for p := range pkgs {
		list = append(list, p)
	}
	sort.Strings(list)
	var buf bytes.Buffer
	err := mainTemplate.Execute(&buf, map[string]any{"Pkgs": list, "Funcs": funcs, "Anchor": anchorName})
	return buf.Bytes(), err
}

type hostInfo struct {
	bin      *loader.Binary
	revision string
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
	base := opt.Base
	if base == "" {
		base = "HEAD"
	}
	rev, err := run(ctx, opt.Dir, nil, "git", "rev-parse", "--verify", base+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("base revision %s: %w", base, err)
	}
	top, err := run(ctx, opt.Dir, nil, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	absDir, _ := filepath.Abs(opt.Dir)
	rel, err := filepath.Rel(top, absDir)
	if err != nil {
		return nil, err
	}
	wt, err := os.MkdirTemp("", "hotfix-base-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(wt)
	fmt.Fprintf(opt.Log, "checking out base %s in a temporary worktree\n", rev[:12])
	if _, err := run(ctx, opt.Dir, nil, "git", "worktree", "add", "--detach", "--force", wt+"/src", rev); err != nil {
		return nil, err
	}
	defer run(context.Background(), opt.Dir, nil, "git", "worktree", "remove", "--force", wt+"/src")
	baseDir := filepath.Join(wt, "src", rel)
	mainPkg := opt.Main
	if mainPkg == "" {
		mainPkg, err = findMain(ctx, baseDir)
		if err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(opt.Log, "building base release %s to learn its build ID\n", mainPkg)
	args := append([]string{"build"}, opt.Flags...)
	args = append(args, "-o", filepath.Join(tmp, "host"), mainPkg)
	if _, err := goOut(ctx, baseDir, nil, args...); err != nil {
		return nil, fmt.Errorf("build base: %w", err)
	}
	bin, err := loader.ReadBinary(filepath.Join(tmp, "host"))
	if err != nil {
		return nil, err
	}
	return &hostInfo{bin: bin, revision: rev}, nil
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

func goOut(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	return run(ctx, dir, env, "go", args...)
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

// CheckPrologues refuses functions whose entry the patcher cannot redirect
// safely, reading their code from the binary file.
func CheckPrologues(bin *loader.Binary, funcs []string) error {
	var errs []error
	for _, fn := range funcs {
		code, err := bin.Code(fn, 32)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := prologue.Check(code); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %v", ErrRefused, fn, err))
		}
	}
	return errors.Join(errs...)
}
