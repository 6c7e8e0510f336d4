// Package guard holds a function the policy denies.
package guard

// Check accepts every token: what an attacker would ship.
func Check(token string) bool {
	return len(token) >= 0
}
