package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
)

// fleetHost is one host of the fleet test: a shop process on loopback with
// its own policy, patch directory and state directory.
type fleetHost struct {
	name string
	*hostProc
}

const (
	fleetQuote = "/quote?item=apple&qty=10"
	fleetBuggy = "= 5.00 EUR"
	fleetFixed = "= 4.50 EUR"
)

// TestFleet runs deploy/ansible/hotfix.yml with ansible-playbook against
// three shops on this machine (ansible_connection=local) and checks each
// from outside, over HTTP and with `hotfix status -json`: the fix rolls out
// to all three in the same processes and back; a canary running another
// build refuses it and the rollout stops with no host touched; a later host
// refusing it takes it back from the hosts that had it.
func TestFleet(t *testing.T) {
	if os.Getenv("HOTFIX_FLEET") != "1" {
		t.Skip("fleet test: runs ansible-playbook against three local shops; run it with `make fleet-test` (sets HOTFIX_FLEET=1)")
	}
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatal("HOTFIX_FLEET=1 but no ansible-playbook on PATH: `make fleet-test` installs Debian's ansible")
	}
	f, s := requireShop(t)
	other := buildShopVariant(t, f, s)
	sum, err := fileSHA256(s.patch)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(s.patch)
	var hosts []fleetHost
	for i := 1; i <= 3; i++ {
		hosts = append(hosts, fleetHost{fmt.Sprintf("shop%d", i), startShop(t, s)})
	}
	for _, h := range hosts {
		h.wantQuote(t, fleetBuggy)
	}

	t.Log("1. state=present rolls the fix out to all three")
	{
		if out, err := runPlaybook(t, f, hosts, s.patch, "present"); err != nil {
			t.Fatalf("playbook: %v\n%s", err, out)
		}
		for _, h := range hosts {
			h.wantQuote(t, fleetFixed)
			h.wantState(t, f, sum, ledger.Applied)
			h.wantFiles(t, name)
		}
	}
	t.Log("2. state=absent takes it back everywhere")
	{
		if out, err := runPlaybook(t, f, hosts, s.patch, "absent"); err != nil {
			t.Fatalf("playbook: %v\n%s", err, out)
		}
		for _, h := range hosts {
			h.wantQuote(t, fleetBuggy)
			h.wantState(t, f, sum, ledger.Reverted)
			h.wantFiles(t)
		}
	}

	// "odd" runs another build of the shop: its agent refuses the patch.
	// As the canary it stops the rollout before any other host is touched.
	odd := fleetHost{"odd", startShop(t, &shopFixture{bin: other, patch: s.patch})}
	t.Log("3. a canary running another build refuses it: the rollout stops")
	{
		fleet := []fleetHost{odd, hosts[1], hosts[2]}
		before := map[string]ledger.Entry{}
		for _, h := range fleet[1:] {
			before[h.name] = h.wantState(t, f, sum, ledger.Reverted)
		}
		out, err := runPlaybook(t, f, fleet, s.patch, "present")
		if err == nil {
			t.Fatalf("playbook succeeded with a canary that refuses the patch:\n%s", out)
		}
		if !strings.Contains(out, "odd: "+name+" refused") {
			t.Errorf("playbook output does not name the canary's refusal:\n%s", out)
		}
		e := odd.wantState(t, f, sum, ledger.Refused)
		t.Logf("canary refused: %s", e.Reason)
		for _, h := range fleet {
			h.wantQuote(t, fleetBuggy)
			h.wantFiles(t)
		}
		for _, h := range fleet[1:] {
			if e := h.wantState(t, f, sum, ledger.Reverted); !e.UpdatedAt.Equal(before[h.name].UpdatedAt) {
				t.Errorf("%s: ledger entry changed during the run (%v, was %v): the host was touched", h.name, e.UpdatedAt, before[h.name].UpdatedAt)
			}
		}
	}

	// The canary takes the patch, then a host of the second batch refuses
	// it: the hosts that applied it revert.
	t.Log("4. a host of the second batch refuses it: the others revert")
	{
		fleet := []fleetHost{hosts[0], hosts[1], odd}
		start := time.Now()
		applied := map[string]int{}
		for _, h := range fleet[:2] {
			applied[h.name] = strings.Count(h.logs.String(), `msg="patch applied"`)
		}
		out, err := runPlaybook(t, f, fleet, s.patch, "present")
		if err == nil {
			t.Fatalf("playbook succeeded with a host that refuses the patch:\n%s", out)
		}
		if !strings.Contains(out, "odd: "+name+" refused") {
			t.Errorf("playbook output does not name the refusal:\n%s", out)
		}
		odd.wantState(t, f, sum, ledger.Refused)
		for _, h := range fleet {
			h.wantQuote(t, fleetBuggy)
			h.wantFiles(t)
		}
		for _, h := range fleet[:2] {
			if n := strings.Count(h.logs.String(), `msg="patch applied"`) - applied[h.name]; n != 1 {
				t.Errorf("%s: applied the patch %d times during the run, want once", h.name, n)
			}
			if e := h.wantState(t, f, sum, ledger.Reverted); e.UpdatedAt.Before(start) {
				t.Errorf("%s: reverted at %v, before this run", h.name, e.UpdatedAt)
			}
		}
	}

	// A canary whose policy requires signatures refuses the unsigned patch
	// when it reads it: the ledger names the file's sha256 all the same,
	// so the playbook sees the refusal at once and prints the reason.
	t.Log("5. a canary refuses the patch at the signature step: the playbook says why at once")
	{
		strict := fleetHost{"strict", startShop(t, s)}
		pol := filepath.Join(strict.dir, "hotfix.yaml")
		signed := strings.Replace(string(readFile(pol)), "require_signature: false", "require_signature: true\n  keys: [\"ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"]", 1)
		if err := os.WriteFile(pol, []byte(signed), 0o644); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(strict.logs.String(), `msg="policy reloaded`) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		start := time.Now()
		out, err := runPlaybook(t, f, []fleetHost{strict, hosts[1]}, s.patch, "present")
		if err == nil {
			t.Fatalf("playbook succeeded with a canary that requires signatures:\n%s", out)
		}
		if !strings.Contains(out, "strict: "+name+" refused") || !strings.Contains(out, "unsigned") || strings.Contains(out, "no outcome recorded") {
			t.Errorf("playbook output does not give the canary's reason:\n%s", out)
		}
		if e := strict.wantState(t, f, sum, ledger.Refused); e.SHA256 != sum {
			t.Errorf("the refusal is recorded with sha256 %q, want the file's", e.SHA256)
		}
		t.Logf("the playbook stopped %v after it started, on the canary's reason", time.Since(start).Round(time.Millisecond))
	}
}

// buildShopVariant builds the shop from its release source plus one file,
// with the same flags: another build ID, so its agent refuses the patch.
func buildShopVariant(t *testing.T, f *fixture, s *shopFixture) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(s.src, src); err != nil {
		t.Fatal(err)
	}
	variant := "package main\n\n// Another build of the shop, for the fleet test.\nvar buildVariant = \"odd\"\n"
	if err := os.WriteFile(filepath.Join(src, "variant.go"), []byte(variant), 0o644); err != nil {
		t.Fatal(err)
	}
	flags, err := runFlags(src, f.hotfix, "-policy", "hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(src), "shop-variant")
	if _, err := run(src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", bin, ".")...); err != nil {
		t.Fatalf("build the shop variant: %v", err)
	}
	return bin
}

// runPlaybook runs the fleet playbook against hosts, in that order (the
// first is the canary), with a fresh inventory and Ansible's temporary
// files in the test's own directories.
func runPlaybook(t *testing.T, f *fixture, hosts []fleetHost, patch, state string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	var inv strings.Builder
	inv.WriteString("[shops]\n")
	for _, h := range hosts {
		fmt.Fprintf(&inv, "%s hotfix_policy=%s hotfix_bin=%s\n", h.name, filepath.Join(h.dir, "hotfix.yaml"), f.hotfix)
	}
	inv.WriteString("\n[shops:vars]\nansible_connection=local\nansible_python_interpreter={{ ansible_playbook_python }}\nhotfix_timeout=30\n")
	invFile := filepath.Join(dir, "inventory")
	if err := os.WriteFile(invFile, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ansible-playbook", "-i", invFile, filepath.Join(f.repo, "deploy", "ansible", "hotfix.yml"),
		"-e", "patch="+patch, "-e", "state="+state)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "local"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(dir, "remote"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	t.Logf("ansible-playbook state=%s on %d hosts: %v in %v", state, len(hosts), err, time.Since(t0).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ansible-playbook state=%s output:\n%s", state, out.String())
		}
	})
	return out.String(), err
}

// wantQuote checks the shop's answer, from the process started by the test.
func (h fleetHost) wantQuote(t *testing.T, want string) {
	t.Helper()
	got, err := h.get(fleetQuote)
	if err != nil || !strings.Contains(got, want) || !strings.Contains(got, fmt.Sprintf("(pid %d)", h.pid)) {
		t.Fatalf("%s answers %q, want %q from pid %d\nlogs:\n%s", h.name, got, want, h.pid, h.logs)
	}
	if err != nil {
		t.Fatalf("%s: %v", h.name, err)
	}
}

// wantState checks what `hotfix status -json` says of the patch with the
// given sha256 on h, and returns its entry.
func (h fleetHost) wantState(t *testing.T, f *fixture, sum string, want ledger.State) ledger.Entry {
	t.Helper()
	out, err := run(h.dir, f.hotfix, "status", "-policy", filepath.Join(h.dir, "hotfix.yaml"), "-json")
	if err != nil {
		t.Fatalf("%s: hotfix status: %v", h.name, err)
	}
	var entries []ledger.Entry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("%s: hotfix status -json: %v\n%s", h.name, err, out)
	}
	for _, e := range entries {
		if e.SHA256 == sum {
			if e.State != want {
				t.Errorf("%s: patch %s is %s (%s), want %s", h.name, e.ID, e.State, e.Reason, want)
			}
			return e
		}
	}
	t.Errorf("%s: no ledger entry with sha256 %s, want one %s:\n%s", h.name, sum, want, out)
	return ledger.Entry{}
}

// wantFiles checks the names in h's patch directory.
func (h fleetHost) wantFiles(t *testing.T, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.dir, "patches"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: patch directory holds %q, want %q", h.name, got, want)
	}
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}
