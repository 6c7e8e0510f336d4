// Package pricing holds small leaf functions with one-line bugs: no stack
// check, no call, the functions a first fix is most often about.
package pricing

// FreeShipping: orders of 100 euros and more ship free (bug: > for >=).
func FreeShipping(cents int) bool {
	return cents >= 10000
}

// LineTotal is quantity times unit price (bug: a negative quantity).
func LineTotal(qty, cents int) int {
	return max(qty, 0) * cents
}

// Cents is an amount; Euros is reached through the Pricer interface.
type Cents int

// Euros rounds to whole euros (bug: truncates).
func (c Cents) Euros() int {
	return (int(c) + 50) / 100
}

// Pricer is how callers see an amount.
type Pricer interface{ Euros() int }

// Round is a func value, set once: calls go through it.
var Round = roundDown

// roundDown rounds to tens of cents (bug: rounds to hundreds).
func roundDown(c int) int {
	return c / 10 * 10
}
