// Package keys holds the one spelling of an ed25519 key fingerprint shared
// by the loader (what signed this patch) and the policy (who may sign).
package keys

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
)

// Fingerprint is the short form of a public key shown to operators, as
// `ssh-keygen -l` prints it.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
