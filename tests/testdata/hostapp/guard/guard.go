// Package guard holds a function the policy denies.
package guard

import "strings"

// Check accepts admin tokens.
func Check(token string) bool {
	return strings.HasPrefix(token, "admin-")
}
