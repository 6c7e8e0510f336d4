// Package desk is the release of the new-fields part of the change-kinds
// test (TestBuildShipsChangeKinds): its fix (../../kinds/desk) gives Desk
// two fields, one with a default for the desks made before the patch.
package desk

import "fmt"

// Desk hands out quantities.
type Desk struct {
	Name string
}

// New makes a desk.
func New(name string) *Desk { return &Desk{Name: name} }

// Take hands out n (bug: without limit).
func (d *Desk) Take(n int) string {
	return fmt.Sprintf("%s took %d", d.Name, n)
}
