// Package main is a plugin with a function that creates a closure, for
// TestPluginClosureSymbols.
package main

// Make returns a closure; the plugin's exported variable keeps Make, and
// Make keeps its closure.
func Make(k int) func(int) int {
	return func(x int) int { return x + k }
}

var Kept = Make

func main() {}
