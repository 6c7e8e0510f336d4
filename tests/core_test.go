package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
)

func ledgerEntries(t testing.TB, dir string) map[string]ledger.Entry {
	t.Helper()
	es, err := ledger.Read(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	m := map[string]ledger.Entry{}
	for _, e := range es {
		m[e.Version] = e
	}
	return m
}

func TestApplyAndRevertOnDelete(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	h.waitGreet("v0")

	drop(t, dir, f.patches["v1"], "v1.so")
	h.waitGreet("v1")
	rec := h.waitRecord("patch applied", 1)
	t.Logf("applied: inspect %v open %v apply %v stopped world %v ns",
		rec["inspect"], rec["open"], rec["apply"], rec["stopped_world"])
	if e := ledgerEntries(t, dir)["v1"]; e.State != ledger.Applied || e.PID != h.pid {
		t.Fatalf("ledger after apply: %+v", e)
	}

	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	h.waitRecord("patch reverted", 1)
	if e := ledgerEntries(t, dir)["v1"]; e.State != ledger.Reverted {
		t.Fatalf("ledger after delete: %+v", e)
	}

	// Dropped again: the plugin stays loaded, so the same copy is applied
	// again without a second plugin.Open.
	drop(t, dir, f.patches["v1"], "v1-again.so")
	h.waitGreet("v1")
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Fatalf("re-drop failed: %v", rs)
	}
	h.stop()
}

func TestRestartReappliesInSequence(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	drop(t, dir, f.patches["v1"], "v1.so")
	h.waitGreet("v1")
	drop(t, dir, f.patches["v2"], "v2.so")
	h.waitGreet("v2")
	h.stop()

	// Start applies what is in the directory before it returns: the very
	// first answer of the new process is already fixed.
	h2 := startHost(t, f.host, dir)
	if got := h2.mustGet("/greet?name=x"); got != "hello x v2" {
		t.Fatalf("first answer after restart = %q, want v2\n%s", got, h2.logs)
	}
	if n := len(h2.records("patch applied")); n != 2 {
		t.Fatalf("%d patches applied at restart, want 2 (v1 then v2)\n%s", n, h2.logs)
	}
	es := ledgerEntries(t, dir)
	for _, v := range []string{"v1", "v2"} {
		if es[v].State != ledger.Applied || es[v].PID != h2.pid {
			t.Errorf("ledger %s after restart: %+v", v, es[v])
		}
	}
	// v2 deleted: v1, still in the directory, is live again.
	remove(t, dir, "v2.so")
	h2.waitGreet("v1")
	h2.stop()

	// Gone while the service was down: the ledger says so at next start.
	remove(t, dir, "v1.so")
	h3 := startHost(t, f.host, dir)
	h3.waitGreet("v0")
	if e := ledgerEntries(t, dir)["v1"]; e.State != ledger.Reverted {
		t.Fatalf("ledger v1 after restart without file: %+v", e)
	}
	h3.stop()
}

func TestSameFileUnderTwoNames(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	drop(t, dir, f.patches["v1"], "a.so")
	h.waitGreet("v1")
	drop(t, dir, f.patches["v1"], "b.so")
	h.waitRecord("same patch under another name; already applied", 1)
	if n := len(h.records("patch applied")); n != 1 {
		t.Fatalf("applied %d times, want once", n)
	}
	remove(t, dir, "a.so")
	h.waitRecord("patch file removed; the same patch stays applied from another file", 1)
	h.waitGreet("v1")
	remove(t, dir, "b.so")
	h.waitGreet("v0")
	h.stop()
}

func TestNewerPatchForSameFunction(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	drop(t, dir, f.patches["v1"], "v1.so")
	h.waitGreet("v1")
	drop(t, dir, f.patches["v2"], "v2.so")
	h.waitGreet("v2")
	remove(t, dir, "v2.so")
	h.waitGreet("v1")
	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	h.stop()
}

func TestRefusals(t *testing.T) {
	f := requireFixture(t)
	tests := []struct {
		name   string
		patch  string
		reason string // substring of the refusal
		why    string
	}{
		{"another binary", "v1-for-B", "patch built for binary", "build IDs differ: both are named"},
		{"other gcflags", "v1-otherflags", "-gcflags=", "the flag mismatch is named before plugin.Open can fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newWorkDir(t, "policy.yaml")
			h := startHost(t, f.host, dir)
			drop(t, dir, f.patches[tt.patch], "p.so")
			rec := h.waitRecord("patch refused", 1)
			if r, _ := rec["reason"].(string); !strings.Contains(r, tt.reason) {
				t.Fatalf("reason %q does not contain %q (%s)", r, tt.reason, tt.why)
			}
			if rec["file"] != "p.so" || rec["level"] != "WARN" {
				t.Fatalf("record lacks file or level: %v", rec)
			}
			h.waitGreet("v0")
			if h.mapped(dir) {
				t.Fatalf("refused patch is mapped")
			}
			if e := ledgerEntries(t, dir)[tt.patch]; e.State != ledger.Refused || !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("ledger: %+v", e)
			}
			h.stop()
		})
	}
}

// TestDeniedFunctionRunsNothing: the patch's new package would create a
// marker file from its init; the policy denies its target, so no byte of
// it may run and the file must never be mapped.
func TestDeniedFunctionRunsNothing(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	marker := filepath.Join(dir, "marker")
	h := startHost(t, f.host, dir, "HOTFIX_TEST_MARKER="+marker)
	drop(t, dir, f.patches["evil"], "evil.so")
	rec := h.waitRecord("patch refused", 1)
	if rec["func"] != "example.com/hostapp/guard.Check" || !strings.Contains(rec["reason"].(string), "deny") {
		t.Fatalf("refusal record: %v", rec)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("marker file exists: code from the refused patch ran (%v)", err)
	}
	if h.mapped(dir) || h.mapped("evil") {
		t.Fatal("refused patch is mapped into the host")
	}
	if got := h.mustGet("/guard?token=user"); got != "false" {
		t.Fatalf("guard answers %q: the denied function changed", got)
	}
	h.stop()
}

// TestSlowCopyLoadedOnce writes a patch in 4 KiB chunks straight to its
// final name, the way a slow scp does: it must be opened once, complete.
func TestSlowCopyLoadedOnce(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	data, err := os.ReadFile(f.patches["v1"])
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "patches", "slow.so"))
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 4096
	pause := 3 * time.Second / time.Duration(len(data)/chunk+1)
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if _, err := out.Write(data[off:end]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pause)
		if off == len(data)/2 {
			time.Sleep(150 * time.Millisecond) // a stall shorter than the quiet period
		}
	}
	out.Close()
	h.waitGreet("v1")
	time.Sleep(500 * time.Millisecond)
	if n := len(h.records("patch applied")); n != 1 {
		t.Fatalf("applied %d times, want 1\n%s", n, h.logs)
	}
	if rs := h.records("patch refused"); len(rs) != 0 {
		t.Fatalf("half-written file was refused: %v", rs)
	}
	h.stop()
}

// TestCallsDuringApplyAndRevert: 8 goroutines call the target in a loop
// while the patch is applied and reverted; every answer is the old or the
// new one and the process survives.
func TestCallsDuringApplyAndRevert(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	type spin struct {
		Calls   int64
		Answers map[string]int64
	}
	res := make(chan spin, 1)
	errc := make(chan error, 1)
	go func() {
		s, err := h.get("/spin?g=8&ms=6000")
		if err != nil {
			errc <- err
			return
		}
		var r spin
		errc <- json.Unmarshal([]byte(s), &r)
		res <- r
	}()
	for i := 0; i < 4; i++ {
		drop(t, dir, f.patches["v1"], "v1.so")
		h.waitGreet("v1")
		remove(t, dir, "v1.so")
		h.waitGreet("v0")
	}
	if err := <-errc; err != nil {
		t.Fatalf("spin: %v\n%s", err, h.logs)
	}
	r := <-res
	for a := range r.Answers {
		if a != "hello spin v0" && a != "hello spin v1" {
			t.Errorf("answer %q is neither old nor new", a)
		}
	}
	if r.Answers["hello spin v0"] == 0 || r.Answers["hello spin v1"] == 0 {
		t.Errorf("spin saw only one version: %v", r.Answers)
	}
	t.Logf("%d calls from 8 goroutines during 4 apply/revert cycles: %v", r.Calls, r.Answers)
	h.stop()
}

// TestPolicyEdits: a valid edit of hotfix.yaml applies to the next patch;
// an invalid edit is logged and the previous policy stays in force.
func TestPolicyEdits(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	polFile := filepath.Join(dir, "hotfix.yaml")
	orig := denyGreetHello(t, polFile)
	h.waitRecord("policy reloaded; it applies to the next patch", 1)
	drop(t, dir, f.patches["v1"], "v1.so")
	rec := h.waitRecord("patch refused", 1)
	if rec["func"] != "example.com/hostapp/greet.Hello" {
		t.Fatalf("refusal: %v", rec)
	}
	remove(t, dir, "v1.so")

	if err := os.WriteFile(polFile, []byte("patch_dir: patches\nstate_dir: state\nalow: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec = h.waitRecord("policy edit refused; the previous policy stays in force", 1)
	if r, _ := rec["reason"].(string); !strings.Contains(r, "hotfix.yaml:3") {
		t.Fatalf("invalid policy reason lacks file:line: %v", rec)
	}
	drop(t, dir, f.patches["v1"], "v1-b.so")
	h.waitRecord("patch refused", 2) // still the deny of the last valid policy

	if err := os.WriteFile(polFile, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitRecord("policy reloaded; it applies to the next patch", 2)
	remove(t, dir, "v1-b.so")
	drop(t, dir, f.patches["v1"], "v1-c.so")
	h.waitGreet("v1")
	h.stop()
}

// TestRedropUnderNewPolicy: a patch applied, reverted, and dropped again
// after the policy was edited to deny its function is refused under the
// policy in force now, although its code is already loaded (a security
// bug: the re-drop path reused the loaded copy without asking the policy).
func TestRedropUnderNewPolicy(t *testing.T) {
	f := requireFixture(t)
	dir := newWorkDir(t, "policy.yaml")
	h := startHost(t, f.host, dir)
	drop(t, dir, f.patches["v1"], "v1.so")
	h.waitGreet("v1")
	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	h.waitRecord("patch reverted", 1)

	denyGreetHello(t, filepath.Join(dir, "hotfix.yaml"))
	h.waitRecord("policy reloaded; it applies to the next patch", 1)
	drop(t, dir, f.patches["v1"], "v1-again.so")
	rec := h.waitRecord("patch refused", 1)
	if r, _ := rec["reason"].(string); rec["func"] != "example.com/hostapp/greet.Hello" || !strings.Contains(r, "deny.functions") {
		t.Fatalf("re-drop under a policy denying its function: %v", rec)
	}
	if got := h.mustGet("/greet?name=x"); got != "hello x v0" {
		t.Fatalf("service answers %q after the refused re-drop, want the old code", got)
	}
	if n := len(h.records("patch applied")); n != 1 {
		t.Fatalf("%d patch applied records, want only the first", n)
	}
	h.stop()
}

// denyGreetHello edits the test policy at polFile to deny greet.Hello, and
// returns what it held before.
func denyGreetHello(t *testing.T, polFile string) []byte {
	t.Helper()
	orig, err := os.ReadFile(polFile)
	if err != nil {
		t.Fatal(err)
	}
	denyGreet := strings.Replace(string(orig), "functions: [example.com/hostapp/guard.Check]",
		"functions: [example.com/hostapp/guard.Check, example.com/hostapp/greet.Hello]", 1)
	if denyGreet == string(orig) {
		t.Fatal("test policy changed shape; update this test")
	}
	if err := os.WriteFile(polFile, []byte(denyGreet), 0o644); err != nil {
		t.Fatal(err)
	}
	return orig
}
