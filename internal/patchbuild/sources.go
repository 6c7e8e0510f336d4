package patchbuild

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gohotfix/hotfix/internal/symbol"
	"github.com/gohotfix/hotfix/loader"
)

// sources returns what the go command compiles for the patch: the files
// (absolute paths inside the release checkout at root, given as an
// overlay), the package to build, its import path (the plugin path) and
// the manifest's targets.
//
// Without changes in package main, the plugin main package is a generated
// file in a new directory of the module. With them, it is a copy of the
// fix's package main in a new directory under main's own (so that main's
// internal imports still resolve), plus the generated file: the command
// line form (go build a.go b.go) would give it a plugin path that the
// runtime accepts, but no main module in its build information, which
// the loader refuses.
func (p *Plan) sources(m *meta, root, mainPkg string) (map[string][]byte, string, string, []loader.Target, error) {
	files := maps.Clone(p.overlays)
	if files == nil {
		files = map[string][]byte{}
	}
	dir, pluginPath := m.pkgDir(), m.modPath+"/"+m.pkgDir()
	if p.mainPkg != nil {
		dir = filepath.Join(p.mainPkg.dir, m.pkgDir())
		pluginPath = mainPkg + "/" + m.pkgDir()
	}
	tl, err := p.loaderTargets(pluginPath)
	if err != nil {
		return nil, "", "", nil, err
	}
	linked, exprs, targets, pkgs := tl.linked, tl.exprs, tl.targets, tl.pkgs
	gfiles, keep := p.genericFiles()
	for name, src := range gfiles {
		files[filepath.Join(root, dir, name)] = src
	}
	exprs = append(exprs, keep...)
	slices.Sort(exprs)
	exprs = slices.Compact(exprs)
	var pkgList []string
	for pk := range pkgs {
		imp := importerFor(pluginPath, pk, p.imports)
		if imp == "" {
			return nil, "", "", nil, fmt.Errorf("package %s is internal to its module, and no package of the release that the patch may import imports it", pk)
		}
		pkgList = append(pkgList, imp)
	}
	sort.Strings(pkgList)
	pkgList = slices.Compact(pkgList)
	data := map[string]any{"Pkgs": pkgList, "Funcs": linked, "Exprs": exprs, "Anchor": anchorName, "Inits": p.inits()}
	gen := filepath.Join(root, dir, "zz_hotfix_main.go")
	if p.mainPkg != nil {
		for name, src := range p.mainPkg.files {
			files[filepath.Join(root, dir, name)] = src
		}
		type imp struct{ Name, Path string }
		var imps []imp
		for path, name := range p.mainPkg.imports {
			imps = append(imps, imp{name, path})
		}
		sort.Slice(imps, func(i, j int) bool { return imps[i].Path < imps[j].Path })
		data["Imports"] = imps
		data["Vars"] = p.mainPkg.vars
		data["Main"] = true
		gen = filepath.Join(root, dir, "zz_hotfix.go")
	}
	var buf bytes.Buffer
	if err := mainTemplate.Execute(&buf, data); err != nil {
		return nil, "", "", nil, err
	}
	files[gen] = buf.Bytes()
	return files, "./" + filepath.ToSlash(dir), pluginPath, targets, nil
}

// targetList is what the generated main package keeps and the manifest
// lists, per target of the plan.
type targetList struct {
	linked  []string // targets outside main, by linker name
	exprs   []string // targets in main, as Go expressions of the copy
	targets []loader.Target
	pkgs    map[string]bool // packages of the targets outside main
}

// loaderTargets turns the plan's targets into the manifest's, each with
// the symbol of its new code in a plugin at pluginPath.
func (p *Plan) loaderTargets(pluginPath string) (targetList, error) {
	tl := targetList{pkgs: map[string]bool{}}
	for _, t := range p.Targets {
		lt := loader.Target{Name: t.Name, Signature: t.Signature, Reason: t.Reason}
		if t.generic != nil {
			// The new code is the copy's instantiation (genericplan.go).
			lt.PluginSymbol = pluginPath + "." + t.plugin
			tl.targets = append(tl.targets, lt)
			continue
		}
		if !t.main {
			switch {
			case t.outer == "":
				tl.linked = append(tl.linked, t.Name)
			case p.target(t.outer).Name == "":
				// A closure replaced alone (one holding an inlined
				// copy): its function, not replaced, keeps it linked.
				tl.linked = append(tl.linked, t.outer)
			}
			tl.pkgs[t.pkg] = true
			tl.targets = append(tl.targets, lt)
			continue
		}
		n, err := symbol.Parse(t.Name)
		if err != nil {
			return tl, err
		}
		ps := n
		ps.Package, ps.Func = pluginPath, copyName(n.Func)
		lt.PluginSymbol = ps.String()
		tl.targets = append(tl.targets, lt)
		// A closure is kept by its function, which creates it.
		switch {
		case n.Receiver != "" && n.Pointer:
			tl.exprs = append(tl.exprs, "(*"+n.Receiver+")."+n.Func)
		case n.Receiver != "":
			tl.exprs = append(tl.exprs, n.Receiver+"."+n.Func)
		default:
			tl.exprs = append(tl.exprs, ps.Func)
		}
	}
	return tl, nil
}

// diagnosticFlags are the compiler flags of a package compiled again for
// its diagnostics, after the flags v the release compiled it with: -m for
// inlined calls and escape analysis, and escapemutationscalls, for
// whether a parameter is written through or called too, which the
// compiler exports and callers rely on (a []byte(s) conversion passed to
// a parameter that is not written through shares s's bytes:
// cmd/compile/internal/escape/escape.go, OSTR2BYTES). The inline-site
// and escape checks use the same flags, so the release's compile of a
// package serves both from the build cache.
func diagnosticFlags(v string) string {
	return strings.TrimSpace(v + " -m -d=escapemutationscalls=1")
}

var mLine = regexp.MustCompile(`^(?:\./)?(\S+?\.go):(\d+):(\d+): (.*)$`)

// escapeDiagnostics compiles pkg with -m, as the release has it or (with
// overlay) as the patch compiles it, and returns the escape analysis
// diagnostic of each parameter by "file:line:col name", the file as the
// compiler prints it. The escape analysis of a parameter is part of the
// export data (cmd/compile/internal/noder/linker.go, relocFuncExt), and
// the release's callers were compiled for the release's.
func escapeDiagnostics(ctx context.Context, opt Options, root, tmp, pkg string, overlay bool) (map[string]string, error) {
	// With the flags the release compiled pkg with (-l, or none under
	// inlining: keep, where escape analysis runs on inlined bodies).
	v, err := gcflagsFor(opt.Flags, pkg)
	if err != nil {
		return nil, err
	}
	args := append(slices.Clone(opt.Flags), "-gcflags="+pkg+"="+diagnosticFlags(v))
	var env []string
	if overlay {
		args = append(args, "-overlay", filepath.Join(tmp, "overlay.json"))
		env = shadowEnv(tmp)
	}
	out, err := compileOutput(ctx, root, env, args, []string{pkg})
	if err != nil {
		return nil, fmt.Errorf("compiling with -gcflags=%s=-m: %v\n%s", pkg, err, out)
	}
	return paramDiagnostics(out), nil
}

// escapeBoth returns escapeDiagnostics of pkg in the release and in the
// patch: the two compiles run side by side.
func escapeBoth(ctx context.Context, opt Options, root, tmp, pkg string) (before, after map[string]string, err error) {
	done := make(chan error, 1)
	go func() {
		var err error
		after, err = escapeDiagnostics(ctx, opt, root, tmp, pkg, true)
		done <- err
	}()
	before, err = escapeDiagnostics(ctx, opt, root, tmp, pkg, false)
	if afterErr := <-done; err == nil {
		err = afterErr
	}
	return before, after, err
}

// paramDiagnostics returns the escape analysis diagnostics of each
// parameter in the compiler's -m output by "file:line:col name", several
// of one parameter joined by "; " in sorted order.
func paramDiagnostics(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		sm := mLine.FindStringSubmatch(l)
		if sm == nil {
			continue
		}
		msg := sm[4]
		param := paramOf(msg)
		if param == "" || strings.ContainsAny(param, " ()[]{}&*.") {
			continue
		}
		k := sm[1] + ":" + sm[2] + ":" + sm[3] + " " + param
		if prev, ok := m[k]; ok {
			all := append(strings.Split(prev, "; "), msg)
			slices.Sort(all)
			msg = strings.Join(slices.Compact(all), "; ")
		}
		m[k] = msg
	}
	return m
}

// paramOf returns the parameter an escape analysis diagnostic is about,
// or "" for another diagnostic.
func paramOf(msg string) string {
	for _, prefix := range []string{"leaking param content: ", "leaking param: ", "mutates param: ", "calls param: ", "moved to heap: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			param, _, _ := strings.Cut(rest, " ")
			return param
		}
	}
	if strings.Contains(msg, " literal") {
		return ""
	}
	for _, suffix := range []string{" does not escape", " does not escape, mutate, or call"} {
		if param, ok := strings.CutSuffix(msg, suffix); ok {
			return param
		}
	}
	return ""
}

// diagnose explains a fingerprint mismatch of a package the patch changed:
// it compiles the release and the patched package with -m and names the
// parameters whose escape analysis changed. A rebuilt package is left
// out: its lines moved, so positions do not pair its parameters (which
// checkEscapes compared one by one), and its fingerprint is adopted.
func diagnose(ctx context.Context, opt Options, root, tmp string, p *Plan) string {
	var lines []string
	for _, pkg := range p.pkgs {
		if p.isRebuilt(pkg) {
			continue
		}
		trim := func(m map[string]string) map[string]string {
			out := map[string]string{}
			for k, v := range m {
				out[strings.TrimPrefix(k, p.Module+"/")] = v
			}
			return out
		}
		before, after, err := escapeBoth(ctx, opt, root, tmp, pkg)
		if err != nil {
			continue
		}
		before, after = trim(before), trim(after)
		for _, k := range unionKeys(before, after) {
			if before[k] == after[k] {
				continue
			}
			pos, param, _ := strings.Cut(k, " ")
			obj := pkg
			if i := strings.LastIndexByte(pos, ':'); i >= 0 {
				for _, t := range p.Targets {
					if t.Pos == pos[:i] {
						obj = t.Name
					}
				}
			}
			lines = append(lines, escapeLine(pos, obj, param, before[k], after[k]))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "why:\n" + strings.Join(lines, "\n")
}

func escapeLine(pos, obj, param, b, a string) string {
	if b == "" {
		b = "no diagnostic"
	}
	if a == "" {
		a = "no diagnostic"
	}
	return fmt.Sprintf("  %s: %s: parameter %s: escape analysis changed (release: %s; fix: %s): the release's callers were compiled for the release's; keep the parameter from escaping (copy it) or ship a new release", pos, obj, param, b, a)
}
