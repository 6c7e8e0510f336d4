package policy

import (
	"fmt"
	"strings"
)

// The standard library is patched like any other code, except where a
// fact about the toolchain says a patch would break the machinery that
// writes it or would never run. Each fact is pinned by a test against the
// toolchain's own sources and `go list` (std_test.go), under every Go
// release CI runs, so a release that changes one fails the tests instead
// of quietly widening what can be patched.

// runtimeBuiltFrom is `go list -deps runtime`: the runtime and every
// package it is built from. Their code runs inside the scheduler, the
// collector and the stop of the world a patch is written in.
var runtimeBuiltFrom = []string{
	"runtime", "unsafe", "math/bits",
	"internal/abi", "internal/asan", "internal/bytealg", "internal/byteorder",
	"internal/chacha8rand", "internal/coverage/rtcov", "internal/cpu",
	"internal/goarch", "internal/godebugs", "internal/goexperiment", "internal/goos",
	"internal/msan", "internal/profilerecord", "internal/race", "internal/runtime/...",
	"internal/stringslite", "internal/strconv", "internal/trace/tracev2",
}

// intrinsicPackages are packages whose every function the compiler turns
// into instructions on some architecture (cmd/compile's ssagen
// intrinsics): a call never reaches the function a patch would replace.
var intrinsicPackages = []string{"sync/atomic", "simd/..."}

// intrinsicFuncs are the intrinsics of packages that are otherwise
// ordinary (cmd/compile/internal/ssagen/intrinsics.go).
var intrinsicFuncs = map[string]bool{
	"math.Abs": true, "math.Ceil": true, "math.Copysign": true, "math.FMA": true,
	"math.Floor": true,
	"math.Round": true, "math.RoundToEven": true, "math.Trunc": true,
	"math.sqrt":                   true,
	"math/big.mulWW":              true,
	"sync.runtime_LoadAcquintptr": true, "sync.runtime_StoreReluintptr": true,
	"crypto/internal/constanttime.Select": true, "crypto/internal/constanttime.boolToUint8": true,
}

// stdDenials are the standard packages no policy may allow, each with why:
// a root is one package, or a tree with "/...".
var stdDenials = []struct {
	roots []string
	why   string
}{
	{runtimeBuiltFrom, "is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in"},
	{[]string{"runtime/..."}, "is bound to the runtime by linkname"},
	{intrinsicPackages, "holds compiler intrinsics: calls to its functions become instructions and never reach a patch"},
	{[]string{"reflect", "internal/reflectlite"}, "is entered from assembly stubs and linknamed helpers of the runtime (makeFuncStub, methodValueCall, typedmemmove)"},
	{[]string{"plugin"}, "is the loader that opens patches"},
}

// Standard reports whether pkg is in the standard library: the go command's
// rule (cmd/go/internal/search.IsStandardImportPath), vendored packages
// of the standard library (vendor/golang.org/x/...) included.
func Standard(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return pkg != "main" && !strings.Contains(first, ".")
}

// stdDenial returns why no policy may allow the standard package pkg, or "".
func stdDenial(pkg string) string {
	for _, d := range stdDenials {
		for _, root := range d.roots {
			tree, ok := strings.CutSuffix(root, "/...")
			if pkg == root || ok && within(pkg, tree) {
				return fmt.Sprintf("package %q %s (built-in denial)", pkg, d.why)
			}
		}
	}
	return ""
}

// intrinsic returns why the function sym (package-qualified, no receiver)
// cannot be patched as a compiler intrinsic, or "".
func intrinsic(fn string) string {
	if intrinsicFuncs[fn] {
		return fmt.Sprintf("%s is a compiler intrinsic: calls to it become instructions and never reach a patch (built-in denial)", fn)
	}
	return ""
}
