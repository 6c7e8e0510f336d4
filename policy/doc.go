// Package policy reads hotfix.yaml and decides which functions a patch may
// replace.
//
// A policy is data: this package loads nothing and patches nothing. [Load]
// and [Parse] decode strictly, because a typo in a security file must not
// silently widen or narrow what it allows: unknown and duplicate keys, wrong
// types, missing patch_dir or state_dir, an empty file, more than one YAML
// document, malformed entries and unparsable keys are all errors that wrap
// [ErrInvalid] and name the file and line, for example
//
//	policy: invalid: hotfix.yaml:7: unknown key "alow" (did you mean "allow"?)
//
// # Matching
//
// [Policy.Permits] takes a function symbol as the Go linker writes it (see
// internal/symbol) and returns nil or an error wrapping [ErrDenied] with the
// reason. Code the compiler splits out of a function (closures, go and defer
// wrappers, range-over-func bodies, method values) counts as part of that
// function, and a generic instantiation as its generic function. In order:
//
//  1. Built-in denials no policy can lift, each from a fact pinned by a
//     test (std.go): the runtime and every package it is built from,
//     compiler intrinsics, functions the runtime implements under a
//     standard package's name, reflect, plugin, and
//     github.com/gohotfix/hotfix itself. The rest of the standard library
//     is allowed like any package. Allowing a denied package is an error
//     already in Parse.
//  2. deny, which wins over allow.
//  3. allow; anything not allowed is denied.
//
// Each of allow and deny has three lists:
//
//   - packages: an import path ("example.com/app/router", "main"), or a path
//     ending in "/..." for it and every package below it.
//   - types: "pkg.T" for every method of T and *T.
//   - functions: "pkg.F", "pkg.T.M" or "pkg.(*T).M" (both spellings name the
//     same method: a type cannot declare M on T and *T, and the compiler
//     generates the (*T).M wrapper of every T.M), or "pkg.*" for every
//     function and method of pkg.
//
// # Dots in package paths
//
// In the symbol table the package path ends at the first '.' after its last
// '/', and the linker writes a '.' inside the last element as %2e
// ("gopkg.in/yaml%2ev3.Marshal"). Entries follow the same rule where the text
// would otherwise be ambiguous: a functions entry for yaml.v3's Marshal is
// written "gopkg.in/yaml%2ev3.Marshal", while "gopkg.in/yaml.v3.Marshal" reads
// as method Marshal of a type v3 in package gopkg.in/yaml. Entries that can
// only mean one thing take the plain path: packages ("gopkg.in/yaml.v3"),
// types ("gopkg.in/yaml.v3.Node": a type name has no dot) and globs
// ("gopkg.in/yaml.v3.*").
//
// deny errs on the side of denying: its entries also match by text, so
// "gopkg.in/yaml.v3.Marshal" under deny.functions denies yaml.v3's Marshal
// whichever way it is read, and "example.com/app/store.Cache.*" denies every
// method of Cache. allow matches by structure only, so that what it allows
// and the packages [Policy.NoInlinePatterns] builds with -l always agree.
//
// # Build flags
//
// A patched function must not have been inlined into its callers in the
// running binary, and the host and every patch must be compiled with
// identical flags (plugin.Open fails with "plugin was built with a different
// version of package" otherwise). [Policy.BuildFlags] derives those flags from
// allow, so that `hotfix flags` and `hotfix build` run next to the same
// hotfix.yaml agree. [Policy.StdHelpers] names what those flags leave out
// for an allowed standard package: the internal and vendored packages a
// fix to it may span, under import paths of their own.
//
// A [Policy] is a plain value: its methods only read it and are safe for
// concurrent use.
package policy
