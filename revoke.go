package hotfix

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// Trust is checked when a patch is read, but a patch stays applied for the
// life of the process: a key removed from trust.keys would otherwise go on
// vouching for code it signed, with nothing to show for it. Each policy
// reload therefore asks the new policy about the signer of every applied
// patch (recheckTrust), and trust.on_revoked_key says what then happens.

// signer is who signed a loaded patch; key is nil for an unsigned one.
type signer struct{ key ed25519.PublicKey }

// trustAction is what a policy reload does with one applied patch.
type trustAction int

const (
	trustKept     trustAction = iota // still trusted
	trustFlagged                     // no longer trusted; keeps running, flagged (on_revoked_key: keep)
	trustReverted                    // no longer trusted; reverted (on_revoked_key: revert)
)

// retrust decides what the policy pol does with an applied patch signed
// by key (nil: unsigned), and why it no longer trusts it ("" if it does).
// It asks TrustSigner, the same rule that admitted the patch, so that a
// patch is flagged exactly when a restart would refuse it for its signer.
func retrust(pol *policy.Policy, key ed25519.PublicKey, seq int64) (trustAction, string) {
	err := pol.TrustSigner(key)
	if err == nil {
		err = pol.Retired(seq)
	}
	if err == nil {
		return trustKept, ""
	}
	why := strings.TrimPrefix(err.Error(), policy.ErrUntrusted.Error()+": ")
	why = strings.TrimPrefix(why, policy.ErrRetired.Error()+": ")
	if pol.Trust.OnRevokedKey == policy.RevertRevoked {
		return trustReverted, why
	}
	return trustFlagged, why
}

// keyName is how logs name a signer.
func keyName(key ed25519.PublicKey) string {
	if key == nil {
		return "unsigned"
	}
	return loader.Fingerprint(key)
}

// recheckTrust applies the trust of the policy pol, just reloaded, to the
// patches applied in this process. It runs on the loop.
func (a *Agent) recheckTrust(pol *policy.Policy) {
	for _, ps := range a.appliedNewestFirst() {
		id := ps.manifest.ID
		key, err := a.signerOf(ps)
		if err != nil {
			a.log.Error("cannot read who signed an applied patch; its trust was not checked against the new policy", "file", ps.file, "patch", id, "reason", err)
			continue
		}
		act, why := retrust(pol, key, ps.manifest.Sequence)
		switch act {
		case trustFlagged:
			a.log.Warn("applied patch is signed by a key the policy no longer trusts; it keeps running (trust.on_revoked_key: keep)",
				"file", ps.file, "patch", id, "key", keyName(key), "reason", why)
		case trustReverted:
			a.log.Warn("applied patch is signed by a key the policy no longer trusts; reverting it (trust.on_revoked_key: revert)",
				"file", ps.file, "patch", id, "key", keyName(key), "reason", why)
			if a.revertUntrusted(ps, why) {
				continue
			}
		}
		a.setRevoked(id, why)
	}
}

// appliedNewestFirst returns the applied patches, the highest sequence
// first: the order of the log lines, and of reverts, does not depend on
// map order.
func (a *Agent) appliedNewestFirst() []*patchState {
	var out []*patchState
	for _, ps := range a.patches {
		if ps.applied {
			out = append(out, ps)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].manifest.Sequence != out[j].manifest.Sequence {
			return out[i].manifest.Sequence > out[j].manifest.Sequence
		}
		return out[i].manifest.ID > out[j].manifest.ID
	})
	return out
}

// signerOf reads who signed an applied patch, from the private copy it was
// opened from (the bytes that run), or else from its file in patch_dir if
// that still holds the same bytes; the signature is verified again either
// way. The answer is kept: the bytes of a loaded patch do not change.
func (a *Agent) signerOf(ps *patchState) (ed25519.PublicKey, error) {
	if s, ok := a.signers[ps.sha]; ok {
		return s.key, nil
	}
	var paths []string
	if ps.loaded != nil {
		paths = append(paths, ps.loaded.File)
	}
	paths = append(paths, filepath.Join(a.policy().PatchDir, ps.file))
	var errs []error
	for _, p := range paths {
		f, err := loader.ReadOffline(p, loader.ReadOptions{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Close()
		if f.SHA256 != ps.sha {
			errs = append(errs, fmt.Errorf("%s: other bytes than the patch applied", p))
			continue
		}
		var s signer
		if f.Signature != nil {
			s.key = f.Signature.PublicKey
		}
		if a.signers == nil {
			a.signers = map[string]signer{}
		}
		a.signers[ps.sha] = s
		return s.key, nil
	}
	return nil, errors.Join(errs...)
}

// revertUntrusted reverts an applied patch the policy no longer trusts, as
// forgetFile reverts one whose file was deleted, and records why. The file
// stays where it is: a restart refuses it for its signer, and dropping it
// again re-admits it under the policy then in force.
func (a *Agent) revertUntrusted(ps *patchState, why string) bool {
	t0 := time.Now()
	st, err := a.patcher.Revert(ps.manifest.ID)
	tm := ledger.Timings{Apply: time.Since(t0), StoppedWorld: st.Pause}
	if err != nil {
		a.record(ps.file, &ps.manifest, ps.sha, tm, ledger.Failed, fmt.Errorf("revert of a patch whose signer is no longer trusted: %w", err))
		return false
	}
	ps.applied = false
	a.record(ps.file, &ps.manifest, ps.sha, tm, ledger.Reverted, fmt.Errorf("%s; reverted by trust.on_revoked_key: revert", why))
	a.logCallsInProgress(ps, true)
	return true
}

// setRevoked shows in Status why the policy in force no longer trusts an
// applied patch ("" once it does again).
func (a *Agent) setRevoked(id, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.status[id]; s != nil {
		s.Revoked = why
	}
}
