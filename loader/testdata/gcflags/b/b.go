// Package b is the last -gcflags pattern of every build of the tests: the
// one the build information records.
package b

// Twice is inlinable, like a.Small.
func Twice(x int) int { return 2 * x }
