package patchbuild

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/patchbuild/overlay"
	"github.com/gohotfix/hotfix/internal/suggest"
	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
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
	Funcs    []string           // target functions, as linker symbols; none: found by comparing Base with Dir
	GoRoot   string             // a Go root with the fixed standard library (a point release); "": modules only
	Go       string             // a Go release (go1.26.9) whose root, as the go command fetches it, is GoRoot; "": none
	Policy   *policy.Policy     // the allowed targets and the build flags; nil allows every target
	Flags    []string           // go build flags of the release; nil: from Policy (see Flags)
	Version  string             // "" for a unique default
	Sequence int64              // 0 for the build time
	Key      ed25519.PrivateKey // nil for unsigned
	Out      string
	DryRun   bool      // print the plan and stop
	Slim     bool      // link the plugin against the release (package slimlink), carrying only the patch's packages
	Plan     io.Writer // where the plan goes; nil: Log
	Log      io.Writer // progress lines
}

// Result is what was built.
type Result struct {
	Manifest loader.Manifest
	Out      string
	Size     int
	Plan     *Plan // nil when the targets were named with Funcs
	Took     Timings
}

// Timings split the time of a build: the release (checking it out and
// building it or reading its binary), the source analysis, and the
// patch's own go build with its checks, manifest and signature.
type Timings struct {
	Release, Analysis, Patch time.Duration
}

func (t Timings) String() string {
	s := func(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
	return fmt.Sprintf("took %s: release %s, analysis %s, patch build %s",
		s(t.Release+t.Analysis+t.Patch), s(t.Release), s(t.Analysis), s(t.Patch))
}

// meta is what identifies one patch build.
type meta struct {
	id, version string
	seq         int64
	modPath     string
	goVersion   string
}

func newMeta(ctx context.Context, opt Options) (*meta, error) {
	m := &meta{}
	var err error
	if m.modPath, err = goOut(ctx, opt.Dir, nil, "list", "-m"); err != nil {
		return nil, err
	}
	if m.goVersion, err = goOut(ctx, opt.Dir, nil, "env", "GOVERSION"); err != nil {
		return nil, err
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	m.id = time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(rnd)
	m.version = opt.Version
	if m.version == "" {
		m.version = m.id
	}
	m.seq = opt.Sequence
	if m.seq == 0 {
		m.seq = time.Now().UnixNano()
	}
	return m, nil
}

// useHostToolchain makes every go command of this build run the toolchain
// that built the release binary, when one is given: a patch compiled by
// another Go is refused by the agent, and the go command fetches the
// toolchain named by GOTOOLCHAIN through the module proxy. It sets the
// process environment: a build is the one thing the CLI does. The
// binary's GOARCH, cgo setting and architecture level are set the same
// way, with a C cross compiler when the binary is for another
// architecture than this machine's (useArch); without a binary, GOARCH is
// what the caller set.
func useHostToolchain(opt Options) error {
	if opt.Binary == "" {
		return useArch(opt, nil)
	}
	info, err := buildinfo.ReadFile(opt.Binary)
	if err != nil {
		return fmt.Errorf("%s: %w", opt.Binary, err)
	}
	if err := loader.GoSupported(info.GoVersion); err != nil {
		return fmt.Errorf("%s: %w", opt.Binary, err)
	}
	if err := useArch(opt, info); err != nil {
		return fmt.Errorf("%s: %w", opt.Binary, err)
	}
	if os.Getenv("GOTOOLCHAIN") != info.GoVersion {
		fmt.Fprintf(opt.Log, "building with %s, the toolchain of %s\n", info.GoVersion, opt.Binary)
	}
	return os.Setenv("GOTOOLCHAIN", info.GoVersion)
}

// pkgDir is the directory name of the generated plugin main package:
// its import path, and so the plugin path, is unique per patch, because
// the runtime refuses a second plugin with a path it has seen
// ("plugin already loaded").
func (m *meta) pkgDir() string { return "hotfix_patch_" + strings.ReplaceAll(m.id, "-", "_") }

// Build builds the patch described by opt. Without Funcs, it compares the
// release source with the working tree, prints the plan to opt.Plan, and
// refuses (with every reason, as an error wrapping ErrRefused) what it
// cannot ship.
func Build(ctx context.Context, opt Options) (*Result, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Plan == nil {
		opt.Plan = opt.Log
	}
	if err := useHostToolchain(opt); err != nil {
		return nil, err
	}
	if opt.Go != "" && opt.GoRoot != "" {
		return nil, fmt.Errorf("-go %s and -goroot %s: name the fixed Go root once", opt.Go, opt.GoRoot)
	}
	if opt.Go != "" {
		if err := CheckGoRelease(opt.Go); err != nil {
			return nil, err
		}
	}
	if opt.GoRoot != "" {
		abs, err := filepath.Abs(opt.GoRoot)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(abs, "src")); err != nil {
			return nil, fmt.Errorf("-goroot %s: not a Go root: %w", opt.GoRoot, err)
		}
		opt.GoRoot = abs
	}
	if len(opt.Funcs) > 0 {
		return buildFuncs(ctx, opt)
	}
	return buildChanged(ctx, opt)
}

// buildFuncs builds a patch for the functions named in opt.Funcs, from the
// working tree as it is.
func buildFuncs(ctx context.Context, opt Options) (*Result, error) {
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
	m, err := newMeta(ctx, opt)
	if err != nil {
		return nil, err
	}
	if opt.Flags == nil {
		if opt.Flags, err = opt.Policy.ModuleBuildFlags(ctx, opt.Dir); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "hotfix-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	t0 := time.Now()
	host, err := hostIdentity(ctx, opt, tmp)
	if err != nil {
		return nil, err
	}
	if err := funcsAdmissible(host.bin, opt); err != nil {
		return nil, err
	}
	took := Timings{Release: time.Since(t0)}
	var targets []loader.Target
	for _, fn := range opt.Funcs {
		targets = append(targets, loader.Target{Name: fn, Reason: "named with -func"})
	}
	absDir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	src, err := generateMain(opt.Funcs, pkgs)
	if err != nil {
		return nil, err
	}
	pluginPath := m.modPath + "/" + m.pkgDir()
	files := map[string][]byte{filepath.Join(absDir, m.pkgDir(), "zz_hotfix_main.go"): src}
	t0 = time.Now()
	r, err := finish(ctx, opt, pluginBuild{m: m, host: host, tmp: tmp, dir: absDir, files: files, pkgPattern: "./" + m.pkgDir(), pluginPath: pluginPath, targets: targets})
	if r != nil {
		took.Patch = time.Since(t0)
		r.Took = took
	}
	// -func compiles the working tree's module packages as they are, and
	// refuses standard ones: any other package is the release's source.
	if hint := flagsHint(err, opt.Flags, func(pkg string) bool { return !stdPackage(pkg) }); hint != "" {
		err = fmt.Errorf("%w\n%s", err, hint)
	} else if errors.Is(err, loader.ErrIncompatible) && strings.Contains(err.Error(), "export data changed") {
		err = fmt.Errorf("%w\nWith -func, the packages are compiled from the working tree as it is: a line added or removed anywhere in such a package moves the positions its export data records. Keep the line count of the package, or build without -func, which fits each changed body into the release's lines and compares every declaration", err)
	}
	return r, err
}

// funcsAdmissible checks the functions named with -func: in the release,
// not standard, and allowed by the policy.
func funcsAdmissible(bin *loader.Binary, opt Options) error {
	if err := inRelease(bin, opt.Funcs); err != nil {
		return err
	}
	if err := notStandard(opt.Funcs); err != nil {
		return err
	}
	var denied []error
	for _, fn := range opt.Funcs {
		if opt.Policy != nil {
			if err := opt.Policy.Permits(fn); err != nil {
				denied = append(denied, err)
			}
		}
	}
	return errors.Join(denied...)
}

// buildChanged finds the changed functions itself.
func buildChanged(ctx context.Context, opt Options) (*Result, error) {
	m, err := newMeta(ctx, opt)
	if err != nil {
		return nil, err
	}
	// The whole module is compared, wherever in it the build runs.
	absDir, err := goOut(ctx, opt.Dir, nil, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return nil, err
	}
	opt.Dir = absDir
	tmp, err := os.MkdirTemp("", "hotfix-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	t0 := time.Now()
	wt, err := checkoutBase(ctx, opt, tmp)
	if err != nil {
		return nil, err
	}
	defer wt.remove()
	if opt.Flags == nil {
		// The flags the release was built with: from its own tree, whose
		// main packages `hotfix flags` saw.
		if opt.Flags, err = opt.Policy.ModuleBuildFlags(ctx, wt.dir); err != nil {
			return nil, err
		}
	}
	host, mainPkg, err := releaseBinary(ctx, opt, wt, tmp)
	if err != nil {
		return nil, err
	}
	took := Timings{Release: time.Since(t0)}
	t0 = time.Now()
	plan, err := analyzeRelease(ctx, &opt, wt.dir, absDir, mainPkg, tmp, host)
	if err != nil {
		return nil, err
	}
	took.Analysis = time.Since(t0)
	res := &Result{Plan: plan, Took: took}
	fmt.Fprintf(opt.Plan, "release %s (%s), working tree %s\n", wt.rev[:12], opt.baseName(), absDir)
	if opt.GoRoot != "" {
		fmt.Fprintf(opt.Plan, "standard library: %s, the fixes from %s\n", plan.goroot, opt.GoRoot)
	}
	if err := plan.Write(opt.Plan); err != nil {
		return nil, err
	}
	if err := plan.Err(); err != nil {
		return res, err
	}
	if opt.DryRun {
		return res, nil
	}
	files, pkgPattern, pluginPath, targets, err := plan.sources(m, wt.dir, mainPkg)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	r, err := finish(ctx, opt, pluginBuild{m: m, host: host, tmp: tmp, dir: wt.dir, files: files, pkgPattern: pkgPattern, pluginPath: pluginPath, targets: targets, plan: plan, mainPkg: mainPkg})
	if refused := removedInUse(err, plan); refused != nil {
		err = refused
	} else if hint := flagsHint(err, opt.Flags, plan.compiles); hint != "" {
		err = fmt.Errorf("%w\n%s", err, hint)
	} else if err != nil && errors.Is(err, loader.ErrIncompatible) {
		if d := diagnose(ctx, opt, wt.dir, tmp, plan); d != "" {
			err = fmt.Errorf("%w\n%s", err, d)
		}
	}
	if r != nil {
		took.Patch = time.Since(t0)
		r.Plan, r.Took = plan, took
	}
	return r, err
}

// analyzeRelease compares the release's source at base with the fix at
// dir, and checks the plan against the release's binary. With opt.Go it
// first sets opt.GoRoot to that release's root, now that the release's Go
// is known: a release that does not fit it is refused before it is
// fetched.
func analyzeRelease(ctx context.Context, opt *Options, base, dir, mainPkg, tmp string, host *hostInfo) (*Plan, error) {
	release := host.bin.BuildInfo().GoVersion
	rootFlag := "-goroot " + opt.GoRoot
	if opt.Go != "" {
		root, err := toolchainRoot(ctx, tmp, release, opt.Go)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(opt.Log, "-go %s: its Go root is %s\n", opt.Go, root)
		opt.GoRoot, rootFlag = root, "-go "+opt.Go
	}
	plan, err := analyze(ctx, analyzeInput{Base: base, Fix: dir, Main: mainPkg, Flags: opt.Flags, Log: opt.Log, GoVersion: release, GoRoot: opt.GoRoot, RootFlag: rootFlag,
		Bin: host.bin, KeepInlining: opt.Policy.KeepsInlining()})
	if err != nil {
		return nil, err
	}
	plan.check(host.bin, opt.Policy)
	return plan, nil
}

// releaseBinary is the release the patch is for: the binary given with
// -binary, or the base revision built again with the same flags.
// It returns the import path of the release's main package too: -main,
// or the path the binary records, or the only main package in the tree.
func releaseBinary(ctx context.Context, opt Options, wt *worktree, tmp string) (*hostInfo, string, error) {
	if opt.Binary != "" {
		bin, err := loader.ReadBinary(opt.Binary)
		if err != nil {
			return nil, "", err
		}
		if err := builtFrom(bin.BuildInfo(), wt.rev); err != nil {
			return nil, "", fmt.Errorf("%s: %w", opt.Binary, err)
		}
		mainPkg := recordedMain(bin.BuildInfo())
		if mainPkg == "" || opt.Main != "" {
			if mainPkg, err = resolveMain(ctx, wt.dir, opt.Main); err != nil {
				return nil, "", err
			}
		}
		return &hostInfo{bin: bin, revision: wt.rev}, mainPkg, nil
	}
	mainPkg, err := resolveMain(ctx, wt.dir, opt.Main)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(opt.Log, "building the release (%s at %s) to learn its build ID\n", mainPkg, wt.rev[:12])
	host, err := buildHost(ctx, opt, wt.dir, mainPkg, tmp)
	if err != nil {
		return nil, "", err
	}
	host.revision = wt.rev
	return host, mainPkg, nil
}

// recordedMain returns the main package's import path the go command
// wrote into the binary, "" for none or for a build of files named on
// the command line.
func recordedMain(info *debug.BuildInfo) string {
	if info == nil || info.Path == "command-line-arguments" {
		return ""
	}
	return info.Path
}

// keepBuilt drops the closures the patch has no code for: the copy of
// package main in a patch is compiled with inlining on (its import path
// matches no -gcflags pattern of the release), so a closure called where
// it is written may be inlined into its function, which is replaced and
// carries the new code. A closure replaced because its function holds an
// inlined copy of a target (holders.go) is refused instead: the release's
// instances of it would keep the old code. Any other missing target is an
// error.
func keepBuilt(opt Options, soFile string, targets []loader.Target, plan *Plan) ([]loader.Target, error) {
	syms := make([]string, len(targets))
	for i, t := range targets {
		syms[i] = t.Name
		if t.PluginSymbol != "" {
			syms[i] = t.PluginSymbol
		}
	}
	has, err := loader.PluginCode(soFile, syms)
	if err != nil {
		return nil, err
	}
	var keep []loader.Target
	for i, t := range targets {
		sym := syms[i]
		if has[sym] {
			keep = append(keep, t)
			continue
		}
		n, err := symbol.Parse(t.Name)
		if pt := plan.target(t.Name); pt.inlines != "" {
			return nil, fmt.Errorf("%w: %s holds an inlined copy of %s, and the patch compiles no function of that name (the new %s is not inlined there, or its closures changed): the release's would keep the old code", ErrRefused, t.Name, shortSym(pt.inlines), shortSym(pt.inlines))
		}
		if err != nil || n.Closure == "" {
			return nil, fmt.Errorf("internal error: the patch has no code for %s (%s)", t.Name, sym)
		}
		fmt.Fprintf(opt.Plan, "note: %s: inlined into %s in the patch; the new %s has its own copy, closures the release created keep the old code\n", t.Name, n.Outer(), n.Outer())
	}
	return keep, nil
}

func (opt Options) baseName() string {
	if opt.Base == "" {
		return "HEAD"
	}
	return opt.Base
}

// pluginBuild is one go build of a patch's plugin.
type pluginBuild struct {
	m          *meta
	host       *hostInfo
	tmp        string            // scratch directory, removed by the caller
	dir        string            // where the go command runs
	files      map[string][]byte // absolute path -> source, given as an overlay
	pkgPattern string            // the generated main package, relative to dir
	pluginPath string
	targets    []loader.Target
	plan       *Plan  // nil when the targets were named with -func
	mainPkg    string // the release's main package, for plan.sources
	prep       <-chan slimPrep
}

// finish builds the plugin, adds the manifest, checks the result against
// the host and writes it.
func finish(ctx context.Context, opt Options, b pluginBuild) (*Result, error) {
	files, err := b.privateRoot(opt)
	if err != nil {
		return nil, err
	}
	files, _, err = shadowModCache(b.tmp, files)
	if err != nil {
		return nil, err
	}
	env := shadowEnv(b.tmp)
	overlayFile, err := writeOverlay(b.tmp, files)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the background go commands, if the build stops early
	if opt.Slim {
		b.prep = b.startSlimPrep(ctx, opt, env)
	}
	adopt, err := b.toAdopt(ctx, opt, files)
	if err != nil {
		return nil, err
	}
	soFile := filepath.Join(b.tmp, "patch.so")
	listed := startListing(ctx, b.dir, env, opt.Flags, overlayFile, noopPackages(b.targets))
	fingerprints, err := b.build(ctx, opt, env, overlayFile, soFile, adopt)
	if err != nil {
		return nil, err
	}
	targets := b.targets
	if err := adoptFingerprints(soFile, b.host.bin, fingerprints); err != nil {
		return nil, err
	}
	if b.plan != nil {
		if err := b.plan.checkDicts(opt.Plan, b.host.bin.Path, soFile, b.pluginPath); err != nil {
			return nil, err
		}
		if targets, err = keepBuilt(opt, soFile, targets, b.plan); err != nil {
			return nil, err
		}
	}
	targets, noop := b.noops(opt, targets, listed)
	elfBytes, err := os.ReadFile(soFile)
	if err != nil {
		return nil, err
	}
	man := loader.Manifest{
		ID:           b.m.id,
		Version:      b.m.version,
		Sequence:     b.m.seq,
		BaseRevision: b.host.revision,
		PluginPath:   b.pluginPath,
		Anchor:       anchorName,
		Targets:      targets,
		Adopted:      adopt,
		GoVersion:    b.m.goVersion,
		BuildFlags:   opt.Flags,
		Host:         loader.Host{BuildID: b.host.bin.BuildID(), MainPath: b.host.bin.BuildInfo().Path},
		Built:        time.Now().UTC().Truncate(time.Second),
	}
	out, err := b.signChecked(opt, elfBytes, man)
	if err != nil {
		return nil, err
	}
	if noop != nil {
		return nil, noop
	}
	if err := writeFileAtomic(opt.Out, out); err != nil {
		return nil, err
	}
	return &Result{Manifest: man, Out: opt.Out, Size: len(out)}, nil
}

// signChecked adds the manifest and signature to the plugin's bytes, and
// checks the result as the agent would: the patch must pass every offline
// check against the host it was built for before anyone copies it
// anywhere.
func (b *pluginBuild) signChecked(opt Options, elfBytes []byte, man loader.Manifest) ([]byte, error) {
	out, err := loader.Encode(elfBytes, man, opt.Key)
	if err != nil {
		return nil, err
	}
	f, err := loader.Decode(out)
	if err != nil {
		return nil, fmt.Errorf("self-check: %w", err)
	}
	if _, err := (admit.Checks{Binary: b.host.bin, Policy: opt.Policy, Shape: admit.FileShape(b.host.bin)}).Admit(f, opt.Out); err != nil {
		return nil, fmt.Errorf("self-check against %s: %w", b.host.bin.Path, err)
	}
	return out, nil
}

// build builds the plugin into soFile, slim when asked and possible, and
// returns the packages whose fingerprint it takes from the release.
func (b *pluginBuild) build(ctx context.Context, opt Options, env []string, overlayFile, soFile string, adopt []string) ([]string, error) {
	if opt.Slim {
		// The fingerprint check's compile runs beside the link; it is
		// stopped if the plugin is linked whole.
		ectx, cancel := context.WithCancel(ctx)
		defer cancel()
		exports := b.startExports(ectx, opt, env, overlayFile)
		slim, err := b.slimBuild(ctx, opt, env, overlayFile, soFile)
		if err != nil {
			return nil, err
		}
		if slim {
			return b.slimFingerprints(<-exports, soFile, adopt)
		}
	}
	return adopt, b.goBuild(ctx, opt, env, overlayFile, soFile)
}

// goBuild builds the plugin into soFile.
func (b *pluginBuild) goBuild(ctx context.Context, opt Options, env []string, overlayFile, soFile string) error {
	fmt.Fprintf(opt.Log, "building patch %s (plugin %s) for %d function(s)\n", b.m.version, b.pluginPath, len(b.targets))
	args := append([]string{"build", "-buildmode=plugin", "-overlay", overlayFile}, opt.Flags...)
	args = append(args, "-o", soFile, b.pkgPattern)
	if _, err := goOut(ctx, b.dir, env, args...); err != nil {
		if strings.Contains(err.Error(), "when dynamic linking") {
			// Assembly that uses R15 after a global access: the go
			// command builds plugins with -dynlink, which reserves it.
			return fmt.Errorf("%w: assembly not buildable into a plugin: a package the patch links has assembly that -dynlink rejects (upgrade it in a release first):\n%v", ErrRefused, err)
		}
		return err
	}
	return nil
}

// toAdopt checks, before the plugin is built, that every replaced
// function's parameters escape no more than the release's, and returns
// the packages whose fingerprint the plugin takes from the release: the
// rebuilt ones, those whose parameters escape less, and the packages the
// plugin compiles from the release's own source that import them.
//
// Where a parameter escapes more, the callers compiled for the old escape
// analysis are replaced too (escapecallers.go): they are added to the plan,
// and the generated main package, which keeps every target linked, is
// written again into the overlay files.
func (b *pluginBuild) toAdopt(ctx context.Context, opt Options, files map[string][]byte) ([]string, error) {
	if b.plan == nil {
		return nil, nil
	}
	less, added, err := b.plan.checkEscapes(ctx, opt, b.dir, b.tmp, b.host.inlinedAt)
	if err != nil {
		return nil, err
	}
	if len(added) > 0 {
		for _, t := range added {
			fmt.Fprintf(opt.Plan, "also replaced: %s  %s  %s\n", t.Pos, t.Name, t.Reason)
		}
		b.plan.Targets = append(b.plan.Targets, added...)
		regen, _, _, targets, err := b.plan.sources(b.m, b.dir, b.mainPkg)
		if err != nil {
			return nil, err
		}
		for path, src := range b.inPrivateRoot(regen) {
			if _, ok := files[path]; ok || !strings.HasPrefix(path, modCache()+string(filepath.Separator)) {
				files[path] = src
			}
		}
		if _, err := writeOverlay(b.tmp, files); err != nil {
			return nil, err
		}
		b.targets = targets
	}
	adopt := append(b.plan.rebuiltPaths(), less...)
	adopt = append(adopt, b.plan.unchangedImporters(adopt)...)
	adopt = append(adopt, b.plan.inlineAdopt...)
	slices.Sort(adopt)
	return slices.Compact(adopt), nil
}

// writeOverlay writes files into tmp and the go command's -overlay file
// that puts them in place of the paths they are keyed by.
func writeOverlay(tmp string, files map[string][]byte) (string, error) {
	return overlay.Write(tmp, files)
}

const anchorName = "HotfixTargets"

var mainTemplate = template.Must(template.New("main").Parse(`// Code generated by hotfix build. DO NOT EDIT.

// The plugin main package of one patch. Its import path is unique per patch,
// so the runtime never sees the same plugin path twice, and its exported
// variable keeps every target function in the plugin: the linker drops
// whatever a plugin's exported symbols do not reach.
{{- if .Main}}
//
// The other files of this package are the fix's package main, without
// its variables and init functions: each variable below is the release's
// own (go:linkname to main.NAME, which the dynamic linker binds to the
// running program's), so the new code shares the program's state and
// opening the plugin initializes nothing twice.
{{- end}}
package main

import (
	_ "unsafe" // go:linkname
{{range .Imports}}
	{{.Name}} {{printf "%q" .Path}}{{end}}
{{range .Pkgs}}
	_ {{printf "%q" .}}{{end}}
)
{{range .Vars}}
//go:linkname {{.Name}} main.{{.Name}}
var {{.Name}} {{.Type}}
{{end}}
{{- range $i, $f := .Funcs}}
//go:linkname hotfixTarget{{$i}} {{$f}}
func hotfixTarget{{$i}}()
{{end}}
{{- range $i, $f := .Inits}}
//go:linkname hotfixInit{{$i}} {{$f}}
func hotfixInit{{$i}}()
{{end}}
{{- if .Inits}}
// init runs the initializers of the variables the patch adds, once per
// process, when the plugin opens: before any jump is written.
func init() {
{{- range $i, $f := .Inits}}
	hotfixInit{{$i}}()
{{- end}}
}
{{end}}
var {{.Anchor}} = []any{ {{- range .Exprs}}{{.}}, {{end}}{{range $i, $f := .Funcs}}hotfixTarget{{$i}}, {{end -}} }
{{if not .Main}}
func main() {}
{{- end}}
`))

func generateMain(funcs []string, pkgs map[string]bool) ([]byte, error) {
	funcs, err := keptBy(funcs)
	if err != nil {
		return nil, err
	}
	var list []string
	for p := range pkgs {
		list = append(list, p)
	}
	sort.Strings(list)
	var buf bytes.Buffer
	err = mainTemplate.Execute(&buf, map[string]any{"Pkgs": list, "Funcs": funcs, "Anchor": anchorName})
	return buf.Bytes(), err
}

// keptBy returns the functions the plugin's main package must refer to so
// that the linker keeps every target: a closure is kept by the function
// that creates it. A go:linkname to the closure itself fails to link from
// Go 1.27 on, where closures are static symbols of their package
// (TestPluginClosureSymbols).
func keptBy(funcs []string) ([]string, error) {
	var out []string
	for _, fn := range funcs {
		n, err := symbol.Parse(fn)
		if err != nil {
			return nil, err
		}
		out = append(out, n.Outer().String())
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// builtFrom checks what a release binary says of its source against the
// revision the patch is built on: a binary built from another revision,
// or from a modified tree, has other code and layouts than the source the
// patch is compared with, and a rebuilt package's adopted fingerprint
// (adopt.go) would not show it. A binary without version control
// information (-buildvcs=false, or built outside the repository) is taken
// as it is.
func builtFrom(bi *debug.BuildInfo, rev string) error {
	if bi == nil {
		return nil
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if r := settings["vcs.revision"]; r != "" && r != rev {
		return fmt.Errorf("built from revision %.12s, not the release %.12s: build the patch on the revision the binary was built from (-base), or give the binary of this one", r, rev)
	}
	if settings["vcs.modified"] == "true" {
		return fmt.Errorf("built from a modified tree at %.12s, whose source no revision holds: build the release from a clean checkout", settings["vcs.revision"])
	}
	return nil
}

// notStandard refuses -func for a standard-library function: its fixed
// code is in a Go root, not in the tree the patch is built from, which
// would give the patch the release's own code.
func notStandard(funcs []string) error {
	for _, fn := range funcs {
		if n, err := symbol.Parse(fn); err == nil && policy.Standard(n.Package) {
			return fmt.Errorf("%w: -func %s: a standard-library function: its fixed code is in a new Go release's root; build without -func, with -goroot DIR", ErrRefused, fn)
		}
	}
	return nil
}

// inRelease checks that each function named with -func is one of the
// release's, and otherwise says what the name is closest to: a misspelled
// name would otherwise surface as the linker's "missing section for
// relocation target".
func inRelease(bin *loader.Binary, funcs []string) error {
	var all []string
	for _, fn := range funcs {
		if _, ok := bin.Func(fn); ok {
			continue
		}
		if all == nil {
			all = bin.Funcs()
		}
		n, _ := symbol.Parse(fn)
		var same []string
		for _, f := range all {
			if m, err := symbol.Parse(f); err == nil && m.Package == n.Package {
				same = append(same, f)
			}
		}
		why := "no function of that name"
		if len(same) == 0 {
			why = "no package " + n.Package + " in it"
		}
		if s := suggest.Closest(fn, same, 4); s != "" {
			why += "; did you mean " + s + "?"
		}
		return fmt.Errorf("%w: -func %s: not in the release binary: %s", ErrRefused, fn, why)
	}
	return nil
}
