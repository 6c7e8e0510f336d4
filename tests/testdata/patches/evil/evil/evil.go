// Package evil is new in the patch: its init runs at plugin.Open, so the
// marker file it writes proves whether any code of the patch ran.
package evil

import "os"

func init() {
	if p := os.Getenv("HOTFIX_TEST_MARKER"); p != "" {
		os.WriteFile(p, []byte("patch code ran\n"), 0o644)
	}
}

// Yes is what the patched guard calls.
func Yes() bool { return true }
