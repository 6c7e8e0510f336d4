package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
)

// stressVersions are the ledger versions of the stress patches, by file.
var stressVersions = map[string]string{"v1.so": "stress-v1", "v2.so": "stress-v2"}

// checkDirState checks that the host ended in the state its patch
// directory asks for: /greet answers the newest patch present, each patch
// present was applied exactly once by this process and none failed, and
// the ledger is readable and records exactly the present patches as
// applied by this process.
func checkDirState(t *testing.T, h *hostProc, dir string) {
	t.Helper()
	want := "v0"
	present := map[string]bool{}
	for _, name := range []string{"v1.so", "v2.so"} {
		if _, err := os.Stat(filepath.Join(dir, "patches", name)); err == nil {
			present[stressVersions[name]] = true
			want = strings.TrimSuffix(name, ".so")
		}
	}
	h.waitGreet(want)
	applied := map[string]int{}
	for _, r := range h.records("patch applied") {
		v, _ := r["version"].(string)
		applied[v]++
	}
	byVersion := ledgerEntries(t, dir)
	for _, v := range []string{"stress-v1", "stress-v2"} {
		e, inLedger := byVersion[v]
		if present[v] {
			if applied[v] != 1 {
				t.Errorf("%s in the directory: applied %d times by the restarted process, want once\n%s", v, applied[v], h.logs)
			}
			if e.State != ledger.Applied || e.PID != h.pid {
				t.Errorf("%s in the directory: ledger says %s by pid %d, want applied by %d", v, e.State, e.PID, h.pid)
			}
			continue
		}
		if applied[v] != 0 {
			t.Errorf("%s not in the directory, applied %d times", v, applied[v])
		}
		if inLedger && e.State == ledger.Applied {
			t.Errorf("%s not in the directory, ledger says applied by pid %d (this is %d)", v, e.PID, h.pid)
		}
	}
	for _, msg := range []string{"patch failed", "patch refused"} {
		if rs := h.records(msg); len(rs) != 0 {
			t.Errorf("%s after restart: %v", msg, rs)
		}
	}
}

// TestStressKill9 kills the host with SIGKILL at a random moment after a
// patch file is dropped or deleted (during inspect, open, apply, the
// ledger write, or after), then restarts it on the same directories: the
// ledger must be readable and true, and the new process must end in the
// state the directory asks for, each patch applied exactly once.
func TestStressKill9(t *testing.T) {
	_, s := requireStress(t)
	runs := 8
	if longStress() {
		runs = 60
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("HOTFIX_KILL_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (HOTFIX_KILL_SEED repeats a run)", seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	dir := newWorkDir(t, "stresshost/policy.yaml")
	var midway, after int
	for r := 0; r < runs; r++ {
		h := startHost(t, s.host, dir)
		checkDirState(t, h, dir)
		if t.Failed() {
			t.Fatalf("run %d: restart did not reach the directory's state\n%s", r, h.logs)
		}
		// One change, then SIGKILL 0 to 60 ms later: the agent takes about
		// 10 to 40 ms to read, check, open and apply a patch.
		name := []string{"v1.so", "v2.so"}[rng.IntN(2)]
		_, err := os.Stat(filepath.Join(dir, "patches", name))
		op, msg := "drop", "patch applied"
		if err == nil {
			op, msg = "remove", "patch reverted"
		}
		before := len(h.records(msg))
		wait := time.Duration(rng.IntN(60_000)) * time.Microsecond
		if op == "drop" {
			drop(t, dir, s.patches[strings.TrimSuffix(name, ".so")], name)
		} else {
			remove(t, dir, name)
		}
		time.Sleep(wait)
		if err := syscall.Kill(h.pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill: %v", err)
		}
		<-h.done
		done := len(h.records(msg)) > before
		if done {
			after++
		} else {
			midway++
		}
		t.Logf("run %d: %s %s, SIGKILL after %v: %s", r, op, name, wait.Round(time.Millisecond),
			map[bool]string{true: "the agent had finished", false: "the agent had not finished"}[done])
	}
	h := startHost(t, s.host, dir)
	checkDirState(t, h, dir)
	h.stop()
	t.Logf("%d kill -9 runs: %d before the agent finished the change, %d after; every restart reached the directory's state", runs, midway, after)
}

// TestFaultPatchDirRecreated deletes the patch directory under the agent
// and creates it again, then swaps in another directory by rename.
func TestFaultPatchDirRecreated(t *testing.T) {
	_, s := requireStress(t)
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir)
	pd := filepath.Join(dir, "patches")
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitGreet("v1")

	if err := os.RemoveAll(pd); err != nil {
		t.Fatal(err)
	}
	h.waitGreet("v0") // its files are gone with it
	if err := os.Mkdir(pd, 0o755); err != nil {
		t.Fatal(err)
	}
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitGreet("v1")

	staging := filepath.Join(dir, "patches.new")
	if err := os.Mkdir(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(s.patches["v2"], filepath.Join(staging, "v2.so")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pd, filepath.Join(dir, "patches.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(staging, pd); err != nil {
		t.Fatal(err)
	}
	h.waitGreet("v2")
	remove(t, dir, "v2.so")
	h.waitGreet("v0") // v1.so went away with the old directory
	h.waitRecord("patch reverted", 3)
	es := ledgerEntries(t, dir)
	for _, v := range []string{"stress-v1", "stress-v2"} {
		if es[v].State != ledger.Reverted {
			t.Errorf("ledger %s: %s, want reverted", v, es[v].State)
		}
	}
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("failures: %v", rs)
	}
	h.stop()
}

// TestFaultTwoFilesAtOnce renames two patches for the same functions into
// place back to back, in both orders. The newer must win, and deleting it
// must bring back the older, whose file is still there.
func TestFaultTwoFilesAtOnce(t *testing.T) {
	_, s := requireStress(t)
	for _, order := range [][]string{{"v1", "v2"}, {"v2", "v1"}} {
		t.Run(strings.Join(order, " then "), func(t *testing.T) {
			dir := newWorkDir(t, "stresshost/policy.yaml")
			h := startHost(t, s.host, dir)
			for _, v := range order {
				if err := copyFile(s.patches[v], filepath.Join(dir, "patches", "."+v+".part")); err != nil {
					t.Fatal(err)
				}
			}
			for _, v := range order {
				if err := os.Rename(filepath.Join(dir, "patches", "."+v+".part"), filepath.Join(dir, "patches", v+".so")); err != nil {
					t.Fatal(err)
				}
			}
			h.waitGreet("v2")
			remove(t, dir, "v2.so")
			h.waitGreet("v1")
			remove(t, dir, "v1.so")
			h.waitGreet("v0")
			if rs := h.records("patch failed"); len(rs) != 0 {
				t.Errorf("failures: %v", rs)
			}
			h.stop()
		})
	}
}

// TestFaultOlderDroppedAgain drops again, while a newer patch for the same
// functions is applied, an older patch this process had applied and
// reverted (so its code is still loaded): it is applied beneath the newer
// one, which stays live, and deleting the newer brings the older back.
func TestFaultOlderDroppedAgain(t *testing.T) {
	_, s := requireStress(t)
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir)
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitGreet("v1")
	drop(t, dir, s.patches["v2"], "v2.so")
	h.waitGreet("v2")
	remove(t, dir, "v1.so")
	h.waitRecord("patch reverted", 1)
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitRecord("patch applied", 3)
	h.waitGreet("v2")
	remove(t, dir, "v2.so")
	h.waitGreet("v1")
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("failures: %v", rs)
	}
	h.stop()
}

// TestFaultOverlapOrderFree drops an older patch (v1: Hello, Ptr and the
// rest) after a newer one that replaces only Ptr (v3ptr): each function
// runs the newest applied patch that replaces it, so Hello runs v1's fix,
// as it does after a restart with the same directory, where the files are
// read in sequence order. The same directory gives the same code.
func TestFaultOverlapOrderFree(t *testing.T) {
	_, s := requireStress(t)
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir)
	drop(t, dir, s.patches["v3ptr"], "v3ptr.so")
	h.waitRecord("patch applied", 1)
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitRecord("patch applied", 2)
	h.waitGreet("v1")
	if rs := h.records("patch refused"); len(rs) != 0 {
		t.Errorf("refusals: %v", rs)
	}
	h.stop()

	h = startHost(t, s.host, dir)
	h.waitRecord("patch applied", 2)
	h.waitGreet("v1")
	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("failures: %v", rs)
	}
	h.stop()
}

// TestFaultReplacedWhileRead rewrites a patch file in place, front to
// back without truncating it (rsync --inplace, dd conv=notrunc), with
// another patch of the same size, while the agent reads it: its trailer is
// complete all along, so the agent may read a mix of the two. It must
// never load such a mix; it must end with the new file's patch applied,
// once, and the ledger must not call the old patch refused. The host runs
// its stress load, so the agent is slow and the rewrite overtakes it.
func TestFaultReplacedWhileRead(t *testing.T) {
	_, s := requireStress(t)
	v1, err := os.ReadFile(s.patches["v1"])
	if err != nil {
		t.Fatal(err)
	}
	v2, err := os.ReadFile(s.patches["v2"])
	if err != nil {
		t.Fatal(err)
	}
	if len(v1) != len(v2) {
		t.Logf("patches differ in size (%d, %d): the rewrite ends with a truncate", len(v1), len(v2))
	}
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir, "GOGC=10")
	h.mustGet("/stress/start?g=2")
	path := filepath.Join(dir, "patches", "fix.so")
	drop(t, dir, s.patches["v1"], "fix.so")
	h.waitGreet("v1")
	rewrite := func(data []byte) {
		t.Helper()
		fd, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		const chunk = 64 << 10
		for off := 0; off < len(data); off += chunk {
			if _, err := fd.WriteAt(data[off:min(off+chunk, len(data))], int64(off)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := fd.Truncate(int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if err := fd.Close(); err != nil {
			t.Fatal(err)
		}
	}
	rounds := []struct {
		data []byte
		ver  string
	}{{v2, "v2"}, {v1, "v1"}, {v2, "v2"}, {v1, "v1"}}
	for i, r := range rounds {
		rewrite(r.data)
		h.waitGreet(r.ver)
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, r.data) {
			t.Fatalf("round %d: file is not what was written", i)
		}
		// Let every event of the rewrite reach the agent.
		time.Sleep(500 * time.Millisecond)
		h.waitGreet(r.ver)
	}
	var rep stressReport
	getJSON(t, h, "/stress/stop", &rep)
	if rep.Wrong != 0 {
		t.Errorf("%d wrong answers; first %q", rep.Wrong, rep.Examples)
	}
	t.Logf("%d reads of the file overlapped a rewrite and were done again", len(h.records("patch file changed while being read; reading it again once it settles")))
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("a mix of two files was opened: %v", rs)
	}
	if rs := h.records("patch refused"); len(rs) != 0 {
		t.Errorf("a file read while it was rewritten was refused (and recorded so in the ledger): %v", rs)
	}
	if n := len(h.records("patch applied")); n != len(rounds)+1 {
		t.Errorf("%d patch applied records, want %d (one per version written)", n, len(rounds)+1)
	}
	es := ledgerEntries(t, dir)
	if es["stress-v1"].State != ledger.Applied || es["stress-v2"].State != ledger.Reverted {
		t.Errorf("ledger: v1 %s, v2 %s; want applied, reverted", es["stress-v1"].State, es["stress-v2"].State)
	}
	h.stop()
}

// TestFaultManyFiles drops many files at once, then overflows the
// agent's inotify queue for real: the host is stopped (SIGSTOP) while
// more events than fs.inotify.max_queued_events happen in its patch
// directory, among them the removal of the applied patch and the drop of
// another. The kernel drops the events and queues an overflow; the watcher
// must rescan the directory and the agent must end in its state.
func TestFaultManyFiles(t *testing.T) {
	_, s := requireStress(t)
	t.Run("burst", func(t *testing.T) {
		dir := newWorkDir(t, "stresshost/policy.yaml")
		h := startHost(t, s.host, dir)
		pd := filepath.Join(dir, "patches")
		const copies, junk = 40, 40
		var names []string
		for i := 0; i < copies; i++ {
			names = append(names, fmt.Sprintf("v1-copy%02d.so", i))
		}
		for i := 0; i < junk; i++ {
			names = append(names, fmt.Sprintf("junk%02d.so", i))
		}
		names = append(names, "v2.so")
		for i, n := range names {
			var err error
			switch {
			case strings.HasPrefix(n, "v1-copy"):
				err = copyFile(s.patches["v1"], filepath.Join(pd, "."+n))
			case strings.HasPrefix(n, "junk"):
				err = os.WriteFile(filepath.Join(pd, "."+n), bytes.Repeat([]byte{byte(i)}, 4096+i), 0o644)
			default:
				err = copyFile(s.patches["v2"], filepath.Join(pd, "."+n))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range names {
			if err := os.Rename(filepath.Join(pd, "."+n), filepath.Join(pd, n)); err != nil {
				t.Fatal(err)
			}
		}
		h.waitGreet("v2")
		h.waitRecord("patch refused", junk)
		if n := len(h.records("patch applied")); n != 2 {
			t.Errorf("%d patch applied records, want 2 (v1 once for its %d copies, v2 once)", n, copies)
		}
		for _, n := range names {
			if err := os.Remove(filepath.Join(pd, n)); err != nil {
				t.Fatal(err)
			}
		}
		h.waitGreet("v0")
		h.waitRecord("patch reverted", 2)
		if rs := h.records("patch failed"); len(rs) != 0 {
			t.Errorf("failures: %v", rs)
		}
		h.stop()
	})
	t.Run("inotify overflow", func(t *testing.T) {
		limit := 16384
		if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
			limit, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if limit > 200_000 {
			t.Skipf("fs.inotify.max_queued_events is %d: too many events to overflow in a test", limit)
		}
		dir := newWorkDir(t, "stresshost/policy.yaml")
		h := startHost(t, s.host, dir)
		pd := filepath.Join(dir, "patches")
		drop(t, dir, s.patches["v1"], "v1.so")
		h.waitGreet("v1")

		if err := h.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := true
		defer func() {
			if stopped {
				h.cmd.Process.Signal(syscall.SIGCONT)
			}
		}()
		remove(t, dir, "v1.so")
		drop(t, dir, s.patches["v2"], "v2.so")
		// Each create and each delete is one event.
		for i := 0; i < limit/2+1000; i++ {
			p := filepath.Join(pd, "noise"+strconv.Itoa(i))
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		stopped = false
		h.waitGreet("v2")
		h.waitRecord("patch reverted", 1)
		h.waitRecord("patch applied", 2)
		overflow := false
		for deadline := time.Now().Add(5 * time.Second); !overflow && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, r := range h.records("watch patch_dir") {
				if reason, _ := r["reason"].(string); strings.Contains(reason, "overflow") {
					overflow = true
				}
			}
		}
		if !overflow {
			t.Errorf("no inotify overflow reported after %d events with max_queued_events %d: the rescan path was not exercised\n%s", limit+2000, limit, h.logs)
		}
		es := ledgerEntries(t, dir)
		if es["stress-v1"].State != ledger.Reverted || es["stress-v2"].State != ledger.Applied {
			t.Errorf("ledger: v1 %s, v2 %s; want reverted, applied", es["stress-v1"].State, es["stress-v2"].State)
		}
		h.stop()
	})
}
