package watcher

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		quiet, poll time.Duration
		wantQ       time.Duration
		wantP       time.Duration
		reason      string
	}{
		{"zero", 0, 0, defaultQuiet, defaultPoll, "a zero Config must work"},
		{"negative", -1, -1, defaultQuiet, defaultPoll, "a negative period is a mistake, not a busy loop"},
		{"set", time.Second, time.Millisecond, time.Second, time.Millisecond, "explicit values are kept"},
	}
	for _, tt := range tests {
		w, err := New(Config{Dir: t.TempDir(), Quiet: tt.quiet, Poll: tt.poll})
		if err != nil {
			t.Fatalf("%s: start watcher: %v", tt.name, err)
		}
		if w.quiet != tt.wantQ || w.pollEvery != tt.wantP {
			t.Errorf("%s: Quiet, Poll = %v, %v; want %v, %v (%s)", tt.name, w.quiet, w.pollEvery, tt.wantQ, tt.wantP, tt.reason)
		}
		if w.match == nil {
			t.Errorf("%s: Match nil after New, want MatchPatch", tt.name)
		}
		w.Close()
	}
}

// TestRescanFindsMissedChanges stands in for an inotify queue overflow,
// which a test cannot force reliably: it takes the inotify watch away, so
// changes are seen only by Rescan.
func TestRescanFindsMissedChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"gone.so", "kept.so"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatalf("start watcher: %v", err)
	}
	defer w.Close()
	wait := func(n int, doing string) []string {
		t.Helper()
		var got []string
		for len(got) < n {
			select {
			case ev := <-w.Events():
				got = append(got, ev.Op.String()+" "+filepath.Base(ev.Path))
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: have %v, want %d events", doing, got, n)
			}
		}
		slices.Sort(got)
		return got
	}
	if got, want := wait(2, "scan at start"), []string{"Ready gone.so", "Ready kept.so"}; !slices.Equal(got, want) {
		t.Fatalf("scan at start = %v, want %v", got, want)
	}

	if err := w.fs.Remove(dir); err != nil {
		t.Fatalf("drop the inotify watch: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "gone.so")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.so"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Rescan()
	if got, want := wait(2, "rescan"), []string{"Ready new.so", "Removed gone.so"}; !slices.Equal(got, want) {
		t.Errorf("rescan = %v, want %v", got, want)
	}

	// Unchanged files must not be reported again; the last file proves the
	// second rescan has run.
	if err := os.WriteFile(filepath.Join(dir, "last.so"), []byte("last"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Rescan()
	if got, want := wait(1, "second rescan"), []string{"Ready last.so"}; !slices.Equal(got, want) {
		t.Errorf("second rescan = %v, want %v", got, want)
	}
	w.Close()
	var rest []string
	for ev := range w.Events() {
		rest = append(rest, ev.Op.String()+" "+filepath.Base(ev.Path))
	}
	if len(rest) != 0 {
		t.Errorf("after rescans: unexpected %v", rest)
	}
}
