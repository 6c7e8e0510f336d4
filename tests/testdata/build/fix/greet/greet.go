// Package greet holds the functions the build tests patch.
package greet

import "fmt"

// Hello answers with the code version that ran.
func Hello(name string) string {
	// The fix: nobody is someone too. Four lines longer than the
	// release's body, so the builder collapses it into the release's
	// lines to keep version where it was.
	if name == "" {
		name = "someone"
	}
	return fmt.Sprintf("hello %s %s", name, version())
}

// version is declared after Hello: a longer Hello must not move it, or
// the package's fingerprint changes and plugin.Open refuses the patch.
func version() string {
	return fmt.Sprint("v1")
}
