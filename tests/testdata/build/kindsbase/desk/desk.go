// Package desk is the release of the new-fields part of the change-kinds
// test (TestBuildShipsChangeKinds): its fix (../../kinds/desk) gives Desk
// two fields, one with a default for the desks made before the patch, and
// removes one.
package desk

import (
	"bytes"
	"fmt"
	"strconv"
)

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

// note writes s to b; b does not escape in the release.
func note(b *bytes.Buffer, s string) { b.WriteString(s) }

// Receipt is what /receipt answers; the fix does not change it.
func Receipt(n int) string {
	var b bytes.Buffer
	note(&b, "receipt ")
	note(&b, strconv.Itoa(n))
	return b.String()
}
