package watcher_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/watcher"
	"github.com/google/go-cmp/cmp"
)

// TestStalledCopy: a file that Complete turns down is a copy in progress
// until it has been left alone for Stalled; only then is it reported, so
// that the reader refuses it as truncated rather than a pause of the
// writer being taken for the end.
func TestStalledCopy(t *testing.T) {
	t.Parallel()
	const quiet = 50 * time.Millisecond
	t.Run("pause longer than Quiet", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		w := start(t, watcher.Config{Dir: dir, Quiet: quiet, Stalled: time.Hour, Complete: hasTrailer})
		path := filepath.Join(dir, "paused.so")
		if err := os.WriteFile(path, []byte("first half, no trailer"), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * quiet)
		select {
		case ev := <-w.Events():
			t.Fatalf("%v %s while the writer paused, before the trailer", ev.Op, ev.Path)
		default:
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("second half" + trailer); err != nil {
			t.Fatal(err)
		}
		f.Close()
		ev := next(t, w, "wait for the paused copy")
		if !hasTrailer(ev.Path) {
			t.Errorf("Ready for %s before its trailer arrived", ev.Path)
		}
		if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
			t.Errorf("after the paused copy (-want +got):\n%s", diff)
		}
	})
	t.Run("truncated, left alone", func(t *testing.T) {
		t.Parallel()
		const stalled = 300 * time.Millisecond
		dir := t.TempDir()
		w := start(t, watcher.Config{Dir: dir, Quiet: quiet, Stalled: stalled, Complete: hasTrailer})
		if err := os.WriteFile(filepath.Join(dir, "cut.so"), []byte("no trailer"), 0o644); err != nil {
			t.Fatal(err)
		}
		ev := next(t, w, "wait for the truncated file")
		if ev.Op != watcher.Ready || ev.Settle < stalled {
			t.Errorf("got %v after %v; want Ready after at least Stalled (%v)", ev.Op, ev.Settle, stalled)
		}
	})
	t.Run("truncated, renamed in with an old mtime", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		w := start(t, watcher.Config{Dir: dir, Quiet: quiet, Stalled: time.Hour, Complete: hasTrailer})
		tmp := filepath.Join(dir, ".old.so")
		if err := os.WriteFile(tmp, []byte("no trailer"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(tmp, old, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "old.so")); err != nil {
			t.Fatal(err)
		}
		// With Stalled an hour, only the file's own mtime can settle it.
		evs := toGot(t, dir, collect(t, w, 1, "wait for the old truncated file"))
		if diff := cmp.Diff([]got{{"old.so", watcher.Ready}}, evs); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// TestAgain: a reader that could not use a Ready (the file changed while
// it read it) gets the file once more, even when nothing but the mtime
// moved or nothing moved at all; a file never reported stays silent.
func TestAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := start(t, watcher.Config{Dir: dir, Quiet: 50 * time.Millisecond, Complete: hasTrailer})
	path := filepath.Join(dir, "a.so")
	writeFile(t, path, "a")
	evs := toGot(t, dir, collect(t, w, 1, "wait for a.so"))
	w.Again(path)
	evs = append(evs, toGot(t, dir, collect(t, w, 1, "wait for a.so again"))...)
	w.Again(filepath.Join(dir, "never.so"))
	w.Again(filepath.Join(t.TempDir(), "a.so"))
	want := []got{{"a.so", watcher.Ready}, {"a.so", watcher.Ready}}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after Again (-want +got):\n%s", diff)
	}
	w.Again(path) // after Close: returns at once
}
