// Package guard holds a function the policy denies.
package guard

import "strings"

// Check accepts every token: what an attacker would ship.
func Check(token string) bool {
	return strings.HasPrefix(token, "")
}
