// Package slimlink links a patch's plugin against the running release
// instead of against its own copies of the release's packages: a
// one-function fix carries the packages it changes, the generated main
// package and the runtime, not the service's whole dependency graph.
//
// The mechanism, each part verified by TestSlimPluginFacts:
//
//   - The patch's packages are compiled with -linkshared as well as the
//     -dynlink the go command gives every package of a plugin, so that
//     they reference other packages' symbols by name rather than by index
//     into the referenced package's object (cmd/internal/obj/sym.go,
//     isNonPkgSym). Only then can a package's object be swapped.
//   - Every package the plugin need not carry is replaced, at the link,
//     by a hollow archive: an empty package of the same import path with
//     the fingerprint the importers expect (hollow.go). Its symbols are
//     left undefined in the plugin.
//   - A private build of the toolchain's own linker (linker.go, edits.go)
//     leaves such symbols to the dynamic loader, as it does for
//     -linkshared: calls go through the PLT, data through the GOT, and
//     the loader binds both to the release binary's definitions, which
//     every host that imports plugin exports (it links with -rdynamic).
//   - The plugin's package hashes are then the release's (the patchbuild
//     adoption), and every undefined symbol must be one the release
//     exports (Missing): a symbol its linker dropped makes the package
//     that defines it carried after all.
package slimlink
