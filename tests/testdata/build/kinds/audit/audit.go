// Package audit records entries. Its fix (../../kinds/audit) changes only
// a body, which stops keeping the entry: the parameter escapes less, which
// changes the package's export data and is safe for the release's callers.
package audit

// Entry is one audited event.
type Entry struct{ Name string }

var last *Entry

// Record answers the entry's name, marked. The fix also renames its
// parameter: the same function to its callers.
func Record(entry *Entry) string {
	return entry.Name + "!"
}
