package patchbuild

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/internal/patchbuild/slimlink"
	"github.com/gohotfix/hotfix/internal/symbol"
)

// slimBuild builds the plugin into soFile linked against the release
// (package slimlink): it carries the targets' packages, the generated
// main package and the runtime, and leaves every other package to the
// release's own code. It reports false, saying why in the log, where the
// link could not be made slim; the caller then builds the plugin whole.
// The hotfix command is the go command's -toolexec program for it.
func (b *pluginBuild) slimBuild(ctx context.Context, opt Options, env []string, overlayFile, soFile string) (bool, error) {
	notSlim := func(why string) (bool, error) {
		fmt.Fprintf(opt.Log, "slim link not possible, the plugin carries every package: %s\n", why)
		return false, nil
	}
	if b.prep == nil {
		b.prep = b.startSlimPrep(ctx, opt, env)
	}
	prep := <-b.prep
	if prep.linkerErr != nil {
		return notSlim(prep.linkerErr.Error())
	}
	if prep.err != nil {
		return false, prep.err
	}
	linker, runtimeDeps := prep.linker, prep.runtimeDeps
	release, err := filepath.Abs(b.host.bin.Path) // the tools run in the go command's directories
	if err != nil {
		return false, err
	}
	whole := append(strings.Fields(runtimeDeps), b.pluginPath)
	cfg := slimlink.Config{
		Linker:  linker,
		Carry:   append(slices.Clone(whole), b.carried()...),
		Whole:   whole,
		Keep:    b.keep(),
		Release: release,
		Report:  filepath.Join(b.tmp, "slimlink-report.json"),
	}
	toolexec, err := b.toolExec(cfg, "slimlink.json")
	if err != nil {
		return notSlim(err.Error())
	}
	slimOpt := opt
	slimOpt.Flags = append(slices.Clone(opt.Flags), toolexec.flags...)
	slimEnv := append(slices.Clone(env), toolexec.env)
	if err := b.goBuild(ctx, slimOpt, slimEnv, overlayFile, soFile); err != nil {
		return false, err
	}
	rep, err := slimlink.ReadReport(cfg.Report)
	if err != nil {
		return false, err
	}
	if !rep.Slim {
		return notSlim(rep.Why)
	}
	fmt.Fprintf(opt.Log, "slim link: %d packages left to the release, links: %d", rep.Hollow, rep.Links)
	if rep.Splits > 0 {
		fmt.Fprintf(opt.Log, ", release functions a nosplit one calls that check their stack: %d", rep.Splits)
	}
	if len(rep.Carried) > 0 {
		fmt.Fprintf(opt.Log, "; carried for symbols the release lacks: %s", strings.Join(rep.Carried, ", "))
	}
	fmt.Fprintln(opt.Log)
	return true, nil
}

// slimPrep is what a slim link needs that no change to the plan alters:
// the edited linker and the runtime's packages.
type slimPrep struct {
	linker, runtimeDeps string
	linkerErr, err      error // linkerErr: no slim link; err: no build
}

// startSlimPrep finds the edited linker (building it the first time) and
// lists the runtime's packages in the background, beside the escape check.
func (b *pluginBuild) startSlimPrep(ctx context.Context, opt Options, env []string) <-chan slimPrep {
	c := make(chan slimPrep, 1)
	go func() {
		var p slimPrep
		cache, err := os.UserCacheDir()
		if err == nil {
			p.linker, err = slimlink.Linker(ctx, append(os.Environ(), env...), filepath.Join(cache, "hotfix", "slimlink"))
		}
		p.linkerErr = err
		p.runtimeDeps, p.err = goOut(ctx, b.dir, env, append(append([]string{"list", "-deps"}, opt.Flags...), "runtime", "runtime/cgo")...)
		c <- p
	}()
	return c
}

// carried returns the packages whose code the patch carries: the
// generated main package and the targets'.
func (b *pluginBuild) carried() []string {
	pkgs := []string{b.pluginPath}
	for _, t := range b.targets {
		if n, err := symbol.Parse(t.Name); err == nil && n.Package != "main" {
			pkgs = append(pkgs, n.Package)
		}
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// keep returns the functions the slim plugin carries as its own: the
// targets' new code, and the function holding a closure target, which the
// plugin reaches the closure through. The rest of their packages'
// functions the release has are the release's.
func (b *pluginBuild) keep() []string {
	var keep []string
	for _, t := range b.targets {
		keep = append(keep, t.Name)
		if t.PluginSymbol != "" {
			keep = append(keep, t.PluginSymbol)
		}
		if n, err := symbol.Parse(t.Name); err == nil && n.Closure != "" {
			keep = append(keep, n.Outer().String())
		}
	}
	return keep
}

// listedExports is the export data files of the plugin's packages,
// compiled as a whole plugin's are: "import/path file" lines.
type listedExports struct {
	out string
	err error
}

// startExports compiles the plugin's packages as a whole plugin's are,
// in the background: the slim link does not need them, and the two share
// the machine's cores. The channel yields one result. The hotfix command
// wraps the assembler only (slimlink.Config.Exports): assembly that
// -dynlink rejects in a package the slim plugin leaves hollow does not
// stop the compile of its export data.
func (b *pluginBuild) startExports(ctx context.Context, opt Options, env []string, overlayFile string) <-chan listedExports {
	c := make(chan listedExports, 1)
	go func() {
		toolexec, err := b.toolExec(slimlink.Config{Exports: true}, "slimlink-exports.json")
		if err != nil {
			c <- listedExports{err: err}
			return
		}
		args := append([]string{"list", "-export", "-deps", "-buildmode=plugin", "-overlay", overlayFile,
			"-f", "{{if .Export}}{{.ImportPath}} {{.Export}}{{end}}"}, opt.Flags...)
		args = append(append(args, toolexec.flags...), b.pkgPattern)
		out, err := goOut(ctx, b.dir, append(slices.Clone(env), toolexec.env), args...)
		c <- listedExports{out, err}
	}()
	return c
}

// toolExec is how a go command runs the hotfix command as its -toolexec
// program with a configuration.
type toolExec struct {
	flags []string // -toolexec and the hotfix command
	env   string   // the configuration's variable
}

// toolExec writes cfg into the build's directory as name and returns how
// to run the hotfix command with it.
func (b *pluginBuild) toolExec(cfg slimlink.Config, name string) (toolExec, error) {
	self, err := os.Executable()
	if err != nil {
		return toolExec{}, err
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return toolExec{}, err
	}
	file := filepath.Join(b.tmp, name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return toolExec{}, err
	}
	return toolExec{flags: []string{"-toolexec", self}, env: slimlink.ConfigEnv + "=" + file}, nil
}

// slimFingerprints returns the packages whose fingerprint the slim
// plugin takes from the release: all it holds, since -linkshared changes
// every package's. The check plugin.Open would have made is made here
// instead: every package of the plugin the analysis did not adopt,
// compiled the way a whole plugin is (without -linkshared), must have the
// release's fingerprint. Hollow packages are covered too: the carried
// code was compiled against their export data.
// The packages are compiled by startExports.
func (b *pluginBuild) slimFingerprints(exports listedExports, soFile string, adopt []string) ([]string, error) {
	if exports.err != nil {
		return nil, exports.err
	}
	whole := map[string]string{}
	for _, line := range strings.Split(exports.out, "\n") {
		pkg, export, ok := strings.Cut(line, " ")
		if !ok || slices.Contains(adopt, pkg) {
			continue
		}
		have, err := slimlink.Fingerprint(export)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", pkg, err)
		}
		whole[pkg] = have
	}
	if err := b.host.bin.SamePackages(whole); err != nil {
		return nil, err
	}
	all, err := slimlink.Packages(soFile)
	if err != nil {
		return nil, err
	}
	all = append(all, adopt...)
	slices.Sort(all)
	return slices.Compact(all), nil
}
