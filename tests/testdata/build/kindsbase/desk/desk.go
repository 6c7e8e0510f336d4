// Package desk is the release of the new-fields part of the change-kinds
// test (TestBuildShipsChangeKinds): its fix (../../kinds/desk) gives Desk
// two fields, one with a default for the desks made before the patch, and
// removes one.
package desk

import "fmt"

// Desk hands out quantities.
type Desk struct {
	calls int // removed by the fix: the patch's Desk keeps it, or Name would move
	Name  string
}

// New makes a desk.
func New(name string) *Desk { return &Desk{Name: name} }

// Take hands out n (bug: without limit).
func (d *Desk) Take(n int) string {
	d.calls++
	return fmt.Sprintf("%s took %d", d.Name, n)
}
