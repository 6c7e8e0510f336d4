// Package audit records entries. Its fix (../../kinds/audit) changes only
// a body, which stops keeping the entry: the parameter escapes less, which
// changes the package's export data and is safe for the release's callers.
// It also removes a function literal from Tag and adds an import.
package audit

import "strings"

// Entry is one audited event.
type Entry struct{ Name string }

var last *Entry

// Record keeps the entry (it leaks to the heap) and answers its name.
func Record(e *Entry) string {
	last = e
	return e.Name
}

// Tag marks a name for /tag. The fix removes its first function literal,
// which renumbers the second, and encodes the name with a package the
// release does not link.
func Tag(name string) string {
	upper := func(s string) string { return strings.ToUpper(s) }
	wrap := func(s string) string { return "<" + s + ">" }
	return wrap(upper(name))
}
