// Package d has no inlinable function: -l on it changes only whether the
// calls in its own code are inlined.
package d

import "example.com/gcflags/a"

// Mix is never inlined, and calls a.Small, which d's compile inlines
// unless d has -l.
//
//go:noinline
func Mix(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += a.Small(i) * i
		if x > 1000 {
			x -= 7
			println(x)
		}
		switch x % 5 {
		case 1:
			x++
		case 2:
			x--
		case 3:
			x *= 2
		}
	}
	return x
}
