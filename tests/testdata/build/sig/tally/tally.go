// Package tally scores names. Its fix (../../sig/tally) gives Score a new
// variadic parameter: an exported signature changed, whose only caller,
// board.Line, is in another package and does not change.
package tally

// Score scores a name, ten points a letter, plus any bonus.
func Score(name string, bonus ...int) int {
	n := 10 * len(name)
	for _, b := range bonus {
		n += b
	}
	return n
}

// Count counts a name's letters; never inlined.
//
//go:noinline
func Count(name string) int {
	return len(name)
}
