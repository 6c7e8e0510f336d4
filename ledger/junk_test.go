package ledger

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFileNamesRoundTrip(t *testing.T) {
	t.Parallel()
	// Names an unprivileged user can create in a sticky patch_dir: they
	// differ in one byte that is not UTF-8, which encoding/json alone
	// writes as U+FFFD for both.
	names := []string{"a\xff.so", "a\xfe.so", "a\x1b[2J.so", "a\u202e.so", "plain.so"}
	dir := t.TempDir()
	l := openT(t, dir)
	for _, n := range names {
		recordT(t, l, Entry{File: n, SHA256: "11", State: Refused})
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range readT(t, dir) {
		got[e.File] = true
	}
	for _, n := range names {
		if !got[n] {
			t.Errorf("name %q did not round-trip; read back %v", n, got)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The next start reads the same file without calling it corrupt.
	l2 := openT(t, dir)
	if l2.Aside != nil {
		t.Errorf("reopen moved the ledger aside: %v", l2.Aside)
	}
	if n := len(l2.Entries()); n != len(names) {
		t.Errorf("reopen: %d entries, want %d", n, len(names))
	}
}

func TestRefusalsAreBatched(t *testing.T) {
	t.Parallel()
	// 1 000 junk files must not cost 1 000 rewrites of a growing file.
	dir := t.TempDir()
	l := openT(t, dir)
	const n = 1000
	for i := range n {
		recordT(t, l, Entry{File: fmt.Sprintf("junk%d.so", i), SHA256: "11", State: Refused})
	}
	recordT(t, l, Entry{ID: "fix", File: "fix.so", State: Applied})
	l.mu.Lock()
	writes := l.f.writes
	l.mu.Unlock()
	if writes > n/10 {
		t.Errorf("%d refusals and an apply took %d writes of the file, want at most %d", n, writes, n/10)
	}
	// What is applied is on disk when Record returns, refusals included.
	if got := readT(t, dir); len(got) != n+1 {
		t.Errorf("Read after the applied entry: %d entries, want %d", len(got), n+1)
	}
}

func TestCompact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openT(t, dir)
	const n = KeepGone + 50
	for i := range n {
		recordT(t, l, Entry{File: fmt.Sprintf("junk%03d.so", i), SHA256: "11", State: Refused})
	}
	recordT(t, l,
		Entry{ID: "old", File: "junk000.so", State: Refused},
		Entry{ID: "p", File: "junk001.so", State: Reverted},
		Entry{File: "here.so", SHA256: "11", State: Refused},
	)
	l.Compact(func(file string) bool { return file == "here.so" })
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	junk := 0
	for _, e := range readT(t, dir) {
		got[e.ID+"/"+e.File] = true
		if e.ID == "" && e.File != "here.so" {
			junk++
		}
	}
	if junk != KeepGone {
		t.Errorf("%d refusals of gone junk kept, want %d", junk, KeepGone)
	}
	for _, k := range []string{"old/junk000.so", "p/junk001.so", "/here.so", fmt.Sprintf("/junk%03d.so", n-1)} {
		if !got[k] {
			t.Errorf("%s dropped: entries with an ID, of present files, and the most recent junk stay", k)
		}
	}
	if got["/junk000.so"] {
		t.Errorf("the oldest gone junk refusal was kept")
	}
}

func TestInstance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openT(t, dir)
	recordT(t, l, Entry{ID: "p", File: "p.so", State: Applied})
	e, _ := l.Lookup("p")
	if e.Instance == "" || e.Instance != Instance() {
		t.Errorf("Instance = %q, want this process's %q", e.Instance, Instance())
	}
	if len(Instance()) != 32 {
		t.Errorf("Instance() = %q, want 128 bits in hex", Instance())
	}
}

// TestRecoveryByRecordIsHeard: when the write that succeeds after failures
// is a Record's, not the flusher's retry, OnFlush still hears of it.
func TestRecoveryByRecordIsHeard(t *testing.T) {
	t.Parallel()
	l := openT(t, t.TempDir())
	heard := make(chan error, 16)
	l.OnFlush(func(err error) { heard <- err })
	broken := errors.New("disk full")
	l.mu.Lock()
	l.f.write = func(string, string, []byte) error { return broken }
	l.mu.Unlock()
	if err := l.Record(Entry{ID: "a", File: "a.so", State: Applied}); !errors.Is(err, broken) {
		t.Fatalf("Record with a broken disk: %v", err)
	}
	l.mu.Lock()
	l.f.write = writeAtomic
	l.mu.Unlock()
	recordT(t, l, Entry{ID: "b", File: "b.so", State: Applied})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-heard:
			if err == nil {
				return
			}
		case <-deadline:
			t.Fatal("OnFlush never heard that writes work again")
		}
	}
}
