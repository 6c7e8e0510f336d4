// Command generics links p and q for the loader's tests of generic code
// and inline trees (generics_test.go, inltree_test.go).
package main

import (
	"fmt"

	"example.com/generics/p"
	"example.com/generics/q"
)

func main() {
	fmt.Println(q.Q())
	fmt.Println(p.Local())
}
