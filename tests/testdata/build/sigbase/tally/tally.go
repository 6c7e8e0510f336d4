// Package tally scores names. Its fix (../../sig/tally) gives Score a new
// variadic parameter: an exported signature changed, whose only caller,
// board.Line, is in another package and does not change.
package tally

// Score scores a name.
func Score(name string) int {
	return len(name)
}

// Count counts a name's letters; never inlined.
//
//go:noinline
func Count(name string) int {
	return len(name)
}
