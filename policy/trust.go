package policy

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/gohotfix/hotfix/internal/keys"
)

// ErrUntrusted is wrapped by TrustSigner's refusals.
var ErrUntrusted = errors.New("policy: untrusted")

// TrustSigner applies trust to the key that signed a patch, nil for an
// unsigned one. The loader has already verified the signature itself; this
// only decides whether that signer may run code here:
//   - with require_signature, the signer must be one of trust.keys;
//   - without it, an unsigned patch passes, and so does a signed one when no
//     keys are listed; a patch signed by a key other than the listed ones is
//     refused either way, because it says who made it and that is not us.
func (p *Policy) TrustSigner(signer ed25519.PublicKey) error {
	if p == nil {
		return fmt.Errorf("%w: no policy", ErrUntrusted)
	}
	listed := p.PublicKeys()
	if signer == nil {
		if p.Trust.RequireSignature {
			return fmt.Errorf("%w: patch is unsigned and trust.require_signature is true", ErrUntrusted)
		}
		return nil
	}
	for _, k := range listed {
		if k.Equal(signer) {
			return nil
		}
	}
	if len(listed) == 0 && !p.Trust.RequireSignature {
		return nil
	}
	return fmt.Errorf("%w: signed by %s, which is not in trust.keys", ErrUntrusted, keys.Fingerprint(signer))
}

// ErrRetired: a patch's sequence is below trust.min_sequence.
var ErrRetired = errors.New("policy: patch retired")

// Retired refuses a patch whose manifest sequence is below
// trust.min_sequence, the policy's answer to a replayed older patch.
func (p *Policy) Retired(seq int64) error {
	if p != nil && seq < p.Trust.MinSequence {
		return fmt.Errorf("%w: sequence %d is below trust.min_sequence %d", ErrRetired, seq, p.Trust.MinSequence)
	}
	return nil
}
