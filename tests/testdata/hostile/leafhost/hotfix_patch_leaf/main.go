// A patch's plugin main package written by hand, like ../../patches/evil:
// it replaces leaf.Add, which has no stack-check prologue, and imports the
// package evil, whose init writes $HOTFIX_TEST_MARKER the moment the
// plugin is opened.
package main

import (
	_ "unsafe" // go:linkname

	_ "example.com/hostapp/evil"
	_ "example.com/hostapp/leaf"
)

//go:linkname target example.com/hostapp/leaf.Add
func target()

var HotfixTargets = []any{target}

func main() {}
