package ledger

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// ignoreStamps leaves out the fields Record sets itself; checkStamps tests them.
var ignoreStamps = cmpopts.IgnoreFields(Entry{}, "PID", "Instance", "UpdatedAt")

func openT(t *testing.T, dir string) *Ledger {
	t.Helper()
	l, err := Open(dir)
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func recordT(t *testing.T, l *Ledger, entries ...Entry) {
	t.Helper()
	for _, e := range entries {
		if err := l.Record(e); err != nil {
			t.Fatalf("record %q/%q: %v", e.ID, e.File, err)
		}
	}
}

func readT(t *testing.T, dir string) []Entry {
	t.Helper()
	got, err := Read(dir)
	if err != nil {
		t.Fatalf("read ledger: %v", err)
	}
	return got
}

func checkStamps(t *testing.T, entries []Entry, notBefore time.Time) {
	t.Helper()
	for _, e := range entries {
		if e.PID != os.Getpid() {
			t.Errorf("entry %q/%q: PID = %d, want %d", e.ID, e.File, e.PID, os.Getpid())
		}
		if e.UpdatedAt.Before(notBefore.Truncate(time.Second)) || e.UpdatedAt.After(time.Now()) {
			t.Errorf("entry %q/%q: UpdatedAt = %v, want between %v and now", e.ID, e.File, e.UpdatedAt, notBefore)
		}
	}
}

func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	var names []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			names = append(names, de.Name())
		}
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("UTC+2", 2*60*60)
	tests := []struct {
		name   string
		reason string
		record []Entry
		want   []Entry
	}{
		{
			name:   "empty",
			reason: "a ledger with no entries still reads back as an empty list, not an error",
		},
		{
			name:   "every field",
			reason: "each field must survive the file, including durations as nanoseconds and a time given in a non-UTC zone",
			record: []Entry{{
				ID: "fix-1", Version: "v3", Sequence: 7, File: "fix-1.so", SHA256: "ab12",
				Targets: []string{"example.com/app/util.parseHeader", "example.com/app/api.(*Server).handle"},
				State:   Applied, Reason: "ok",
				Timings: Timings{
					Settle: 250 * time.Millisecond, Inspect: 3 * time.Millisecond, Open: 40 * time.Millisecond,
					Apply: 1500 * time.Microsecond, StoppedWorld: 12 * time.Microsecond,
				},
				HostBuildID: "go1.26.8:abcd",
				AppliedAt:   time.Date(2026, 3, 4, 5, 6, 7, 8, east),
			}},
			want: []Entry{{
				ID: "fix-1", Version: "v3", Sequence: 7, File: "fix-1.so", SHA256: "ab12",
				Targets: []string{"example.com/app/util.parseHeader", "example.com/app/api.(*Server).handle"},
				State:   Applied, Reason: "ok",
				Timings: Timings{
					Settle: 250 * time.Millisecond, Inspect: 3 * time.Millisecond, Open: 40 * time.Millisecond,
					Apply: 1500 * time.Microsecond, StoppedWorld: 12 * time.Microsecond,
				},
				HostBuildID: "go1.26.8:abcd",
				AppliedAt:   time.Date(2026, 3, 4, 3, 6, 7, 8, time.UTC),
			}},
		},
		{
			name:   "refused before manifest",
			reason: "a file whose manifest could not be read has no ID and is keyed by file and hash",
			record: []Entry{{File: "junk.so", SHA256: "ff00", State: Refused, Reason: "not an ELF file"}},
			want:   []Entry{{File: "junk.so", SHA256: "ff00", State: Refused, Reason: "not an ELF file"}},
		},
		{
			name:   "empty targets",
			reason: "JSON drops an empty list, so memory must hold nil too or Entries and Read would differ",
			record: []Entry{{ID: "a", File: "a.so", Targets: []string{}, State: Failed}},
			want:   []Entry{{ID: "a", File: "a.so", State: Failed}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			start := time.Now()
			l := openT(t, dir)
			recordT(t, l, tt.record...)
			inMemory := l.Entries()
			if err := l.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			want := tt.want
			if want == nil {
				want = []Entry{}
			}
			onDisk := readT(t, dir)
			if diff := cmp.Diff(want, onDisk, ignoreStamps); diff != "" {
				t.Errorf("Read after Record (-want +got):\n%s", diff)
			}
			checkStamps(t, onDisk, start)
			if diff := cmp.Diff(inMemory, onDisk); diff != "" {
				t.Errorf("Entries differ from Read (-want +got):\n%s", diff)
			}
			reopened := openT(t, dir).Entries()
			if diff := cmp.Diff(onDisk, reopened); diff != "" {
				t.Errorf("Entries after reopen (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenFormat1(t *testing.T) {
	// Fixed entries, so that a change to the encoding (a renamed JSON field,
	// a duration written as a string) shows up as a diff of the golden file,
	// and so that files written by this version stay readable by later ones.
	updated := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	entries := []Entry{
		{File: "garbage.so", SHA256: "00ff", State: Refused, Reason: "no manifest trailer", PID: 42, UpdatedAt: updated},
		{
			ID: "fix-1", Version: "v1", Sequence: 1, File: "fix-1.so", SHA256: "ab12",
			Targets: []string{"example.com/app/util.parseHeader"}, State: Applied,
			Timings:     Timings{Settle: 250 * time.Millisecond, Inspect: 3000, Open: 4000, Apply: 5000, StoppedWorld: 600},
			HostBuildID: "abcd", PID: 42, AppliedAt: updated, UpdatedAt: updated,
		},
		{ID: "fix-2", Version: "v1", Sequence: 2, File: "fix-2.so", State: Reverted, PID: 42, UpdatedAt: updated},
	}
	golden := filepath.Join("testdata", "format1.golden.json")
	got, err := encode(entries)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("encoding changed; if on purpose, run with -update (-want +got):\n%s", diff)
	}
	decoded, err := decode(golden, want)
	if err != nil {
		t.Fatalf("decode golden: %v", err)
	}
	if diff := cmp.Diff(entries, decoded); diff != "" {
		t.Errorf("decode golden (-want +got):\n%s", diff)
	}
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		record []Entry
		want   []Entry
	}{
		{
			name:   "same ID replaces",
			reason: "applying then reverting a patch leaves one entry in its latest state",
			record: []Entry{
				{ID: "p", Sequence: 1, File: "p.so", State: Applied, Targets: []string{"a.F"}},
				{ID: "p", Sequence: 1, File: "p.so", State: Reverted},
			},
			want: []Entry{{ID: "p", Sequence: 1, File: "p.so", State: Reverted}},
		},
		{
			name:   "same ID new file replaces",
			reason: "the key is the patch ID, not the file it came in",
			record: []Entry{
				{ID: "p", File: "old.so", State: Applied},
				{ID: "p", File: "new.so", State: Applied},
			},
			want: []Entry{{ID: "p", File: "new.so", State: Applied}},
		},
		{
			name:   "no ID same file and hash replaces",
			reason: "a file refused twice without a manifest is one entry",
			record: []Entry{
				{File: "x.so", SHA256: "11", State: Refused, Reason: "first"},
				{File: "x.so", SHA256: "11", State: Refused, Reason: "second"},
			},
			want: []Entry{{File: "x.so", SHA256: "11", State: Refused, Reason: "second"}},
		},
		{
			name:   "no ID different hash adds",
			reason: "a file overwritten with other bytes is another file",
			record: []Entry{
				{File: "x.so", SHA256: "11", State: Refused},
				{File: "x.so", SHA256: "22", State: Refused},
			},
			want: []Entry{
				{File: "x.so", SHA256: "11", State: Refused},
				{File: "x.so", SHA256: "22", State: Refused},
			},
		},
		{
			name:   "ID and no ID do not collide",
			reason: "an ID-keyed entry is never replaced by an ID-less one with the same file and hash",
			record: []Entry{
				{ID: "p", File: "x.so", SHA256: "11", State: Applied},
				{File: "x.so", SHA256: "11", State: Refused},
			},
			want: []Entry{
				{File: "x.so", SHA256: "11", State: Refused},
				{ID: "p", File: "x.so", SHA256: "11", State: Applied},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l := openT(t, dir)
			recordT(t, l, tt.record...)
			if diff := cmp.Diff(tt.want, l.Entries(), ignoreStamps); diff != "" {
				t.Errorf("Entries (-want +got):\n%s", diff)
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(l.Entries(), readT(t, dir)); diff != "" {
				t.Errorf("Read differs from Entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSortOrder(t *testing.T) {
	t.Parallel()
	l := openT(t, t.TempDir())
	// Recorded out of order on purpose.
	recordT(t, l,
		Entry{ID: "b", Sequence: 2, File: "b.so", State: Applied},
		Entry{File: "z.so", State: Refused},
		Entry{ID: "a", Sequence: 2, File: "a2.so", State: Applied},
		Entry{ID: "c", Sequence: 1, File: "c.so", State: Applied},
		Entry{File: "y.so", SHA256: "2", State: Refused},
		Entry{File: "y.so", SHA256: "1", State: Refused},
	)
	want := []Entry{
		{File: "y.so", SHA256: "1", State: Refused}, // sequence 0, no ID: by file, then hash
		{File: "y.so", SHA256: "2", State: Refused},
		{File: "z.so", State: Refused},
		{ID: "c", Sequence: 1, File: "c.so", State: Applied},
		{ID: "a", Sequence: 2, File: "a2.so", State: Applied}, // same sequence: by ID
		{ID: "b", Sequence: 2, File: "b.so", State: Applied},
	}
	if diff := cmp.Diff(want, l.Entries(), ignoreStamps); diff != "" {
		t.Errorf("Entries (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	l := openT(t, t.TempDir())
	recordT(t, l,
		Entry{ID: "p", File: "p.so", State: Applied, Targets: []string{"a.F"}},
		Entry{File: "q.so", State: Refused},
	)
	got, ok := l.Lookup("p")
	if !ok {
		t.Fatalf("Lookup(%q) found nothing", "p")
	}
	if diff := cmp.Diff(Entry{ID: "p", File: "p.so", State: Applied, Targets: []string{"a.F"}}, got, ignoreStamps); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
	got.Targets[0] = "changed"
	if again, _ := l.Lookup("p"); again.Targets[0] != "a.F" {
		t.Errorf("changing the result of Lookup changed the ledger: Targets = %q", again.Targets)
	}
	if _, ok := l.Lookup(""); ok {
		t.Errorf("Lookup(\"\") found an entry; ID-less entries must not be found by ID")
	}
	if _, ok := l.Lookup("missing"); ok {
		t.Errorf("Lookup(%q) found an entry", "missing")
	}
}

func TestBadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reason  string
		content string
		wantErr error
	}{
		{"empty", "a zero-length file is what a non-atomic writer leaves after a crash", "", ErrCorrupt},
		{"truncated", "half a file is the other thing a non-atomic writer leaves", `{"format": 1, "entries": [{"id": "a", "fi`, ErrCorrupt},
		{"not JSON", "an operator's editor may have saved anything", "ledger\n", ErrCorrupt},
		{"array", "the top level must be an object so the format can evolve", `[]`, ErrCorrupt},
		{"null", "null decodes into a struct without error in encoding/json", `null`, ErrCorrupt},
		{"no format", "a file without a format number cannot be known to be format 1", `{"entries": []}`, ErrCorrupt},
		{"format as string", "the format is a number", `{"format": "1", "entries": []}`, ErrCorrupt},
		{"trailing garbage", "bytes after the object mean the file is not what was written", `{"format": 1, "entries": []} x`, ErrCorrupt},
		{"format 2", "a newer build's file must not be read as if it were ours", `{"format": 2, "entries": []}`, ErrUnsupportedFormat},
		{"format 2 other shape", "a newer format may change the shape of entries; it is still too new, not corrupt", `{"format": 2, "entries": {"a": 1}}`, ErrUnsupportedFormat},
		{"format 0", "zero is not a format", `{"format": 0}`, ErrUnsupportedFormat},
		{"entries not a list", "the entries of format 1 are a list", `{"format": 1, "entries": {}}`, ErrCorrupt},
		{"unknown state", "an agent must not reconcile against a state it does not know", `{"format": 1, "entries": [{"id": "a", "file": "a.so", "state": "superseded"}]}`, ErrCorrupt},
		{"no key", "an entry with neither ID nor file cannot be upserted", `{"format": 1, "entries": [{"state": "applied"}]}`, ErrCorrupt},
		{"duplicate ID", "two entries for one patch would make Lookup ambiguous", `{"format": 1, "entries": [{"id": "a", "file": "a.so", "state": "applied"}, {"id": "a", "file": "b.so", "state": "failed"}]}`, ErrCorrupt},
		{"file is a path", "File names an entry in patch_dir, never a path out of it", `{"format": 1, "entries": [{"id": "a", "file": "../etc/a.so", "state": "applied"}]}`, ErrCorrupt},
		{"bad time", "a time that does not parse is damage", `{"format": 1, "entries": [{"id": "a", "file": "a.so", "state": "applied", "updated_at": "yesterday"}]}`, ErrCorrupt},
		{"duration as string", "durations are integer nanoseconds", `{"format": 1, "entries": [{"id": "a", "file": "a.so", "state": "applied", "timings": {"apply_ns": "1ms"}}]}`, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			writeFileT(t, path, tt.content)

			_, err := Read(dir)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Read: error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("Read: error %q does not name %s", err, path)
			}
			// Open must never stop the service: the file goes aside, kept
			// byte for byte for the operator, and the ledger starts empty.
			l := openT(t, dir)
			if !errors.Is(l.Aside, tt.wantErr) {
				t.Errorf("Open: Aside = %v, want %v", l.Aside, tt.wantErr)
			}
			if got := l.Entries(); len(got) != 0 {
				t.Errorf("Open of a bad file: %d entries, want none", len(got))
			}
			aside, _ := filepath.Glob(path + ".bad-*")
			if len(aside) != 1 {
				t.Fatalf("bad file moved to %q, want one %s.bad-TIME", aside, fileName)
			}
			if got, err := os.ReadFile(aside[0]); err != nil || string(got) != tt.content {
				t.Errorf("the file moved aside is now %q, %v; it must be kept as it was", got, err)
			}
			if l.Aside == nil || !strings.Contains(l.Aside.Error(), aside[0]) {
				t.Errorf("Aside %q does not name %s", l.Aside, aside[0])
			}
			recordT(t, l, Entry{ID: "a", File: "a.so", State: Applied})
			if got := readT(t, dir); len(got) != 1 {
				t.Errorf("Read after the first Record: %d entries, want 1", len(got))
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		dir    func(t *testing.T) string
	}{
		{"no directory", "hotfix status before the agent ever ran", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
		{"no file", "the agent started but recorded nothing yet", func(t *testing.T) string { return t.TempDir() }},
		{"only a temp file", "a writer killed before its first rename leaves no ledger, just a temp file", func(t *testing.T) string {
			dir := t.TempDir()
			writeFileT(t, filepath.Join(dir, tempPrefix+"123"), `{"format": 1, "entries": [{"id": "a", "fi`)
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Read(tt.dir(t))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff([]Entry{}, got); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenCreatesDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "hotfix")
	l := openT(t, dir)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat state dir: %v", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("state dir mode = %v, want no group or other access", perm)
	}
	if got, want := l.Path(), filepath.Join(dir, fileName); got != want {
		t.Errorf("Path() = %q, want %q", got, want)
	}
}

func TestOpenRemovesTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openT(t, dir)
	recordT(t, l, Entry{ID: "a", File: "a.so", State: Applied})
	want := l.Entries()
	l.Close()

	// What a writer killed between CreateTemp and Rename leaves behind.
	leftovers := []string{tempPrefix + "1", tempPrefix + "2"}
	for _, name := range leftovers {
		writeFileT(t, filepath.Join(dir, name), `{"format": 1, "entr`)
	}
	writeFileT(t, filepath.Join(dir, "notes.txt"), "operator's")

	if diff := cmp.Diff(want, readT(t, dir)); diff != "" {
		t.Errorf("Read with leftover temp files (-want +got):\n%s", diff)
	}
	l = openT(t, dir)
	if diff := cmp.Diff(want, l.Entries()); diff != "" {
		t.Errorf("Entries after Open with leftover temp files (-want +got):\n%s", diff)
	}
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("temp files left after Open: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("Open removed a file that is not its own: %v", err)
	}
}

func TestLockContention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := openT(t, dir)

	// flock(2) conflicts between open file descriptions, so a second Open
	// in the same process is refused just as one in another process is
	// (TestCrashKill checks the other process).
	second, err := Open(dir)
	if !errors.Is(err, ErrLocked) {
		second.Close()
		t.Fatalf("second Open while the first holds the lock: error = %v, want %v", err, ErrLocked)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("second Open: error %q does not name the holder (%s)", err, want)
	}
	if _, err := Read(dir); err != nil {
		t.Errorf("Read while the lock is held: %v; readers must not need the lock", err)
	}

	if err := first.Close(); err != nil {
		t.Fatalf("close first: %v", err)
	}
	third := openT(t, dir)
	recordT(t, third, Entry{ID: "a", File: "a.so", State: Applied})
}

func TestRecordWriteFailure(t *testing.T) {
	t.Parallel()
	// chmod cannot make the directory unwritable for root, who runs the
	// tests in CI; these failures happen for root too.
	tests := []struct {
		name   string
		reason string
		breaks func(t *testing.T, dir string)
		repair func(t *testing.T, dir string)
	}{
		{
			name:   "rename fails",
			reason: "ledger.json is a directory, so the rename over it fails after the temp file was written and synced",
			breaks: func(t *testing.T, dir string) {
				path := filepath.Join(dir, fileName)
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			repair: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, fileName)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "create temp fails",
			reason: "the state directory vanished, so not even the temp file can be created",
			breaks: func(t *testing.T, dir string) {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			},
			repair: func(t *testing.T, dir string) {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "state")
			l := openT(t, dir)
			recordT(t, l,
				Entry{ID: "a", File: "a.so", State: Applied},
				Entry{ID: "b", File: "b.so", State: Applied},
			)

			tt.breaks(t, dir)
			var notified []error
			var mu sync.Mutex
			l.OnFlush(func(err error) { mu.Lock(); notified = append(notified, err); mu.Unlock() })
			for _, e := range []Entry{
				{ID: "a", File: "a.so", State: Reverted}, // replace
				{ID: "c", File: "c.so", State: Applied},  // insert
			} {
				if err := l.Record(e); err == nil {
					t.Fatalf("Record(%q) succeeded with a broken directory", e.ID)
				}
			}
			// Memory keeps what happened: a later write must not bring back
			// "applied" for a patch that was reverted while the disk was full.
			if e, _ := l.Lookup("a"); e.State != Reverted {
				t.Errorf("after a failed Record, Lookup(a).State = %s, want reverted", e.State)
			}
			if l.Failing() == nil {
				t.Errorf("Failing() = nil after a failed write")
			}
			if _, err := os.Stat(dir); err == nil {
				if got := tempFiles(t, dir); len(got) != 0 {
					t.Errorf("failed Record left temp files: %q", got)
				}
			}

			// The flusher retries on its own once there is room again.
			tt.repair(t, dir)
			want := []Entry{
				{ID: "a", File: "a.so", State: Reverted},
				{ID: "b", File: "b.so", State: Applied},
				{ID: "c", File: "c.so", State: Applied},
			}
			deadline := time.Now().Add(10 * time.Second)
			for cmp.Diff(want, readOrNil(dir), ignoreStamps) != "" && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if diff := cmp.Diff(want, readT(t, dir), ignoreStamps); diff != "" {
				t.Errorf("Read after repair, without another Record (-want +got):\n%s", diff)
			}
			if err := l.Failing(); err != nil {
				t.Errorf("Failing() = %v after the retry succeeded", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if n := len(notified); n == 0 || notified[n-1] != nil {
				t.Errorf("OnFlush heard %v, want nil last: the write that succeeded after failures", notified)
			}
		})
	}
}

func readOrNil(dir string) []Entry {
	entries, _ := Read(dir)
	return entries
}

func TestRecordRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reason string
		entry  Entry
	}{
		{"no key", "an entry with neither ID nor file could never be replaced", Entry{State: Applied}},
		{"unknown state", "the file must only hold states every format-1 reader knows", Entry{ID: "a", File: "a.so", State: "superseded"}},
		{"empty state", "the zero State is not a state; the caller forgot to set it", Entry{ID: "a", File: "a.so"}},
		{"path as file", "File is a base name in patch_dir; a full path means a caller bug", Entry{ID: "a", File: "/var/lib/app/patches/a.so", State: Applied}},
		{"dot dot", "\"..\" is a base name by filepath.Base but names no file in patch_dir", Entry{ID: "a", File: "..", State: Applied}},
		{"unencodable time", "JSON cannot hold a year past 9999; the error must come before anything changes", Entry{ID: "a", File: "a.so", State: Applied, AppliedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l := openT(t, dir)
			if err := l.Record(tt.entry); err == nil {
				t.Fatalf("Record(%+v) succeeded", tt.entry)
			}
			if diff := cmp.Diff([]Entry{}, l.Entries()); diff != "" {
				t.Errorf("rejected Record changed memory (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, fileName)); err == nil {
				t.Errorf("rejected Record wrote %s", fileName)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	var nilLedger *Ledger
	if err := nilLedger.Close(); err != nil {
		t.Errorf("Close on nil *Ledger: %v", err)
	}

	dir := t.TempDir()
	l := openT(t, dir)
	recordT(t, l, Entry{ID: "a", File: "a.so", State: Applied})
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}

	if err := l.Record(Entry{ID: "b", File: "b.so", State: Applied}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: error = %v, want %v", err, ErrClosed)
	}
	if err := l.Record(Entry{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record of an invalid entry after Close: error = %v, want %v first", err, ErrClosed)
	}
	if got := l.Entries(); got != nil {
		t.Errorf("Entries after Close = %v, want nil", got)
	}
	if _, ok := l.Lookup("a"); ok {
		t.Errorf("Lookup after Close found an entry")
	}
	if got := l.Path(); got != path {
		t.Errorf("Path after Close = %q, want %q", got, path)
	}
	if got := readT(t, dir); len(got) != 1 {
		t.Errorf("Read after Close: %d entries, want the 1 recorded before", len(got))
	}
}

func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openT(t, dir)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := l.Record(Entry{ID: id, Sequence: int64(i), File: id + ".so", State: Applied}); err != nil {
					t.Errorf("record %s: %v", id, err)
				}
				l.Entries()
				l.Lookup(id)
			}
		})
	}
	wg.Wait()
	got := l.Entries()
	if len(got) != workers*each {
		t.Errorf("Entries: %d, want %d", len(got), workers*each)
	}
	if diff := cmp.Diff(got, readT(t, dir)); diff != "" {
		t.Errorf("Read differs from Entries after concurrent Records (-want +got):\n%s", diff)
	}
}

func TestFileIsReadable(t *testing.T) {
	t.Parallel()
	// Operators read ledger.json by eye and with jq; keep it indented and
	// newline-terminated.
	dir := t.TempDir()
	l := openT(t, dir)
	recordT(t, l, Entry{ID: "a", File: "a.so", State: Applied})
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("{\n\t\"format\": 1,\n")) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("ledger.json is not indented, format first, newline-terminated:\n%s", data)
	}
}
