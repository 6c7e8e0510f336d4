package tests

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
)

const (
	revokedKept     = "applied patch is signed by a key the policy no longer trusts; it keeps running (trust.on_revoked_key: keep)"
	revokedReverted = "applied patch is signed by a key the policy no longer trusts; reverting it (trust.on_revoked_key: revert)"
)

// TestRevokedKey: a patch signed by a key that a policy edit then removes
// from trust.keys kept running with nothing to show for it (issue 22). It
// is now flagged (status, WARN naming file, patch and key) and, with
// trust.on_revoked_key: revert, reverted like a deleted file; and
// trust.min_sequence refuses a replay of an older signed patch.
func TestRevokedKey(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	stage := t.TempDir()
	ops, next := keygen(t, f, stage, "ops"), keygen(t, f, stage, "next")
	signed := buildSignedV1(t, f, stage, filepath.Join(stage, "ops.key"))
	polFile := filepath.Join(dir, "hotfix.yaml")
	base := string(readFile(polFile))
	setTrust := func(trust string) {
		t.Helper()
		if err := os.WriteFile(polFile, []byte(base+"trust:\n  require_signature: true\n"+trust), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setTrust("  keys: [" + publicKey(ops) + ", " + publicKey(next) + "]\n")

	h := startHost(t, f.host, dir)
	drop(t, dir, signed, "fix.so")
	h.waitGreet("v1")

	t.Log("1. the signing key is removed: the patch keeps running, flagged")
	setTrust("  keys: [" + publicKey(next) + "]\n")
	rec := h.waitRecord(revokedKept, 1)
	fp := loader.Fingerprint(ops.Public().(ed25519.PublicKey))
	if rec["level"] != "WARN" || rec["file"] != "fix.so" || rec["key"] != fp || rec["patch"] == "" {
		t.Fatalf("revoked key record: %v; want WARN naming fix.so, the patch and key %s", rec, fp)
	}
	if s := fixStatus(t, h); s.State != ledger.Applied || !strings.Contains(s.Revoked, fp) {
		t.Fatalf("status of the patch: %+v; want applied and revoked naming %s", s, fp)
	}
	h.waitGreet("v1")

	t.Log("2. on_revoked_key: revert takes it out, as deleting its file would")
	setTrust("  keys: [" + publicKey(next) + "]\n  on_revoked_key: revert\n")
	h.waitRecord(revokedReverted, 1)
	h.waitGreet("v0")
	h.waitRecord("patch reverted", 1)
	if s := fixStatus(t, h); s.State != ledger.Reverted || !strings.Contains(s.Reason, "on_revoked_key: revert") || !strings.Contains(s.Reason, fp) {
		t.Fatalf("status after revert: %+v; want reverted, the reason naming the key and the setting", s)
	}
	if e := ledgerEntries(t, dir)["signed-v1"]; e.State != ledger.Reverted {
		t.Fatalf("ledger after revert: %+v", e)
	}
	h.stop()

	t.Log("3. trust.min_sequence retires the patch: a restart refuses it, whoever signed it")
	setTrust("  keys: [" + publicKey(ops) + ", " + publicKey(next) + "]\n  min_sequence: 9000000000000000000\n")
	h = startHost(t, f.host, dir)
	rec = h.waitRecord("patch refused", 1)
	if reason, _ := rec["reason"].(string); rec["step"] != "policy" || !strings.Contains(reason, "below trust.min_sequence 9000000000000000000") {
		t.Fatalf("refusal of a retired patch: %v; want step policy naming trust.min_sequence", rec)
	}
	h.waitGreet("v0")
	h.stop()
}

// buildSignedV1 builds the v1 patch for the fixture's host, signed with
// the key in keyFile (`hotfix build -key`).
func buildSignedV1(t *testing.T, f *fixture, stage, keyFile string) string {
	t.Helper()
	src := filepath.Join(stage, "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	if err := copyTree("testdata/patches/v1", src); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(stage, "signed-v1.so")
	if o, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-key", keyFile,
		"-version", "signed-v1", "-o", out, "-func", greetHello); err != nil {
		t.Fatalf("hotfix build -key: %v\n%s", err, o)
	}
	return out
}

// patchStatus is the part of hotfix.PatchStatus this test reads from the
// host's /status.
type patchStatus struct {
	File    string       `json:"file"`
	State   ledger.State `json:"state"`
	Reason  string       `json:"reason"`
	Revoked string       `json:"revoked"`
}

func fixStatus(t *testing.T, h *hostProc) patchStatus {
	t.Helper()
	var ps []patchStatus
	if err := json.Unmarshal([]byte(h.mustGet("/status")), &ps); err != nil {
		t.Fatalf("decode /status: %v", err)
	}
	for _, p := range ps {
		if p.File == "fix.so" {
			return p
		}
	}
	t.Fatalf("no fix.so in /status: %+v", ps)
	return patchStatus{}
}
