package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
)

// rawControls are what must never reach a terminal from a patch file or
// its name (issue 22): ESC, BEL, CR, a tab that moves a column, an
// invalid byte, the one-rune CSI, a bidi override and a bidi isolate.
var rawControls = []string{"\x1b", "\a", "\r", "\t", "\xff", "\u009b", "\u202e", "\u2066"}

func checkNoRaw(t *testing.T, what, out string) {
	t.Helper()
	for _, raw := range rawControls {
		if strings.Contains(out, raw) {
			t.Errorf("%s holds %q raw:\n%s", what, raw, out)
		}
	}
}

// Issue 22: `hotfix inspect` prints every string of the manifest, and
// the file's name, escaped; -json keeps them exact.
func TestInspectEscapes(t *testing.T) {
	dir := t.TempDir()
	m := loader.Manifest{ID: "p-1", Version: "1\x1b]0;owned\a", PluginPath: "example.com/app/hotfix_patch_x", Anchor: "HotfixTargets",
		BaseRevision: "v1\r\x1b[2K", GoVersion: "go1.26\u202e", BuildFlags: []string{"-tags=a\tb"}, Adopted: []string{"p\u2066q"},
		Host:    loader.Host{BuildID: "id\u009b2J", MainPath: "m\x1b[31m"},
		Targets: []loader.Target{{Name: "example.com/app/router.Greet\x1b[2J", Reason: "changed\tbody\n"}}}
	b, err := loader.Encode([]byte("\x7fELF code"), m, nil)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	path := filepath.Join(dir, "a\x1b[2J.so")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := hotfix(t, "inspect", path)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errs)
	}
	checkNoRaw(t, "inspect", out)
	for _, want := range []string{`a\x1b[2J.so"`, `"1\x1b]0;owned\a"`, `"id\u009b2J"`, `"example.com/app/router.Greet\x1b[2J"`, `"changed\tbody\n"`, `"p\u2066q"`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 15 {
		t.Errorf("inspect printed %d lines, want 15: a newline in a field made one:\n%s", n, out)
	}

	code, out, _ = hotfix(t, "inspect", "-json", path)
	var js struct {
		File     string
		Manifest loader.Manifest
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil {
		t.Fatalf("inspect -json: exit %d:\n%s", code, out)
	}
	if js.File != path || js.Manifest.Version != m.Version || js.Manifest.Targets[0].Name != m.Targets[0].Name {
		t.Errorf("inspect -json changed the strings: %+v", js)
	}

	// An error about a file names it escaped too.
	bad := filepath.Join(dir, "b\x1b[2J\xff.so")
	os.WriteFile(bad, []byte("junk"), 0o644)
	if code, _, errs := hotfix(t, "inspect", bad); code != 1 {
		t.Errorf("inspect of junk: exit %d", code)
	} else {
		checkNoRaw(t, "inspect's error", errs)
	}
	self, _ := os.Executable()
	if code, _, errs := hotfix(t, "verify", "-binary", self, "-policy", filepath.Join("..", "..", "hotfix.yaml"), bad); code != 1 {
		t.Errorf("verify of junk: exit %d", code)
	} else {
		checkNoRaw(t, "verify's error", errs)
	}
}

// Issue 22: `hotfix status` prints the ledger's names escaped, one line
// per entry; -json keeps them exact.
func TestStatusEscapes(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	pol := filepath.Join(dir, "hotfix.yaml")
	yaml := "patch_dir: " + filepath.Join(dir, "patches") + "\nstate_dir: " + state + "\nallow:\n  packages: [example.com/app]\n"
	if err := os.WriteFile(pol, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(state, 0o700)
	l, err := ledger.Open(state)
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	entries := []ledger.Entry{
		{ID: "p1", Version: "1\x1b]0;owned\a", File: "a\x1b[2J.so", SHA256: "00", Targets: []string{"f"}, State: ledger.Applied, AppliedAt: time.Now()},
		{ID: "p2", Version: "2", File: "b\u202eos.txt", SHA256: "11", Targets: []string{"g"}, State: ledger.Refused, Reason: "target \"g\tx\":\nnot found"},
	}
	for _, e := range entries {
		if err := l.Record(e); err != nil {
			t.Fatalf("record %q: %v", e.File, err)
		}
	}
	l.Close()

	code, out, errs := hotfix(t, "status", "-policy", pol)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
	checkNoRaw(t, "status", out)
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("status printed %d lines, want a header and 2 rows:\n%s", n, out)
	}
	for _, want := range []string{`"a\x1b[2J.so"`, `"b\u202eos.txt"`, `"target \"g\tx\":\nnot found"`} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %s:\n%s", want, out)
		}
	}
	code, out, _ = hotfix(t, "status", "-policy", pol, "-json")
	var js []statusJSON
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) != 2 {
		t.Fatalf("status -json: exit %d:\n%s", code, out)
	}
	files := map[string]bool{js[0].File: true, js[1].File: true}
	if !files[entries[0].File] || !files[entries[1].File] {
		t.Errorf("status -json changed the names: %q, %q", js[0].File, js[1].File)
	}
}
