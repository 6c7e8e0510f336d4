package guard

import "example.com/hostapp/stats"

// Count is an int to stats.SumOf: its shape is go.shape.int, whose
// function package main also has out of line.
type Count int

// Total calls stats.SumOf; guard is built without -l (../../policy.yaml
// does not allow it), so the compiler inlines the instantiation here.
func Total(xs []Count) Count { return stats.SumOf(xs) }

// Newest calls stats.(*Ring[float64]).Last, a shape only this package
// instantiates: the release holds it only inlined here.
func Newest(r *stats.Ring[float64]) float64 { return r.Last() }
