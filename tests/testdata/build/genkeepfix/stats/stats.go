// Package stats holds generic helpers with one-line bugs, instantiated by
// package main's /stats handler with two shapes (int and string).
package stats

import "strings"

// SumOf adds the values (bug: skips the first).
func SumOf[T ~int | ~string](xs []T) T {
	var s T
	for i := 0; i < len(xs); i++ {
		s += xs[i]
	}
	return s
}

// Ring keeps the last values pushed.
type Ring[T any] struct {
	Items []T
}

// Last is the newest value (bug: the oldest).
func (r *Ring[T]) Last() T {
	return r.Items[len(r.Items)-1]
}

// Join is SumOf's non-generic caller.
func Join(words []string) string {
	return shout(SumOf(words))
}

// shout is new in this fix: package stats is rebuilt from the fix's files,
// its generic bodies with it (TestBuildReplacesInlinedGenerics).
func shout(s string) string { return strings.ToUpper(s) + "!" }
