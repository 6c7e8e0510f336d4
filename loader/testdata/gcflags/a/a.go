// Package a has an inlinable function: its export data carries the body
// unless the package is compiled with -l.
package a

// Small is well under the inlining budget.
func Small(x int) int { return x + 1 }
