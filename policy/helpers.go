package policy

import (
	"context"
	"slices"
	"strings"
)

// Graph is the import graph of what a module builds: every package it
// links, by import path, with the import paths it imports, as
// `go list -deps` resolves them (a standard package imports
// "vendor/golang.org/x/net/idna", not "golang.org/x/net/idna").
type Graph map[string][]string

// ListGraph runs `go list -deps ./...` in the module at dir.
func ListGraph(ctx context.Context, dir string) (Graph, error) {
	out, err := goList(ctx, dir, "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
	if err != nil {
		return nil, err
	}
	g := Graph{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	return g, nil
}

// StdHelpers is what a fix to one standard package the policy allows may
// also have to change.
//
// Under inlining: off, inlining decides only the direction out of the package: -l keeps its
// functions out of every other package's code, which is what a patch
// needs, and it also keeps the package from inlining anything, so the
// packages it calls need nothing for it to be patched. But a fix often
// spans the package's own helpers, which are not covered by its import
// path: its internal packages (net/http/internal/ascii) and the vendored
// golang.org/x packages it imports (vendor/golang.org/x/net/http/httpguts,
// whose import path has no "net/http" in it). Which those are depends on
// the Go release (Go 1.27 moved net/http's HTTP/2 into
// net/http/internal/http2), hence the import graph, not a list.
type StdHelpers struct {
	Package string   // a standard package that AllowedPatterns matches
	Helpers []string // internal and vendored packages it imports, sorted
	Missing []string // those of Helpers that AllowedPatterns does not match
}

// StdHelpers returns, for every standard package of g that the policy
// allows, its helpers: the packages it imports directly that
// are vendored or internal to a tree of the standard library (not the
// top-level internal/..., which is every package's), leaving out what no
// policy may allow and what deny.packages names. Only direct imports: a
// helper's own helpers are listed once the helper is allowed. Sorted by
// package.
func (p *Policy) StdHelpers(g Graph) []StdHelpers {
	if p == nil {
		return nil
	}
	var out []StdHelpers
	for pkg, imports := range g {
		if !Standard(pkg) || !p.allowsPackage(pkg) {
			continue
		}
		h := StdHelpers{Package: pkg}
		for _, imp := range imports {
			if !IsHelper(imp) || stdDenial(imp) != "" || p.denies(imp) {
				continue
			}
			h.Helpers = append(h.Helpers, imp)
			if !p.allowsPackage(imp) {
				h.Missing = append(h.Missing, imp)
			}
		}
		if len(h.Helpers) > 0 {
			slices.Sort(h.Helpers)
			slices.Sort(h.Missing)
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b StdHelpers) int { return strings.Compare(a.Package, b.Package) })
	return out
}

// IsHelper reports whether pkg is a standard package that can only be
// another standard package's helper, whose import path an operator does
// not name for its own sake: vendored, or internal below a tree of the
// standard library.
func IsHelper(pkg string) bool {
	return Standard(pkg) && (strings.HasPrefix(pkg, "vendor/") || strings.Contains(pkg, "/internal/") || strings.HasSuffix(pkg, "/internal"))
}

func (p *Policy) allowsPackage(pkg string) bool {
	for _, pat := range p.AllowedPatterns() {
		if e, err := parsePackageEntry(pat); err == nil && e.matches(pkg) {
			return true
		}
	}
	return false
}

func (p *Policy) denies(pkg string) bool {
	for _, s := range p.Deny.Packages {
		if e, err := parsePackageEntry(s); err == nil && e.matches(pkg) {
			return true
		}
	}
	return false
}

// SuggestPackages returns allow.packages entries that cover pkgs, helpers
// of the standard package of, in a module whose import graph is g, sorted.
// A helper's whole tree ("net/http/internal/...") when every package of
// the tree that the module links is in pkgs or is linked only for the
// tree and of (imported by nothing else): the entry then compiles no
// unrelated package with -l, and still covers the packages of the tree a
// later Go release adds (Go 1.27's net/http/internal/http2). The packages
// one by one otherwise: vendor/golang.org/x/net also holds dnsmessage,
// linked for package net's resolver, which -l would slow for nothing.
func SuggestPackages(of string, pkgs []string, g Graph) []string {
	importers := map[string][]string{}
	for pkg, imports := range g {
		for _, imp := range imports {
			importers[imp] = append(importers[imp], pkg)
		}
	}
	ok := func(tree, pkg string) bool {
		if slices.Contains(pkgs, pkg) {
			return true
		}
		for _, by := range importers[pkg] {
			if by != of && !within(by, tree) {
				return false
			}
		}
		return true
	}
	var out []string
	for _, p := range pkgs {
		tree := helperTree(p)
		whole := tree != ""
		for linked := range g {
			whole = whole && (!within(linked, tree) || ok(tree, linked))
		}
		if whole {
			p = tree + "/..."
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// helperTree returns the tree a helper belongs to: the vendored module
// (vendor/golang.org/x/net) or the internal tree (net/http/internal), or
// "" for neither.
func helperTree(pkg string) string {
	elems := strings.Split(pkg, "/")
	if elems[0] == "vendor" {
		if len(elems) >= 4 && elems[1] == "golang.org" && elems[2] == "x" {
			return strings.Join(elems[:4], "/")
		}
		return ""
	}
	if i := slices.Index(elems, "internal"); i > 0 {
		return strings.Join(elems[:i+1], "/")
	}
	return ""
}
