// Command gcflags links a, b and d into a binary that can load plugins
// (it imports plugin), so that the linker writes each package's
// fingerprint, as in a host.
package main

import (
	"os"
	_ "plugin"

	"example.com/gcflags/a"
	"example.com/gcflags/b"
	"example.com/gcflags/d"
)

func main() { os.Exit(a.Small(1) + b.Twice(2) + d.Mix(len(os.Args))) }
