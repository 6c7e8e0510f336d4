// Package desk is the fix of the new-fields part of the change-kinds test:
// Desk gets a counter, a limit, a flag and a report function, kept beside
// each desk by the patch. The flag's type is the file's only use of
// sync/atomic, which the patch's copy of the file (without the field)
// must not leave unused.
package desk

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"
)

// Desk hands out quantities, up to its limit.
type Desk struct {
	Name  string
	taken int
	limit int //hotfix:default 20
	used  atomic.Bool
	// report is set by New to a function literal that captures nothing:
	// desks made before the patch read the same one.
	report func(name, verb string, taken, limit int) string
}

// New makes a desk.
func New(name string) *Desk {
	return &Desk{Name: name, limit: 10, report: func(name, verb string, taken, limit int) string {
		return fmt.Sprintf("%s %s %d/%d", name, verb, taken, limit)
	}}
}

// Take hands out n, while the desk has room.
func (d *Desk) Take(n int) string {
	if d.taken+n > d.limit {
		return d.report(d.Name, "full", d.taken, d.limit)
	}
	d.taken += n
	d.used.Store(true)
	return d.report(d.Name, "took", d.taken, d.limit)
}

// lastNote is the buffer note wrote to last. With it, note's parameter
// escapes, and Receipt, which the fix does not change but whose buffer
// the release keeps on its stack, is replaced too.
var lastNote *bytes.Buffer

// note writes s to b.
func note(b *bytes.Buffer, s string) {
	b.WriteString(s)
	lastNote = b
}

// Receipt is what /receipt answers; the fix does not change it.
func Receipt(n int) string {
	var b bytes.Buffer
	note(&b, "receipt ")
	note(&b, strconv.Itoa(n))
	return b.String()
}
