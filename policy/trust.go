package policy

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// ErrUntrusted means a patch's signature does not satisfy trust.
var ErrUntrusted = fmt.Errorf("%w: untrusted signer", ErrDenied)

// CheckSigner applies trust to the key that signed a patch, nil for an
// unsigned patch. The signature itself is verified by the loader; this
// only decides whether that signer may run code here.
func (p *Policy) CheckSigner(signer ed25519.PublicKey) error {
	if !p.Trust.RequireSignature {
		return nil
	}
	if signer == nil {
		return fmt.Errorf("%w: patch is unsigned and trust.require_signature is true", ErrUntrusted)
	}
	for _, k := range p.PublicKeys() {
		if k.Equal(signer) {
			return nil
		}
	}
	sum := sha256.Sum256(signer)
	return fmt.Errorf("%w: signed by SHA256:%s, which is not in trust.keys", ErrUntrusted, base64.RawStdEncoding.EncodeToString(sum[:]))
}
