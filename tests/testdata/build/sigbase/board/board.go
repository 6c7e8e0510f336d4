// Package board shows scores. The fix of tally changes Score's signature
// and not this package: Line is replaced with it, compiled against the
// new signature.
package board

import (
	"strconv"

	"example.com/hostapp/tally"
)

// Line is a name and its score.
func Line(name string) string {
	return name + "=" + strconv.Itoa(tally.Score(name))
}

// Width counts the letters of a name it makes on its own stack; never
// inlined.
//
//go:noinline
func Width(n int) int {
	b := make([]byte, 0, 8)
	for i := 0; i < n%8; i++ {
		b = append(b, 'x')
	}
	return tally.Count(string(b))
}
