// Package sum has assembly that -dynlink rejects (Mix uses R15 after a
// global variable's address is loaded, as some real assembly does): a
// plugin that must link it cannot be built.
package sum

// seed is the global Mix loads.
var seed uint64 = 7

// Mix adds seed and 3 to x (sum_amd64.s).
func Mix(x uint64) uint64

// Label names the mix. Not inlined: a fix to it is a fix in sum.
//
//go:noinline
func Label() string { return "mix" }
