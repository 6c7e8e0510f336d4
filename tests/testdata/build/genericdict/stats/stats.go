// Package stats holds generic helpers with one-line bugs, instantiated by
// package main's /stats handler with two shapes (int and string).
package stats

import "strings"

// SumOf adds the values, but those in skip: a map[T]bool, a type the
// release's dictionary of SumOf does not hold. (Only looked up: a value
// stored in it would escape, and the escape check would refuse it first.)
func SumOf[T ~int | ~string](xs []T) T {
	var s T
	skip := map[T]bool{}
	for i := 0; i < len(xs); i++ {
		if !skip[xs[i]] {
			s += xs[i]
		}
	}
	return s
}

// Ring keeps the last values pushed.
type Ring[T any] struct {
	Items []T
}

// Last is the newest value (bug: the oldest).
func (r *Ring[T]) Last() T {
	return r.Items[0]
}

// Join is SumOf's non-generic caller.
func Join(words []string) string {
	return strings.ToUpper(SumOf(words))
}
