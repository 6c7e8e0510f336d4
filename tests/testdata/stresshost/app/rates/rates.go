// Package rates holds a small function the compiler inlines into the hot
// callers below: the stress run's fix whose target has no body of its own
// in those callers (issue 25). The stress host built under keep.yaml (the
// compiler's full optimization) takes a patch that changes Rate by
// replacing every caller that holds an inlined copy.
//
// The callers are marked //go:noinline: they stand for the callers too big
// to inline that real fixes meet, and keep the stress host's call sites
// (closures of main's variable initializers, which hotfix refuses to
// replace) free of inlined copies on every Go release.
package rates

// Rate answers 4x plus the version, like the hot shapes; it is inlined
// into every caller below.
func Rate(x int) int {
	return x*4 + 0 // version
}

// Priced is a plain function holding an inlined copy of Rate.
//
//go:noinline
func Priced(x int) int {
	return Rate(x)
}

// Meter's method holds an inlined copy of Rate.
type Meter struct{ Unit int }

// Read answers Rate(x) when Unit is 1.
//
//go:noinline
func (m *Meter) Read(x int) int {
	return Rate(x * m.Unit)
}

// Looped holds two inlined copies of Rate in a loop.
//
//go:noinline
func Looped(x int) int {
	s := 0
	for i := 0; i < 2; i++ {
		s += Rate(x)
	}
	return s / 2
}

// Bound returns a closure holding an inlined copy of Rate; the stress host
// makes it once, before any patch.
//
//go:noinline
func Bound() func(int) int {
	return func(x int) int { return Rate(x) }
}
