// Package audit records entries. Its fix (../../kinds/audit) changes only
// a body, which stops keeping the entry: the parameter escapes less, which
// changes the package's export data and is safe for the release's callers.
// It also removes a function literal from Tag and adds an import.
package audit

import "encoding/base32"

// Entry is one audited event.
type Entry struct{ Name string }

var last *Entry

// Record answers the entry's name, marked. The fix also renames its
// parameter: the same function to its callers.
func Record(entry *Entry) string {
	return entry.Name + "!"
}

// Tag marks a name for /tag: the first of the release's two function
// literals is gone, and the name is encoded with encoding/base32, which
// the release does not link: the patch carries it, and its StdEncoding is
// made by its initializer, which runs when the plugin opens.
func Tag(name string) string {
	wrap := func(s string) string { return "[" + s + "]" }
	return wrap(base32.StdEncoding.EncodeToString([]byte(name)))
}
