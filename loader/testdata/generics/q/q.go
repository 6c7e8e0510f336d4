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
	n := p.SumOf([]int{1, 2}) + b.Get() + p.Plain(1)
	return n, p.SumOf([]string{"a"}), p.SumOf([]MyInt{1}), p.SumOf([]int64{1})
}
