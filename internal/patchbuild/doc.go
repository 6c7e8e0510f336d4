// Package patchbuild turns a fixed working tree into a patch file for one
// exact release binary: it reproduces the host's identity, generates a main
// package that keeps the target functions alive, builds it as a plugin with
// the host's flags, and appends the manifest and signature.
//
// Without named functions it finds the targets itself: it checks out the
// release in a temporary git worktree, loads both trees with
// golang.org/x/tools/go/packages, and compares every package-level
// declaration in type-checked, position-free form. Changed function bodies
// become targets, with their closures when the closures' contexts are laid
// out alike; every other change is refused, all at once, with file:line,
// object and rule. The patch compiles the release's own files with only the
// changed bodies replaced, each fitted into the lines of the old one, so
// that every package keeps the linker fingerprint plugin.Open compares, and
// package main as a copy whose variables are the running program's.
//
// The package follows those seams, one file each:
//
//   - the source diff: analyze.go (load both trees, which packages and files
//     differ), diff.go (one package, declaration by declaration), canon.go
//     (the position-free form, closures and what they capture), targets.go
//     (a changed function becomes a target), plan.go (targets, refusals and
//     notes, as printed), modules.go (go.mod: what a requirement change
//     means);
//   - splicing the release's files: splice.go (changed bodies and imports
//     into the release's file), layout.go (fitting a body into the old
//     lines), mainpkg.go (package main rewritten for the plugin),
//     sources.go (the overlay the plugin compiles), internal.go (an
//     importable package that links an internal one), modcache.go (a
//     private module cache for a bumped dependency's patched files);
//   - the go build: build.go (the build, the generated main, the manifest),
//     gocmd.go (git worktree of the release, the host build, go and git
//     commands);
//   - carried new code: added.go (new unexported constants), signature.go
//     (an unexported function's new signature), helpers.go (new helpers
//     as closures, Go 1.27), generic.go and genericplan.go (a changed
//     generic function's renamed copy in the patch, per release shape,
//     and its dictionary check);
//   - coverage.go: the share of a binary's functions that can be patched.
package patchbuild
