package policy

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// baseFlags are the flags of every host and patch: "-trimpath" (so a
// patch builds from any checkout), "-tags=hotfix" (the patcher's door into
// the runtime, which a plain build leaves out: the agent then refuses
// every patch, saying why) and "-ldflags=-checklinkname=0" (that door's
// //go:linkname to runtime.stopTheWorld).
var baseFlags = []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0"}

// BuildFlags returns the go build flags a host and its patches must share:
// baseFlags and one "-gcflags=PATTERN=-l" per NoInlinePatterns entry.
// Inlining stays on everywhere else, and optimizations (-N) are never
// turned off.
func (p *Policy) BuildFlags() []string {
	flags := slices.Clone(baseFlags)
	for _, pat := range p.NoInlinePatterns() {
		flags = append(flags, "-gcflags="+pat+"=-l")
	}
	return flags
}

// BuildFlagsWithMain is BuildFlags with the pattern "main" replaced by
// mainPkgs, the import paths of the module's main packages: the go command
// matches -gcflags patterns against import paths, so "-gcflags=main=-l"
// turns inlining off nowhere. Without a "main" pattern it is BuildFlags.
// The result is sorted like BuildFlags, so that `hotfix flags` and
// `hotfix build` agree on it byte for byte.
func (p *Policy) BuildFlagsWithMain(mainPkgs ...string) []string {
	pats := p.NoInlinePatterns()
	if i := slices.Index(pats, "main"); i >= 0 {
		pats = slices.Delete(pats, i, i+1)
		pats = append(pats, mainPkgs...)
		slices.Sort(pats)
		pats = slices.Compact(pats)
	}
	flags := slices.Clone(baseFlags)
	for _, pat := range pats {
		flags = append(flags, "-gcflags="+pat+"=-l")
	}
	return flags
}

// ModuleBuildFlags returns the go build flags a host and its patches use
// under p in the module at dir: BuildFlags, except that a policy allowing
// package main gets the import paths of the module's main packages in
// place of "main", which the go command would match against no package
// (-gcflags patterns are import paths, cmd/go/internal/load/flag.go). It
// runs `go list` for that, and only then. `hotfix flags` prints it and
// `hotfix build` builds with it.
func (p *Policy) ModuleBuildFlags(ctx context.Context, dir string) ([]string, error) {
	if p == nil || !slices.Contains(p.NoInlinePatterns(), "main") {
		return p.BuildFlags(), nil
	}
	mod, err := goList(ctx, dir, "-m")
	if err == nil && mod == "command-line-arguments" {
		err = fmt.Errorf("%s is not in a module", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("the policy allows package main: its import path comes from the module: %w", err)
	}
	out, err := goList(ctx, dir, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, mod+"/...")
	if err != nil {
		return nil, err
	}
	return p.BuildFlagsWithMain(strings.Fields(out)...), nil
}

// Unbuilt returns the patterns of AllowedPatterns that match no package
// of g, what the module builds (a misspelled allow entry, say).
func (p *Policy) Unbuilt(g Graph) []string {
	var none []string
	for _, pat := range p.AllowedPatterns() {
		e, err := parsePackageEntry(pat)
		if pat == "main" || err != nil {
			continue
		}
		built := false
		for pkg := range g {
			built = built || e.matches(pkg)
		}
		if !built {
			none = append(none, pat)
		}
	}
	return none
}

func goList(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
