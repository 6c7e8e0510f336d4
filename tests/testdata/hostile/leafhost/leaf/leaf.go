// Package leaf holds a function whose entry cannot be redirected safely:
// a frameless leaf, compiled without a stack check (4 bytes: ADDQ; RET).
package leaf

// Add is too small for a stack check.
func Add(a, b int) int { return a + b }
