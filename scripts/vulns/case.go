package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// report is one entry of the extract.
type report struct {
	ID         string    `json:"id"`
	Module     string    `json:"module"`
	Vulnerable string    `json:"vulnerable"`
	Fixed      string    `json:"fixed"`
	Packages   []vulnPkg `json:"packages"`
}

type vulnPkg struct {
	Package           string   `json:"package"`
	Symbols           []string `json:"symbols"`
	VulnerableSymbols []string `json:"vulnerable_symbols"`
}

// result is the outcome of one report, as printed and as written to the
// results file.
type result struct {
	ID          string   `json:"id"`
	Module      string   `json:"module"`
	Vulnerable  string   `json:"vulnerable"`
	Fixed       string   `json:"fixed"`
	Outcome     string   `json:"outcome"`
	Rules       []string `json:"rules,omitempty"`    // refused: the distinct rule names
	Refusals    int      `json:"refusals,omitempty"` // refused: refusal lines in the plan
	Reason      string   `json:"reason,omitempty"`   // not seen, not set up, failed: why
	RunnerError bool     `json:"runner_error,omitempty"`
	Kept        int      `json:"kept"`                  // symbols the host keeps linked
	Fallbacks   []string `json:"fallbacks,omitempty"`   // symbols it could not keep, and why
	Through     []string `json:"through,omitempty"`     // internal packages, and the package the host reaches each through
	Holders     int      `json:"holders,omitempty"`     // plan lines replacing a function holding an inlined copy of a target
	Lines       []string `json:"lines,omitempty"`       // refused: the plan's refusal lines, cut
	Widened     []string `json:"widened,omitempty"`     // packages allowed beyond the report's, as refusals asked (inlining: keep)
	Slim        bool     `json:"slim,omitempty"`        // shippable: the patch was linked against the release (-slim)
	NotSlim     string   `json:"not_slim,omitempty"`    // shippable under -slim, linked whole: why
	PatchBytes  int64    `json:"patch_bytes,omitempty"` // shippable: the patch file's size
	Seconds     float64  `json:"seconds"`
	Dir         string   `json:"dir,omitempty"`  // the case directory, with -keep
	Tail        string   `json:"tail,omitempty"` // failed: the end of the output
}

// setupError means the case could not be set up: the report is excluded
// from the share, with the reason.
type setupError struct{ reason string }

func (e *setupError) Error() string { return e.reason }

func notSetUpf(format string, args ...any) error {
	return &setupError{oneLine(urls.ReplaceAllString(fmt.Sprintf(format, args...), "<url>"))}
}

// urls are left out of reasons: they name servers, not causes.
var urls = regexp.MustCompile(`https?://[^\s:]+`)

// runner holds what every case shares.
type runner struct {
	hotfix   string            // the CLI, built once from the checkout
	repo     string            // the checkout, replaced into every host
	repoReq  map[string]string // the checkout's own requirements: module -> version
	timeout  time.Duration
	keep     bool
	inlining string   // the policy's inlining mode ("": the default, keep)
	slim     bool     // hotfix build -slim
	env      []string // added to every command's environment
	caches   *caches  // the run's own GOCACHE and GOMODCACHE (cache.go)
}

// kase is one report being run.
type kase struct {
	*runner
	r       report
	dir     string
	ctx     context.Context
	res     *result
	tidyOut string   // what go mod tidy -e said it could not do
	allowed []string // the packages the case's policy allows
}

func (rn *runner) run(r report) *result {
	res := &result{ID: r.ID, Module: r.Module, Vulnerable: r.Vulnerable, Fixed: r.Fixed}
	start := time.Now()
	defer func() { res.Seconds = time.Since(start).Round(100 * time.Millisecond).Seconds() }()
	dir, err := os.MkdirTemp("", "hotfix-vulns-"+strings.ToLower(r.ID)+"-")
	if err != nil {
		res.Outcome, res.Reason, res.RunnerError = failed, err.Error(), true
		return res
	}
	if rn.keep {
		res.Dir = dir
	} else {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rn.timeout)
	defer cancel()
	k := &kase{runner: rn, r: r, dir: dir, ctx: ctx, res: res}
	err = k.setUp()
	var se *setupError
	switch {
	case errors.As(err, &se):
		res.Outcome, res.Reason = notSetUp, se.reason
		return res
	case ctx.Err() != nil:
		res.Outcome, res.Reason = failed, fmt.Sprintf("timeout after %s while setting up", rn.timeout)
		return res
	case err != nil:
		res.Outcome, res.Reason, res.RunnerError = failed, "runner: "+err.Error(), true
		return res
	}
	k.build()
	return res
}

// cmd runs a command in the case (or in dir, when not ""), with the
// combined output; it kills the command's whole process group when the
// case times out.
func (k *kase) cmd(dir, name string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(k.ctx, name, args...)
	cmd.Dir = k.dir
	if dir != "" {
		cmd.Dir = dir
	}
	cmd.Env = append(os.Environ(), "GOWORK=off", "GIT_AUTHOR_NAME=vulns", "GIT_AUTHOR_EMAIL=vulns@example.com",
		"GIT_COMMITTER_NAME=vulns", "GIT_COMMITTER_EMAIL=vulns@example.com")
	cmd.Env = append(cmd.Env, k.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if k.ctx.Err() != nil {
		return out.String(), -1, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), k.ctx.Err())
	}
	if err != nil && code == 0 {
		return out.String(), -1, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out.String(), code, nil
}

// must runs a command that has to succeed for the runner to go on.
func (k *kase) must(name string, args ...string) error {
	out, code, err := k.cmd("", name, args...)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s %s: exit %d: %s", name, strings.Join(args, " "), code, tail(out, 5))
	}
	return nil
}

// download fetches module@version into the module cache and returns its
// directory there.
func (k *kase) download(version string) (string, error) {
	out, _, err := k.cmd(os.TempDir(), "go", "mod", "download", "-json", k.r.Module+"@"+version)
	if err != nil {
		return "", err
	}
	dir, msg := parseDownload(out)
	if msg != "" {
		if strings.Contains(msg, "verifying") && strings.Contains(msg, "404") {
			return "", notSetUpf("not in the checksum database (-nosumdb skips the check): %s@%s: %s", k.r.Module, version, msg)
		}
		return "", notSetUpf("module not served: %s@%s: %s", k.r.Module, version, msg)
	}
	return dir, nil
}

// parseDownload reads `go mod download -json` output: the module's
// directory, or why there is none. The go command may print notes before
// the JSON on the same stream (a toolchain it fetches first: "go:
// downloading go1.27.3"), and they are not the reason.
func parseDownload(out string) (dir, msg string) {
	var info struct{ Dir, Error string }
	i := strings.IndexByte(out, '{')
	if i < 0 || json.Unmarshal([]byte(out[i:]), &info) != nil {
		return "", firstError(out)
	}
	if info.Error != "" {
		return "", firstLine(info.Error)
	}
	if info.Dir == "" {
		return "", "no directory in the module cache"
	}
	return info.Dir, ""
}

// incompatibleGoMod is a go.mod for a module from before modules
// (+incompatible), which a directory replacement needs: the one the go
// command synthesizes ("module M"), or, where the module keeps its
// requirements in a vendor.mod (docker/docker, docker/cli), those: the
// versions its code builds with, as a service vendoring it pins them.
func incompatibleGoMod(third, module string) []byte {
	b, err := os.ReadFile(filepath.Join(third, "vendor.mod"))
	if err != nil {
		return []byte("module " + module + "\n")
	}
	return vendorModule.ReplaceAll(b, []byte("module "+module))
}

var vendorModule = regexp.MustCompile(`(?m)^module\s+\S+`)

// dependencyReplaces are the module's own replacements of other modules
// by module versions: the go command ignores them in a dependency, so a
// service using the module copies them into its go.mod (cosmos-sdk, for
// one, asks its users to). Directory replacements are the module's own
// business and are left out.
func (k *kase) dependencyReplaces(third string) ([]string, error) {
	out, code, err := k.cmd(third, "go", "mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, notSetUpf("go.mod of the module unreadable: %s", firstError(out))
	}
	var gm struct {
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal([]byte(out), &gm); err != nil {
		return nil, err
	}
	var lines []string
	for _, r := range gm.Replace {
		if r.New.Version == "" || r.Old.Path == k.r.Module || r.Old.Path == "github.com/gohotfix/hotfix" {
			continue
		}
		old := r.Old.Path
		if r.Old.Version != "" {
			old += " " + r.Old.Version
		}
		lines = append(lines, fmt.Sprintf("replace %s => %s %s\n", old, r.New.Path, r.New.Version))
	}
	return lines, nil
}

// third is where the host's copy of the module lives, relative to the case.
func (k *kase) third() string { return filepath.Join("third_party", filepath.FromSlash(k.r.Module)) }

// pkgDir is a package's directory inside a copy of the module at root.
func (k *kase) pkgDir(root, pkg string) string {
	return filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, k.r.Module), "/")))
}

// setUp writes the release (the host, the module at the vulnerable
// version through a local copy, committed) and then the working tree
// (the listed packages' Go files from the fixed version).
func (k *kase) setUp() error {
	for _, p := range k.r.Packages {
		if p.Package != k.r.Module && !strings.HasPrefix(p.Package, k.r.Module+"/") {
			return notSetUpf("package outside the module: %s", p.Package)
		}
	}
	vulnDir, err := k.download(k.r.Vulnerable)
	if err != nil {
		return err
	}
	fixDir, err := k.download(k.r.Fixed)
	if err != nil {
		return err
	}
	third := filepath.Join(k.dir, k.third())
	if err := copyTree(vulnDir, third); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(third, "go.mod")); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(filepath.Join(third, "go.mod"), incompatibleGoMod(third, k.r.Module), 0o644); err != nil {
			return err
		}
	}
	imports, refs, err := k.keepList(third)
	if err != nil {
		return err
	}
	replaces, err := k.dependencyReplaces(third)
	if err != nil {
		return err
	}
	if err := k.writeHost(imports, refs, replaces); err != nil {
		return err
	}
	out, code, err := k.cmd("", "go", "mod", "tidy", "-e")
	if err != nil {
		return err
	}
	k.tidyOut = out
	if code != 0 {
		if m := sumDBMissing.FindStringSubmatch(out); m != nil {
			return notSetUpf("not in the checksum database (-nosumdb skips the check): dependency %s", m[1])
		}
		return notSetUpf("go mod tidy: %s", firstError(out))
	}
	if err := k.compileHost(imports, refs); err != nil {
		return err
	}
	if err := k.must("git", "init", "-q"); err != nil {
		return err
	}
	if err := k.must("git", "add", "-A"); err != nil {
		return err
	}
	if err := k.must("git", "commit", "-q", "-m", "release: "+k.r.Module+" "+k.r.Vulnerable); err != nil {
		return err
	}
	return k.applyFix(third, fixDir)
}

// keepList picks what the host imports and the symbols it keeps: each
// listed package with its symbols; a package internal to the module
// through the nearest packages of the module that import it.
func (k *kase) keepList(third string) ([]hostImport, []keepRef, error) {
	var imports []hostImport
	var refs []keepRef
	listed := map[string]bool{}
	for _, p := range k.r.Packages {
		listed[p.Package] = true
	}
	add := func(pkg string, syms []string) error {
		for _, im := range imports {
			if im.path == pkg {
				return nil
			}
		}
		d, err := readDecls(k.pkgDir(third, pkg))
		if errors.Is(err, errNoGo) {
			// Another platform's package: the report's others may build here.
			k.res.Fallbacks = append(k.res.Fallbacks, fmt.Sprintf("%s: %d symbol(s): %v", pkg, len(syms), err))
			return nil
		}
		if err != nil {
			return notSetUpf("package not readable at the vulnerable version: %s: %v", pkg, err)
		}
		if d.name == "main" {
			return notSetUpf("command, not an importable package: %s", pkg)
		}
		alias := "p" + strconv.Itoa(len(imports))
		imports = append(imports, hostImport{path: pkg, alias: alias})
		for _, s := range syms {
			forms, why := resolve(d, alias, s)
			if forms == nil {
				k.res.Fallbacks = append(k.res.Fallbacks, pkg+"."+s+": "+why)
				continue
			}
			refs = append(refs, keepRef{pkg: pkg, alias: alias, sym: s, forms: forms})
		}
		return nil
	}
	for _, p := range k.r.Packages {
		if importable(p.Package) {
			if err := add(p.Package, p.Symbols); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, p := range k.r.Packages {
		if importable(p.Package) {
			continue
		}
		if _, err := readDecls(k.pkgDir(third, p.Package)); errors.Is(err, errNoGo) {
			k.res.Fallbacks = append(k.res.Fallbacks, fmt.Sprintf("%s: %d symbol(s): %v", p.Package, len(p.Symbols), err))
			continue
		} else if err != nil {
			return nil, nil, notSetUpf("package not readable at the vulnerable version: %s: %v", p.Package, err)
		}
		via := importers(third, k.r.Module, p.Package)
		if len(via) == 0 {
			return nil, nil, notSetUpf("internal package that no importable package of the module reaches: %s", p.Package)
		}
		k.res.Through = append(k.res.Through, p.Package+" through "+via[0])
		if listed[via[0]] {
			continue
		}
		d, err := readDecls(k.pkgDir(third, via[0]))
		if err != nil {
			return nil, nil, notSetUpf("package not readable at the vulnerable version: %s: %v", via[0], err)
		}
		if err := add(via[0], exported(d, 16)); err != nil {
			return nil, nil, err
		}
	}
	if len(imports) == 0 {
		return nil, nil, notSetUpf("no package of the report builds for %s/%s: %s", runtime.GOOS, runtime.GOARCH, strings.Join(k.res.Fallbacks, "; "))
	}
	return imports, refs, nil
}

func (k *kase) writeHost(imports []hostImport, refs []keepRef, replaces []string) error {
	var pkgs []string
	for _, p := range k.r.Packages {
		pkgs = append(pkgs, p.Package)
	}
	sort.Strings(pkgs)
	k.allowed = pkgs
	gomod := fmt.Sprintf("module example.com/vulnhost\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/gohotfix/hotfix v0.0.0\n\t%s %s\n)\n\nreplace github.com/gohotfix/hotfix => %s\n\nreplace %s => ./%s\n",
		k.r.Module, k.r.Vulnerable, k.repo, k.r.Module, filepath.ToSlash(k.third()))
	if len(replaces) > 0 {
		gomod += "\n// The module's own replacements, which the go command ignores in a dependency.\n" + strings.Join(replaces, "")
	}
	sum, err := os.ReadFile(filepath.Join(k.repo, "go.sum"))
	if err != nil {
		return err
	}
	src, _ := hostMain(imports, refs)
	for name, b := range map[string][]byte{
		"go.mod":      []byte(gomod),
		"go.sum":      sum,
		"main.go":     src,
		"hotfix.yaml": k.policy(),
		".gitignore":  []byte("/host\n*.so\n/patches/\n/state/\n"),
	} {
		if err := os.WriteFile(filepath.Join(k.dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// policy is the case's hotfix.yaml: the report's packages, and those a
// refusal asked to allow, under the run's inlining mode.
func (k *kase) policy() []byte {
	var pol strings.Builder
	pol.WriteString("patch_dir: patches\nstate_dir: state\n")
	if k.inlining != "" {
		fmt.Fprintf(&pol, "inlining: %s\n", k.inlining)
	}
	pol.WriteString("allow:\n  packages:\n")
	for _, p := range k.allowed {
		fmt.Fprintf(&pol, "    - %q\n", p)
	}
	return []byte(pol.String())
}

// allowAsked matches a refusal of a holder outside the policy, which
// names the allow line that would let it be replaced.
var allowAsked = regexp.MustCompile(`allow it \(allow\.packages: \[([^\]\s]+)\]\)`)

// widen adds to the case's policy the packages the build's refusals asked
// to allow, as an operator would: under inlining: keep the policy is no
// build input, so the host needs no rebuild. It reports whether it added
// any.
func (k *kase) widen(out string) (bool, error) {
	added := false
	for _, m := range allowAsked.FindAllStringSubmatch(out, -1) {
		if !slices.Contains(k.allowed, m[1]) {
			k.allowed = append(k.allowed, m[1])
			k.res.Widened = append(k.res.Widened, m[1])
			added = true
		}
	}
	if !added {
		return false, nil
	}
	return true, os.WriteFile(filepath.Join(k.dir, "hotfix.yaml"), k.policy(), 0o644)
}

// sumDBMissing is go mod tidy failing to verify a dependency: the
// checksum database has no entry for it.
var sumDBMissing = regexp.MustCompile(`(\S+@\S+): verifying (?:module|go\.mod): .*404 Not Found`)

var mainErr = regexp.MustCompile(`(?m)^(?:\./)?main\.go:(\d+):\d+: (.*)$`)

// compileHost builds the host with the flags the release will have
// (which also fills the build cache for hotfix build). Symbols the
// compiler refuses are tried in their other spelling, then dropped and
// counted as fallbacks; any other error means the case cannot be set up.
func (k *kase) compileHost(imports []hostImport, refs []keepRef) error {
	out, code, err := k.cmd("", k.hotfix, "flags", "-policy", "hotfix.yaml")
	if err != nil {
		return err
	}
	if code != 0 {
		return notSetUpf("hotfix flags: %s", firstError(out))
	}
	flags, _, _ := strings.Cut(out, "\n") // the flags; warnings follow, on stderr
	args := append(append([]string{"build"}, strings.Fields(flags)...), "-o", "host", ".")
	for round := 0; ; round++ {
		src, lines := hostMain(imports, refs)
		if err := os.WriteFile(filepath.Join(k.dir, "main.go"), src, 0o644); err != nil {
			return err
		}
		out, code, err := k.cmd("", "go", args...)
		if err != nil {
			return err
		}
		if code == 0 {
			break
		}
		ms := mainErr.FindAllStringSubmatch(out, -1)
		if len(ms) == 0 || round == 20 {
			return k.compileFailure(out)
		}
		drop := map[int]bool{}
		for _, m := range ms {
			n, _ := strconv.Atoi(m[1])
			i, ok := lines[n]
			if !ok {
				if strings.Contains(m[2], "too many errors") {
					continue
				}
				return notSetUpf("host does not compile: %s", m[2])
			}
			if len(refs[i].forms) > 1 {
				refs[i].forms = refs[i].forms[1:]
				continue
			}
			if !drop[i] {
				drop[i] = true
				k.res.Fallbacks = append(k.res.Fallbacks, refs[i].pkg+"."+refs[i].sym+": "+m[2])
			}
		}
		var keep []keepRef
		for i, r := range refs {
			if !drop[i] {
				keep = append(keep, r)
			}
		}
		refs = keep
	}
	k.res.Kept = len(refs)
	if len(refs) == 0 {
		return notSetUpf("host keeps no symbol: %d fallback(s)", len(k.res.Fallbacks))
	}
	return nil
}

// compileFailure names why the release does not build: most often the
// module itself at the vulnerable version, under this Go or without a C
// library it needs.
func (k *kase) compileFailure(out string) error {
	msg := firstError(out)
	switch {
	case strings.Contains(msg, "/link: running"):
		// The external linker (cgo): name the library or symbol it did
		// not find; a go:linkname to a symbol this Go no longer has shows
		// up here too.
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "cannot find -l") || strings.Contains(l, "undefined reference") {
				return notSetUpf("link fails: %s", strings.TrimSpace(l))
			}
		}
		return notSetUpf("link fails: %s", msg)
	case strings.Contains(out, "fatal error:") && strings.Contains(out, ".h"):
		return notSetUpf("cgo: C header missing: %s", msg)
	case strings.Contains(out, "missing go.sum entry") && sumDBMissing.MatchString(k.tidyOut):
		m := sumDBMissing.FindStringSubmatch(k.tidyOut)
		return notSetUpf("not in the checksum database (-nosumdb skips the check): dependency %s", m[1])
	case strings.Contains(out, "missing go.sum entry"), strings.Contains(out, "no required module provides"):
		return notSetUpf("dependencies not resolvable: %s", msg)
	case strings.Contains(out, "build constraints exclude all Go files"):
		return notSetUpf("no Go files for this platform: %s", msg)
	}
	if strings.HasPrefix(msg, "/") && !strings.Contains(msg, "/third_party/") {
		// In the module cache: a dependency at the version the host's
		// module graph selects, which the agent's requirements join.
		return notSetUpf("a dependency does not compile at the selected version: %s", msg)
	}
	if v, ok := k.repoReq[k.r.Module]; ok {
		return notSetUpf("does not compile at the vulnerable version (the agent itself requires %s %s): %s", k.r.Module, v, msg)
	}
	return notSetUpf("does not compile at the vulnerable version: %s", msg)
}

// applyFix writes the working tree: each listed package's Go files from
// the fixed version in place of the vulnerable ones. The rest of the
// module, and the host's go.mod and go.sum, stay as released.
func (k *kase) applyFix(third, fixDir string) error {
	changed := false
	for _, p := range k.r.Packages {
		from, to := k.pkgDir(fixDir, p.Package), k.pkgDir(third, p.Package)
		newFiles, err := goFiles(from)
		if err != nil {
			return err
		}
		if len(newFiles) == 0 {
			return notSetUpf("package gone in the fixed version: %s", p.Package)
		}
		oldFiles, err := goFiles(to)
		if err != nil {
			return err
		}
		for name, b := range oldFiles {
			if nb, ok := newFiles[name]; !isTest(name) && (!ok || !sameCode(b, nb)) {
				changed = true
			}
			if err := os.Remove(filepath.Join(to, name)); err != nil {
				return err
			}
		}
		for name, b := range newFiles {
			if _, ok := oldFiles[name]; !ok && !isTest(name) {
				changed = true
			}
			if err := os.WriteFile(filepath.Join(to, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	if !changed {
		return notSetUpf("fix not in the listed packages: their code (Go files but tests, comments aside) is the same in %s and %s", k.r.Vulnerable, k.r.Fixed)
	}
	return nil
}

func isTest(name string) bool { return strings.HasSuffix(name, "_test.go") }

// sameCode reports whether two Go files hold the same tokens, line breaks
// that end statements included: they differ in comments and spacing at
// most. A report whose fixed version changes
// only that in its packages has its fix elsewhere (GO-2024-3189 lists
// btcd v0.24.2-beta.rc1, whose txscript differs from v0.24.0 in comments;
// the fix is in v0.24.2).
func sameCode(a, b []byte) bool {
	ta, tb := tokens(a), tokens(b)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i] != tb[i] {
			return false
		}
	}
	return true
}

// tokens scans src without its comments; a file that does not scan is
// compared byte for byte.
func tokens(src []byte) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	bad := false
	s.Init(fset.AddFile("", -1, len(src)), src, func(token.Position, string) { bad = true }, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		out = append(out, tok.String()+" "+lit)
	}
	if bad {
		return []string{string(src)}
	}
	return out
}

// goFiles reads the .go files of one directory (not its subdirectories).
func goFiles(dir string) (map[string][]byte, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range es {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".go") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			files[e.Name()] = b
		}
	}
	return files, nil
}

// build runs the real CLI on the case and classifies what it says.
func (k *kase) build() {
	args := []string{"build", "-slim=" + strconv.FormatBool(k.slim), "-policy", "hotfix.yaml", "-version", "fix", "-o", "fix.so"}
	out, code, err := k.cmd("", k.hotfix, args...)
	// Under inlining: keep, a refusal of a holder outside the policy is
	// met by allowing its package, and the build run again (a few times:
	// a fix's holders may need more than one package).
	for try := 0; err == nil && code != 0 && k.inlining != "off" && try < 3; try++ {
		added, werr := k.widen(out)
		if werr != nil || !added {
			break
		}
		out, code, err = k.cmd("", k.hotfix, args...)
	}
	res := k.res
	if err != nil {
		res.Outcome, res.Tail = failed, tail(out, 15)
		if k.ctx.Err() != nil {
			res.Reason = fmt.Sprintf("timeout after %s in hotfix build", k.timeout)
		} else {
			res.Reason, res.RunnerError = "runner: "+err.Error(), true
		}
		return
	}
	fi, statErr := os.Stat(filepath.Join(k.dir, "fix.so"))
	v := classify(code, out, statErr == nil)
	if statErr == nil {
		res.PatchBytes, res.Slim = fi.Size(), strings.Contains(out, "slim link: ")
		res.NotSlim = notSlimReason(out)
	}
	res.Outcome, res.Rules, res.Refusals, res.Reason, res.Holders, res.Lines = v.outcome, v.rules, v.refusals, v.reason, v.holders, v.lines
	if v.outcome == failed {
		res.Tail = tail(out, 15)
		// A usage error is the runner's: it called the CLI wrongly. So is
		// a release that does not build: the runner built it before it
		// committed it.
		res.RunnerError = code == 2 || strings.HasPrefix(v.reason, "build base:")
	}
}

// copyTree copies the module from the read-only module cache into a
// writable directory. The module's own vendor directory is left out: the
// go command ignores it in a dependency.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if e.IsDir() {
			if rel == "vendor" {
				return filepath.SkipDir
			}
			return os.MkdirAll(dst, 0o755)
		}
		// The module's git attributes and ignore rules would change what
		// the release commit holds, and its checkout.
		if !e.Type().IsRegular() || e.Name() == ".gitignore" || e.Name() == ".gitattributes" {
			return nil
		}
		return copyFile(p, dst)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// firstError is the first line of go command output that reads as an
// error, not a "# package" header or a download note.
func firstError(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "go: downloading") || strings.HasPrefix(l, "go: finding") {
			continue
		}
		return cut(l, 300)
	}
	return "(no output)"
}
