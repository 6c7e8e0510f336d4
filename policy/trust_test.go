package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
)

func TestTrustSigner(t *testing.T) {
	listed, _, _ := ed25519.GenerateKey(nil)
	other, _, _ := ed25519.GenerateKey(nil)
	policyWith := func(require bool, keys ...ed25519.PublicKey) *Policy {
		t.Helper()
		src := fmt.Sprintf("patch_dir: /p\nstate_dir: /s\ntrust:\n  require_signature: %v\n", require)
		if len(keys) > 0 {
			src += "  keys:\n"
			for _, k := range keys {
				src += "    - ed25519:" + base64.StdEncoding.EncodeToString(k) + "\n"
			}
		}
		p, err := Parse([]byte(src), "hotfix.yaml")
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return p
	}
	tests := []struct {
		name   string
		p      *Policy
		signer ed25519.PublicKey
		ok     bool
		reason string
	}{
		{"required, listed", policyWith(true, listed), listed, true, "the normal signed case"},
		{"required, unsigned", policyWith(true, listed), nil, false, "require_signature refuses unsigned patches"},
		{"required, unlisted", policyWith(true, listed), other, false, "only listed keys may sign"},
		{"optional, unsigned", policyWith(false), nil, true, "signatures are opt-in"},
		{"optional, no keys, signed", policyWith(false), other, true, "nothing to compare against"},
		{"optional, keys, unlisted", policyWith(false, listed), other, false, "a signer we do not know is not a signer we trust"},
		{"nil policy", nil, listed, false, "never trust without a policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.TrustSigner(tt.signer)
			if (err == nil) != tt.ok {
				t.Fatalf("TrustSigner = %v, want ok=%v (%s)", err, tt.ok, tt.reason)
			}
			if err != nil && !errors.Is(err, ErrUntrusted) {
				t.Fatalf("error %v does not wrap ErrUntrusted", err)
			}
		})
	}
}
