package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLedgerHostileNames drops, as an unprivileged user could into a
// sticky patch dir, two junk files whose names are not UTF-8 and differ in
// one byte, and one whose name is a terminal escape. The ledger must keep
// them apart, `hotfix status` must work and print them escaped, and the
// service must start again with the files gone: the ledger that wrote both
// names as "a\ufffd.so" read back as corrupt, and Start then failed.
func TestLedgerHostileNames(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	names := []string{"a\xff.so", "a\xfe.so", "b\x1b[2J.so"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, "patches", n), []byte("not a patch"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.waitRecordWithin("patch refused", len(names), 30*time.Second)
	h.stop()

	out, err := run(dir, f.hotfix, "status", "-policy", filepath.Join(dir, "hotfix.yaml"))
	if err != nil {
		t.Fatalf("hotfix status: %v\n%s", err, out)
	}
	for _, want := range []string{`"a\xff.so"`, `"a\xfe.so"`, `"b\x1b[2J.so"`} {
		if !strings.Contains(out, want) {
			t.Errorf("hotfix status does not show %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("hotfix status printed a raw escape:\n%q", out)
	}

	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, "patches", n)); err != nil {
			t.Fatal(err)
		}
	}
	h = startHost(t, f.host, dir)
	h.waitRecord("hotfix agent started", 1)
	h.stop()
	out, err = run(dir, f.hotfix, "status", "-policy", filepath.Join(dir, "hotfix.yaml"))
	if err != nil {
		t.Fatalf("hotfix status after restart: %v\n%s", err, out)
	}
	if strings.Contains(out, "a\\x") {
		t.Errorf("the refusals of files that are gone are still listed:\n%s", out)
	}
}
