package tests

import (
	"encoding/json"
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
	out, err = run(dir, f.hotfix, "status", "-json", "-policy", filepath.Join(dir, "hotfix.yaml"))
	if err != nil {
		t.Fatalf("hotfix status -json: %v\n%s", err, out)
	}
	var rows []struct {
		File      string `json:"file"`
		FileBytes []byte `json:"file_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("hotfix status -json: %v\n%s", err, out)
	}
	exact := map[string]bool{}
	for _, r := range rows {
		if r.FileBytes != nil {
			exact[string(r.FileBytes)] = true
		}
	}
	if !exact["a\xff.so"] || !exact["a\xfe.so"] {
		t.Errorf("hotfix status -json: file_bytes does not give both names exactly:\n%s", out)
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
}
