package patchbuild

import (
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/policy"
)

// The plugin's main package imports the package of every target, so that
// the go command builds it and the linker keeps the targets. A package
// internal to another module (google.golang.org/protobuf/internal/...,
// github.com/jackc/pgx/v4/internal/sanitize) cannot be imported from the
// host's module; the patch then imports, in its place, a package of the
// release that may be imported and that imports it, directly or not. The
// release links one: that is how the internal package got there.

// importable reports whether a package at path from may import pkg under
// Go's rule for internal directories.
func importable(from, pkg string) bool {
	if strings.HasPrefix(pkg, "vendor/") && !policy.Standard(from) {
		// The standard library's vendored packages: "use of vendored
		// package not allowed" outside it.
		return false
	}
	elems := strings.Split(pkg, "/")
	for i, e := range elems {
		if e != "internal" {
			continue
		}
		root := strings.Join(elems[:i], "/")
		if from != root && !strings.HasPrefix(from, root+"/") {
			return false
		}
	}
	return true
}

// importerFor returns pkg, if from may import it, or the package nearest
// to it in imports that may be imported from from and imports it, or ""
// if the release has none. imports maps each package of the release to
// the packages it imports.
func importerFor(from, pkg string, imports map[string][]string) string {
	if importable(from, pkg) {
		return pkg
	}
	importers := map[string][]string{}
	for p, imps := range imports {
		for _, imp := range imps {
			importers[imp] = append(importers[imp], p)
		}
	}
	seen := map[string]bool{pkg: true}
	level := []string{pkg}
	for len(level) > 0 {
		var next []string
		for _, p := range level {
			cands := slices.Clone(importers[p])
			slices.Sort(cands)
			for _, c := range cands {
				if seen[c] {
					continue
				}
				seen[c] = true
				if importable(from, c) {
					return c
				}
				next = append(next, c)
			}
		}
		level = next
	}
	return ""
}
