// Package desk is the fix of the new-fields part of the change-kinds test:
// Desk gets a counter and a limit, kept beside each desk by the patch.
package desk

import "fmt"

// Desk hands out quantities, up to its limit.
type Desk struct {
	Name  string
	taken int
	limit int //hotfix:default 20
}

// New makes a desk.
func New(name string) *Desk { return &Desk{Name: name, limit: 10} }

// Take hands out n, while the desk has room.
func (d *Desk) Take(n int) string {
	if d.taken+n > d.limit {
		return fmt.Sprintf("%s full %d/%d", d.Name, d.taken, d.limit)
	}
	d.taken += n
	return fmt.Sprintf("%s took %d/%d", d.Name, d.taken, d.limit)
}
