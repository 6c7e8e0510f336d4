package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

func hotfix(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "ops")
	code, out, errs := hotfix(t, "keygen", "-o", base)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errs)
	}
	st, err := os.Stat(base + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("ops.key: %v %v, want mode 0600", st.Mode(), err)
	}
	priv, err := readKey(base + ".key")
	if err != nil {
		t.Fatalf("readKey: %v", err)
	}
	pubText, _ := os.ReadFile(base + ".pub")
	want := "ed25519:" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	if strings.TrimSpace(string(pubText)) != want {
		t.Fatalf("ops.pub = %q, want %q (the form trust.keys takes)", pubText, want)
	}
	if !strings.Contains(out, want) || !strings.Contains(out, loader.Fingerprint(priv.Public().(ed25519.PublicKey))) {
		t.Fatalf("keygen output lacks the key or its fingerprint:\n%s", out)
	}

	// A second keygen must not replace a key that may already be listed.
	code, _, errs = hotfix(t, "keygen", "-o", base)
	if code != 1 || !strings.Contains(errs, "not overwriting") {
		t.Fatalf("keygen over an existing key: exit %d: %s", code, errs)
	}
	if again, _ := readKey(base + ".key"); !again.Equal(priv) {
		t.Fatal("the existing key changed")
	}
	if code, _, _ := hotfix(t, "keygen"); code != 2 {
		t.Fatalf("keygen without -o: exit %d, want 2", code)
	}
}

func TestReadKeyRejects(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"pub":   "ed25519:AAAA\n",
		"short": "hotfix-ed25519-private:" + base64.StdEncoding.EncodeToString([]byte("short")) + "\n",
		"junk":  "hotfix-ed25519-private:!!!\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		if _, err := readKey(p); err == nil {
			t.Errorf("readKey accepted %s: %q", name, text)
		}
	}
}

func TestInspectShowsSigner(t *testing.T) {
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(nil)
	fp := loader.Fingerprint(key.Public().(ed25519.PublicKey))
	m := loader.Manifest{ID: "p-1", Version: "1.0.1", PluginPath: "example.com/app/hotfix_patch_x", Anchor: "HotfixTargets",
		Targets: []loader.Target{{Name: "example.com/app/router.Greet"}}}
	write := func(name string, k ed25519.PrivateKey, flip bool) string {
		b, err := loader.Encode([]byte("\x7fELF code"), m, k)
		if err != nil {
			t.Fatal(err)
		}
		if flip {
			b[3] ^= 1
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	signed, unsigned, flipped := write("s.so", key, false), write("u.so", nil, false), write("f.so", key, true)

	if code, out, errs := hotfix(t, "inspect", signed); code != 0 || !strings.Contains(out, fp) {
		t.Fatalf("inspect signed: exit %d, want the fingerprint %s:\n%s%s", code, fp, out, errs)
	}
	code, out, _ := hotfix(t, "inspect", "-json", signed)
	var js struct{ Signer string }
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || !strings.Contains(js.Signer, fp) {
		t.Fatalf("inspect -json: exit %d, signer %q:\n%s", code, js.Signer, out)
	}
	if code, out, _ := hotfix(t, "inspect", unsigned); code != 0 || !strings.Contains(out, "unsigned") {
		t.Fatalf("inspect unsigned: exit %d:\n%s", code, out)
	}
	if code, _, errs := hotfix(t, "inspect", flipped); code != 1 || !strings.Contains(errs, "does not match the file's bytes") {
		t.Fatalf("inspect of a file changed after signing: exit %d: %s", code, errs)
	}
}

// Help asked for goes to stdout with exit 0 and lists every flag with its
// default; a usage error goes to stderr with exit 2 (issue 23).
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "build"}, {"build", "-h"}, {"build", "--help"}} {
		code, out, errs := hotfix(t, args...)
		if code != 0 || errs != "" {
			t.Errorf("hotfix %v: exit %d, stderr %q", args, code, errs)
		}
		for _, want := range []string{"usage: hotfix build", "-binary string", "-policy string", `(default "hotfix.yaml")`, "-dry-run", "-goroot string"} {
			if !strings.Contains(out, want) {
				t.Errorf("hotfix %v: stdout lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}} {
		if code, out, _ := hotfix(t, args...); code != 0 || !strings.Contains(out, "verify") || !strings.Contains(out, "version") {
			t.Errorf("hotfix %v: exit %d:\n%s", args, code, out)
		}
	}
	for _, args := range [][]string{{}, {"nosuch"}, {"build", "-nosuch"}, {"help", "nosuch"}, {"build", "-goroot", "/x", "-func", "net/textproto.readMIMEHeader"}} {
		if code, out, errs := hotfix(t, args...); code != 2 || out != "" || errs == "" {
			t.Errorf("hotfix %v: exit %d, stdout %q, stderr %q; want 2, nothing, a reason", args, code, out, errs)
		}
	}
	if code, out, _ := hotfix(t, "version"); code != 0 || !strings.HasPrefix(out, "hotfix version ") || !strings.Contains(out, "go1.26 and go1.27") {
		t.Errorf("hotfix version: exit %d:\n%s", code, out)
	}
}

// A missing file is a missing file, not a refusal at some step (issue 23).
func TestMissingPatchFile(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nosuch.so")
	for _, args := range [][]string{{"verify", "-binary", self, "-policy", filepath.Join("..", "..", "hotfix.yaml"), missing}, {"inspect", missing}} {
		code, _, errs := hotfix(t, args...)
		if code != 1 || !strings.Contains(errs, "no such file or directory") || strings.Contains(errs, "refused") {
			t.Errorf("hotfix %s: exit %d: %s", args[0], code, errs)
		}
	}
}

// Footguns say so (issue 23): an allowed package the module does not
// build; a policy that allows no function of the binary; HOTFIX_POLICY.
func TestPolicyFootguns(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "typo.yaml")
	yaml := "patch_dir: " + filepath.Join(dir, "patches") + "\nstate_dir: " + filepath.Join(dir, "state") + "\nallow:\n  packages: [example.com/nosuch]\n"
	if err := os.WriteFile(pol, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := hotfix(t, "flags", "-policy", pol)
	if code != 0 || strings.Contains(out, "-gcflags") ||
		!strings.Contains(errs, "allows example.com/nosuch, which matches no package this module builds") {
		t.Errorf("hotfix flags with a package the module lacks: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	self, _ := os.Executable()
	if code, _, errs := hotfix(t, "verify", "-binary", self, "-policy", pol); code == 0 && !strings.Contains(errs, "no symbol table") {
		t.Errorf("hotfix verify: a policy that allows nothing of the binary exits 0")
	}
	t.Setenv("HOTFIX_POLICY", pol)
	if code, _, errs := hotfix(t, "status"); code != 0 {
		t.Errorf("hotfix status with HOTFIX_POLICY=%s: exit %d: %s", pol, code, errs)
	}
	t.Setenv("HOTFIX_POLICY", filepath.Join(dir, "nosuch.yaml"))
	if code, _, errs := hotfix(t, "status"); code != 1 || !strings.Contains(errs, "nosuch.yaml") {
		t.Errorf("hotfix status reads HOTFIX_POLICY: exit %d: %s", code, errs)
	}
}

// TestBuildGoUsage: `hotfix build -go` refuses, as a usage error (exit 2)
// naming the flag and before anything is built or fetched, a value that
// names no Go release, and -go given with -goroot or -func.
func TestBuildGoUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   string
		reason string
	}{
		{"garbage", []string{"-go", "1.26.x"}, `-go "1.26.x": not a Go release`, "not a version at all"},
		{"lang", []string{"-go", "go1.27"}, "-go go1.27: a language version", "GOTOOLCHAIN=go1.27 names no toolchain"},
		{"suffix", []string{"-go", "go1.26.9-custom"}, "not a Go release", "no release of that name to fetch"},
		{"with-goroot", []string{"-go", "go1.26.8", "-goroot", "/usr/local/go"}, "-go names a Go root as -goroot does", "two roots for one build"},
		{"with-func", []string{"-go", "go1.26.8", "-func", "net/http.readRequest"}, "they take no -func", "-go finds the changed functions itself, like -goroot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := hotfix(t, append([]string{"build", "-policy", "/nonexistent.yaml"}, tt.args...)...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("hotfix build %s: exit %d, %s\nwant exit 2 with %q: %s", strings.Join(tt.args, " "), code, errs, tt.want, tt.reason)
			}
		})
	}
}
