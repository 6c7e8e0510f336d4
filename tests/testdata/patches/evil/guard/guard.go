// Package guard holds a function the policy denies.
package guard

import (
	"strings"

	"example.com/hostapp/evil"
)

// Check accepts every token: what an attacker would ship.
func Check(token string) bool {
	return evil.Yes() || strings.HasPrefix(token, "admin-")
}
