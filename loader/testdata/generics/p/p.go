// Package p is the allowed package: its generic code is instantiated here
// and in q. Tests build it with -gcflags=example.com/generics/p=-l.
package p

import "fmt"

// SumOf is instantiated with int here, and with int, int64, string and a
// named int type in q.
func SumOf[T ~int | ~int64 | ~string](xs []T) T {
	var s T
	for _, x := range xs {
		s += x
	}
	return s
}

// Each has a closure.
func Each[T any](xs []T, f func(T)) int {
	n := 0
	g := func(x T) { n++; f(x) }
	for _, x := range xs {
		g(x)
	}
	return n
}

// Show needs its dictionary: fmt.Sprint of a T converts it to an interface.
func Show[T any](x T) string { return fmt.Sprint(x) }

// Box is a generic type with a method.
type Box[T any] struct{ v T }

// Get is a method of a generic type.
func (b *Box[T]) Get() T { return b.v }

// Max is inlined into q.Q only through q's own helper, larger.
func Max[T ~int | ~float64](a, b T) T {
	if a > b {
		return a
	}
	return b
}

// Plain is not generic: with -l on p nobody inlines it.
func Plain(n int) int { return n + 1 }

// Local instantiates SumOf inside p.
func Local() int { return SumOf([]int{1, 2}) }
