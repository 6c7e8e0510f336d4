// Package q instantiates p's generic code; it is built with or without -l.
package q

import "example.com/generics/p"

// MyInt has the GC shape of int.
type MyInt int

// Q instantiates every generic function of p.
func Q() (int, string, MyInt, int64) {
	b := &p.Box[int]{}
	p.Each([]int{1}, func(int) {})
	_ = p.Show(3)
	n := p.SumOf([]int{1, 2}) + b.Get() + p.Plain(1) + int(larger(scale, 2))
	n += p.Max(3, 4) // folded to 4: no instruction is left of the call
	return n, p.SumOf([]string{"a"}), p.SumOf([]MyInt{1}), p.SumOf([]int64{1})
}

var scale = 1.5

// larger is inlined into Q, with p.Max inlined into it.
func larger(a, b float64) float64 { return 2 * p.Max(a, b) }
