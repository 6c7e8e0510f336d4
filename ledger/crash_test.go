package ledger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashDirEnv tells a re-executed test binary to act as the writer that
// TestCrashKill kills.
const crashDirEnv = "HOTFIX_LEDGER_CRASH_DIR"

// crashEntry is what the writer records as its n-th change. Every field is
// derived from n, so an entry that mixes two writes, or a file cut short,
// cannot pass checkCrashEntry.
func crashEntry(n int64) Entry {
	states := []State{Applied, Reverted, Refused, Failed}
	return Entry{
		ID:       fmt.Sprintf("patch-%02d", n%20),
		Version:  strconv.FormatInt(n, 10),
		Sequence: n,
		File:     fmt.Sprintf("patch-%02d.so", n%20),
		SHA256:   fmt.Sprintf("%064x", n),
		Targets:  []string{"example.com/app/util.parseHeader", "example.com/app/api.(*Server).handle"},
		State:    states[n%4],
		// Padding makes each write span several pages, so that a kill can
		// land half way through writing it.
		Reason:  strings.Repeat("r", int(n%7)*1000),
		Timings: Timings{Apply: time.Duration(n)},
	}
}

func checkCrashEntry(e Entry) error {
	want := crashEntry(e.Sequence)
	want.PID, want.UpdatedAt = e.PID, e.UpdatedAt
	if e.ID != want.ID || e.Version != want.Version || e.File != want.File || e.SHA256 != want.SHA256 ||
		!slices.Equal(e.Targets, want.Targets) || e.State != want.State || e.Reason != want.Reason || e.Timings != want.Timings {
		return fmt.Errorf("entry %q sequence %d is not the one the writer recorded", e.ID, e.Sequence)
	}
	if e.UpdatedAt.IsZero() || e.PID == 0 {
		return fmt.Errorf("entry %q has no PID or UpdatedAt", e.ID)
	}
	return nil
}

// TestCrashWriter is the child of TestCrashKill: it records entries as fast
// as it can until it is killed.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKill; runs only when re-executed by it")
	}
	l, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	// Continue from what the previous writer left, so the parent can tell
	// if a kill ever took a committed change back.
	var n int64
	for _, e := range l.Entries() {
		n = max(n, e.Sequence)
	}
	fmt.Println("ready")
	for {
		n++
		if err := l.Record(crashEntry(n)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
	}
}

// TestCrashKill SIGKILLs a writer at random moments and checks that Read
// always finds a complete ledger, never older than the last one it saw.
func TestCrashKill(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("running as the writer")
	}
	t.Parallel()
	kills := 30
	if testing.Short() {
		kills = 5
	}
	dir := t.TempDir()
	var last int64      // highest sequence seen so far
	var midWrite int    // kills that left a temp file: the writer died inside writeAtomic
	var pids = []int{0} // writers so far; 0 never matches
	for i := range kills {
		child, stdout := startChild(t, "TestCrashWriter", crashDirEnv+"="+dir)
		pids = append(pids, child.Process.Pid)
		if line, err := stdout.ReadString('\n'); err != nil || line != "ready\n" {
			child.Wait()
			t.Fatalf("kill %d: writer did not start: read %q, %v; stderr:\n%s", i, line, err, child.Stderr)
		}
		if i == 0 {
			// The lock must keep a second process out, and say who holds it.
			l, err := Open(dir)
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", child.Process.Pid)) {
				l.Close()
				t.Errorf("Open while writer %d holds the ledger: error = %v, want %v naming its pid", child.Process.Pid, err, ErrLocked)
			}
		}
		delay := rand.N(20 * time.Millisecond)
		time.Sleep(delay)
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		err := child.Wait()
		if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: writer ended on its own (%v) before the kill; stderr:\n%s", i, err, child.Stderr)
		}
		if len(tempFiles(t, dir)) > 0 {
			midWrite++
		}

		got, err := Read(dir)
		if err != nil {
			t.Fatalf("kill %d after %v: Read: %v", i, delay, err)
		}
		if !slices.IsSortedFunc(got, compareEntries) {
			t.Errorf("kill %d after %v: entries not sorted", i, delay)
		}
		var high int64
		for _, e := range got {
			if err := checkCrashEntry(e); err != nil {
				t.Errorf("kill %d after %v: %v", i, delay, err)
			}
			if !slices.Contains(pids, e.PID) {
				t.Errorf("kill %d after %v: entry %q recorded by pid %d, which is none of the writers", i, delay, e.ID, e.PID)
			}
			high = max(high, e.Sequence)
		}
		if high < last {
			t.Fatalf("kill %d after %v: ledger went back from sequence %d to %d", i, delay, last, high)
		}
		last = high
	}
	t.Logf("%d kills, %d records survived, %d kills landed inside a write", kills, last, midWrite)
	if last == 0 {
		t.Fatalf("no record survived any kill; the test did not exercise the writer")
	}

	l := openT(t, dir)
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("temp files left after Open: %q", got)
	}
	if n := len(l.Entries()); n == 0 || n > 20 {
		t.Errorf("Entries: %d, want between 1 and 20 (the writer cycles through 20 IDs)", n)
	}
}

// startChild starts this test binary running only the test named run, with
// env added to its environment. It kills the child at the test's deadline,
// so a hung child cannot hang the run, and the test fails if the child is
// still running when it ends. The child's stderr is in Cmd.Stderr, a
// *bytes.Buffer.
func startChild(t *testing.T, run string, env ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = new(bytes.Buffer)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("start child %s: %v", run, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %s: %v", run, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			t.Errorf("child %s (pid %d) still running at the end of the test; killing it", run, cmd.Process.Pid)
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, bufio.NewReader(stdout)
}
