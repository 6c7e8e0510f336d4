package policy

import (
	"fmt"
	"slices"
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

// runtimeProvided are functions that standard packages declare and the
// runtime implements, under their names, with //go:linkname (time.Sleep,
// sync.runtime_Semacquire, internal/poll.runtime_pollWait): their code is
// the runtime's. By package, space-separated; the union of the Go
// releases CI runs (TestRuntimeProvidedPinned reads the runtime's sources).
var runtimeProvided = map[string]string{
	"arena":                            "runtime_arena_arena_Free runtime_arena_arena_New runtime_arena_arena_Slice runtime_arena_heapify runtime_arena_newArena",
	"crypto/fips140":                   "isBypassed setBypass unsetBypass",
	"crypto/internal/boring":           "runtime_arg0",
	"crypto/internal/boring/bcache":    "registerCache",
	"crypto/internal/fips140":          "fatal getIndicator setIndicator",
	"crypto/internal/fips140deps/time": "monoTime",
	"crypto/internal/sysrand":          "fatal",
	"crypto/rand":                      "fatal",
	"crypto/subtle":                    "setDITDisabled setDITEnabled",
	"crypto/x509/internal/macos":       "syscall",
	"internal/coverage/cfile":          "getCovCounterList",
	"internal/godebug":                 "registerMetric setNewIncNonDefault setUpdate",
	"internal/poll":                    "runtime_Semacquire runtime_Semrelease runtime_ignoreHangup runtime_isPollServerDescriptor runtime_pollClose runtime_pollOpen runtime_pollReset runtime_pollServerInit runtime_pollSetDeadline runtime_pollUnblock runtime_pollWait runtime_pollWaitCanceled runtime_unignoreHangup",
	"internal/sync":                    "fatal runtime_SemacquireMutex runtime_Semrelease runtime_canSpin runtime_doSpin runtime_nanotime throw",
	"internal/synctest":                "IsInBubble Run Wait acquire associate disassociate inBubble isAssociated release",
	"internal/syscall/unix":            "gostring",
	"internal/syscall/windows":         "CanUseLongPaths GetSystemDirectory QueryPerformanceCounter QueryPerformanceFrequency",
	"maps":                             "clone",
	"os":                               "executablePath ignoreSIGSYS restoreSIGSYS runtime_args runtime_beforeExit sigpipe",
	"os/signal":                        "signalWaitUntilIdle signal_disable signal_enable signal_ignore signal_ignored signal_recv",
	"sync":                             "event fatal runtime_Semacquire runtime_SemacquireRWMutex runtime_SemacquireRWMutexR runtime_SemacquireWaitGroup runtime_Semrelease runtime_canSpin runtime_doSpin runtime_notifyListAdd runtime_notifyListCheck runtime_notifyListNotifyAll runtime_notifyListNotifyOne runtime_notifyListWait runtime_procPin runtime_procUnpin runtime_registerPoolCleanup throw",
	"syscall":                          "Exit Getpagesize cgocaller chdir chroot1 closeFD compileCallback dup2child execve exit fcntl1 forkx getpid ioctl now rawSyscall rawSyscall10X rawSyscall6 rawSyscall6X rawsyscalln runtimeClearenv runtimeSetenv runtimeUnsetenv runtime_AfterExec runtime_AfterFork runtime_AfterForkInChild runtime_BeforeExec runtime_BeforeFork runtime_doAllThreadsSyscall runtime_envs setgid setgroups1 setpgid setrlimit1 setsid setuid syscall syscall10 syscall10X syscall6 syscall6X syscallX syscalln write1",
	"syscall/js":                       "setEventHandler",
	"time":                             "Sleep newTimer now resetTimer runtimeIsBubbled runtimeNano runtimeNow stopTimer",
	"unique":                           "runtime_blockUntilEmptyCleanupQueue",
	"weak":                             "runtime_makeStrongFromWeak runtime_registerWeakPointer",
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

// stdFuncDenial returns why the function pkg.name (no receiver) cannot be
// patched whatever the policy says, or "": a compiler intrinsic, or the
// runtime's code under a standard package's name.
func stdFuncDenial(pkg, name string) string {
	fn := pkg + "." + name
	if intrinsicFuncs[fn] {
		return fmt.Sprintf("%s is a compiler intrinsic: calls to it become instructions and never reach a patch (built-in denial)", fn)
	}
	if slices.Contains(strings.Fields(runtimeProvided[pkg]), name) {
		return fmt.Sprintf("%s is the runtime's code under this name (//go:linkname in package runtime): replacing it patches the runtime (built-in denial)", fn)
	}
	return ""
}
