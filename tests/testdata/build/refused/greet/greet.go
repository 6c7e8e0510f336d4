// Package greet holds the functions the build tests patch.
package greet

import (
	"fmt"
	"strings"
)

// Version is new: callers elsewhere could use it.
const Version = "v1"

// Hello answers with the code version that ran.
func Hello(name string, extra ...string) string {
	return fmt.Sprintf("hello %s %s", strings.TrimSpace(name), version(false))
}

// version is declared after Hello.
func version(short bool) string {
	return fmt.Sprint(Version)
}
