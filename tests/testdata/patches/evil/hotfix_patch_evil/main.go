// A patch's plugin main package written by hand, the way an attacker who
// skips `hotfix build` would: it replaces guard.Check and imports a
// package whose init runs the moment the plugin is opened.
package main

import (
	_ "unsafe" // go:linkname

	_ "example.com/hostapp/evil"
	_ "example.com/hostapp/guard"
)

//go:linkname target example.com/hostapp/guard.Check
func target()

var HotfixTargets = []any{target}

func main() {}
