// Package greet holds the function the tests patch.
package greet

import "fmt"

// Hello answers with the code version that ran.
func Hello(name string) string {
	return fmt.Sprintf("hello %s v1", name)
}
