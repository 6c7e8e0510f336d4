// Package greet holds the functions the build tests patch.
package greet

import "fmt"

// Hello answers with the code version that ran.
func Hello(name string) string {
	return fmt.Sprintf("hello %s %s", name, version())
}

// version is declared after Hello: a longer Hello must not move it, or
// the package's fingerprint changes and plugin.Open refuses the patch.
func version() string {
	return fmt.Sprint("v0")
}
