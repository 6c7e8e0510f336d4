package hotfix

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// testKey is a deterministic ed25519 key, so that failures name the same
// fingerprints on every run.
func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pubEntry(k ed25519.PrivateKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// trustPolicy parses a policy whose trust section is trust (YAML lines
// indented by two spaces).
func trustPolicy(t *testing.T, trust string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte("patch_dir: /p\nstate_dir: /s\ntrust:\n"+trust), "hotfix.yaml")
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	return p
}

func TestRetrust(t *testing.T) {
	t.Parallel()
	a, b := testKey(1), testKey(2)
	fpA := loader.Fingerprint(a.Public().(ed25519.PublicKey))
	tests := []struct {
		name   string
		trust  string
		signer ed25519.PrivateKey // nil: unsigned
		want   trustAction
		why    string // substring of the reason
		reason string
	}{
		{"key still listed", "  keys: [" + pubEntry(a) + ", " + pubEntry(b) + "]\n", a, trustKept, "",
			"an unrelated edit of the policy changes nothing"},
		{"key removed", "  keys: [" + pubEntry(b) + "]\n", a, trustFlagged, "signed by " + fpA + ", which is not in trust.keys",
			"the default keeps the fix running and says so: reverting brings the bug back"},
		{"key removed, revert", "  keys: [" + pubEntry(b) + "]\n  on_revoked_key: revert\n", a, trustReverted, "signed by " + fpA,
			"the setting that takes a revoked key's code out"},
		{"key removed, keep spelt out", "  keys: [" + pubEntry(b) + "]\n  on_revoked_key: keep\n", a, trustFlagged, "not in trust.keys",
			"keep is the default, written"},
		{"signatures now required", "  require_signature: true\n  keys: [" + pubEntry(b) + "]\n  on_revoked_key: revert\n", nil, trustReverted, "unsigned",
			"an unsigned patch is refused by the same rule at a restart"},
		{"unsigned, none required", "  keys: [" + pubEntry(b) + "]\n", nil, trustKept, "",
			"without require_signature an unsigned patch is admitted, so it stays trusted"},
		{"every key removed", "  keys: []\n  on_revoked_key: revert\n", a, trustKept, "",
			"no keys and no require_signature trusts every signer (TrustSigner): not a revocation, README says so"},
		{"retired by min_sequence", "  keys: [" + pubEntry(a) + "]\n  min_sequence: 200\n", a, trustFlagged, "sequence 100 is below trust.min_sequence 200",
			"a replayed older patch, retired by the operator, is flagged like a revoked key's"},
		{"retired, revert", "  keys: [" + pubEntry(a) + "]\n  min_sequence: 200\n  on_revoked_key: revert\n", a, trustReverted, "below trust.min_sequence",
			"and reverted with the same setting"},
		{"at min_sequence", "  keys: [" + pubEntry(a) + "]\n  min_sequence: 100\n", a, trustKept, "",
			"the bound is inclusive: the patch it names stays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var key ed25519.PublicKey
			if tt.signer != nil {
				key = tt.signer.Public().(ed25519.PublicKey)
			}
			act, why := retrust(trustPolicy(t, tt.trust), key, 100)
			if act != tt.want || (tt.why == "") != (why == "") || !strings.Contains(why, tt.why) {
				t.Errorf("retrust = %v, %q; want %v, %q (%s)", act, why, tt.want, tt.why, tt.reason)
			}
		})
	}
}

// TestRecheckTrustFlagsRevokedKey: a policy reload that removes the key
// of an applied patch shows it as revoked in Status, the handler (JSON and
// text), Metrics and a WARN record naming file, patch and key; putting the
// key back clears it. The patch file is real, signed bytes read back from
// the private copy, as the agent reads them.
func TestRecheckTrustFlagsRevokedKey(t *testing.T) {
	t.Parallel()
	a, b := testKey(1), testKey(2)
	fpA := loader.Fingerprint(a.Public().(ed25519.PublicKey))
	raw, err := loader.Encode([]byte("not really ELF"), loader.Manifest{
		ID: "fix-1", Version: "v1", Sequence: 1, PluginPath: "example.com/app/hotfix_patch_1", Anchor: "HotfixTargets",
		Targets: []loader.Target{{Name: "example.com/app/router.handle"}},
	}, a)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "fix-1.so")
	if err := os.WriteFile(copyPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	sha := hex.EncodeToString(sum[:])
	var logs bytes.Buffer
	ag := &Agent{
		log: slog.New(slog.NewJSONHandler(&logs, nil)), obs: newObservations(),
		pol:    trustPolicy(t, "  keys: ["+pubEntry(a)+", "+pubEntry(b)+"]\n"),
		status: map[string]*PatchStatus{"fix-1": {ID: "fix-1", Version: "v1", File: "fix.so", SHA256: sha, State: StateApplied}},
		patches: map[string]*patchState{"fix-1": {
			sha: sha, file: "fix.so", applied: true, loaded: &loader.Loaded{File: copyPath},
			manifest: loader.Manifest{ID: "fix-1", Sequence: 1},
		}},
	}

	revoked := trustPolicy(t, "  keys: ["+pubEntry(b)+"]\n")
	ag.pol = revoked
	ag.recheckTrust(revoked)
	if st := ag.Status(); len(st) != 1 || st[0].State != StateApplied || !strings.Contains(st[0].Revoked, fpA) {
		t.Fatalf("status after the key was removed: %+v; want applied, revoked naming %s", st, fpA)
	}
	if m := ag.Metrics(); m.Revoked != 1 {
		t.Errorf("Metrics().Revoked = %d, want 1", m.Revoked)
	}
	var rec map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if json.Unmarshal([]byte(l), &rec) == nil && rec["level"] == "WARN" {
			break
		}
		rec = nil
	}
	if rec == nil || rec["file"] != "fix.so" || rec["patch"] != "fix-1" || rec["key"] != fpA || !strings.Contains(rec["msg"].(string), "no longer trusts") {
		t.Errorf("WARN record: %v; want file, patch and key %s\nlog:\n%s", rec, fpA, logs.String())
	}
	if body := get(t, ag, "text/plain"); !strings.Contains(body, "signer revoked: signed by "+fpA) {
		t.Errorf("text status lacks the revocation:\n%s", body)
	}
	if body := get(t, ag, ""); !strings.Contains(body, `"revoked": "signed by `+fpA) {
		t.Errorf("JSON status lacks the revocation:\n%s", body)
	}

	trusted := trustPolicy(t, "  keys: ["+pubEntry(a)+"]\n")
	ag.pol = trusted
	ag.recheckTrust(trusted)
	if st := ag.Status(); st[0].Revoked != "" || ag.Metrics().Revoked != 0 {
		t.Errorf("after the key was listed again: %+v, metric %d; want no revocation", st[0], ag.Metrics().Revoked)
	}
}

func get(t *testing.T, a *Agent, accept string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/hotfix", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, req)
	return w.Body.String()
}
