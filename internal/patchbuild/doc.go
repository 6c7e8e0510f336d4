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
// out alike; every change the running release cannot take is refused, all
// at once, with file:line, object and rule. A package whose fix changes
// only bodies is compiled from the release's own files with the changed
// bodies replaced, each fitted into the lines of the old one, so that it
// keeps the linker fingerprint plugin.Open compares. A package whose fix
// adds or removes objects or imports, or changes constants, is compiled
// from the fix's own files, and the plugin is given the release's
// fingerprint once the analysis has shown that nothing the release's code
// was compiled against changed (rebuild.go). Package main becomes a copy
// whose variables are the running program's.
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
//     into the release's file), package layout (fitting a body into the
//     old lines, file edits, the layout check), mainpkg.go (package main
//     rewritten for the plugin), sources.go (the overlay the plugin compiles), internal.go (an
//     importable package that links an internal one), modcache.go (a
//     private module cache for a bumped dependency's patched files),
//     goroot.go (the standard library compared with a newer Go root's,
//     and built in a private copy of the release's root);
//   - the go build: build.go (the build, the generated main, the manifest),
//     gocmd.go (git worktree of the release, the host build, go and git
//     commands), escape.go (every replaced function's parameters keep
//     their escape analysis), adopt.go (the release's fingerprint written
//     into a rebuilt package's plugin);
//   - the no-op check: noop.go (a target whose new machine code is the
//     release's is refused: the targets' packages compiled once more as
//     the release was), and package machinecode (the compiler's -S
//     listing, bytes and relocations by name, and a compiled function
//     proven against the release binary's bytes, reference by reference);
//   - carried new code: rebuild.go (a package compiled from the fix's
//     files: new functions, variables and their initializers, types,
//     methods, imports, removed objects, changed constants), added.go (new
//     unexported constants of a spliced package), signature.go (an
//     unexported function's new signature), generic.go and genericplan.go
//     (a changed generic function's renamed copy in the patch, per release
//     shape, and its dictionary check);
//   - coverage.go: the share of a binary's functions that can be patched.
package patchbuild
