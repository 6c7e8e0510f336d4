package watcher_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/watcher"
	"github.com/google/go-cmp/cmp"
)

// eventWait bounds every wait for an event. It is far above any settle time
// used here: a slow machine makes the tests slower, not red.
const eventWait = 10 * time.Second

// trailer ends every file these tests write, so that a Complete that looks
// for it can stand in for the loader's check of a patch trailer.
const trailer = "HOTFIX-END"

func hasTrailer(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(trailer))
	fi, err := f.Stat()
	if err != nil || fi.Size() < int64(len(buf)) {
		return false
	}
	if _, err := f.ReadAt(buf, fi.Size()-int64(len(buf))); err != nil && err != io.EOF {
		return false
	}
	return string(buf) == trailer
}

func always(string) bool { return true }

// got is an event as the tests compare it: base name and op.
type got struct {
	Name string
	Op   watcher.Op
}

func (g got) String() string { return g.Op.String() + " " + g.Name }

func start(t *testing.T, cfg watcher.Config) *watcher.Watcher {
	t.Helper()
	w, err := watcher.New(cfg)
	if err != nil {
		t.Fatalf("start watcher on %s: %v", cfg.Dir, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content+trailer), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func toGot(t *testing.T, dir string, evs []watcher.Event) []got {
	t.Helper()
	out := make([]got, 0, len(evs))
	for _, ev := range evs {
		if d := filepath.Dir(ev.Path); d != dir {
			t.Errorf("event %v %s: directory %s, want %s", ev.Op, ev.Path, d, dir)
		}
		out = append(out, got{filepath.Base(ev.Path), ev.Op})
	}
	return out
}

// next waits for one event.
func next(t *testing.T, w *watcher.Watcher, doing string) watcher.Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatalf("%s: events closed", doing)
		}
		return ev
	case <-time.After(eventWait):
		t.Fatalf("%s: no event after %v", doing, eventWait)
	}
	panic("unreachable")
}

// collect waits for n events.
func collect(t *testing.T, w *watcher.Watcher, n int, doing string) []watcher.Event {
	t.Helper()
	evs := make([]watcher.Event, 0, n)
	for len(evs) < n {
		evs = append(evs, next(t, w, fmt.Sprintf("%s (have %d of %d)", doing, len(evs), n)))
	}
	return evs
}

// sorted orders a batch whose order the watcher does not promise.
func sorted(g []got) []got {
	return slices.SortedFunc(slices.Values(g), func(a, b got) int {
		return strings.Compare(a.String(), b.String())
	})
}

const sentinel = "zz-sentinel.so"

// finish shows that nothing else is pending: it writes a sentinel file,
// waits for its Ready, closes the watcher and returns every other event seen
// on the way, including those still queued at Close. For a file whose round
// started before the sentinel's and saw no writes since, this is exact: the
// watcher decides rounds in the order they started.
func finish(t *testing.T, w *watcher.Watcher, dir string) []got {
	t.Helper()
	writeFile(t, filepath.Join(dir, sentinel), "sentinel")
	var rest []got
	for {
		ev := next(t, w, "wait for the sentinel")
		g := toGot(t, dir, []watcher.Event{ev})[0]
		if g == (got{sentinel, watcher.Ready}) {
			break
		}
		rest = append(rest, g)
	}
	if err := w.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	for ev := range w.Events() {
		rest = append(rest, toGot(t, dir, []watcher.Event{ev})[0])
	}
	return rest
}

func TestMatchPatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		want   bool
		reason string
	}{
		{"fix.so", true, "the one shape a patch has"},
		{"fix-1.2.3.so", true, "versions in the name are common"},
		{".fix.so", false, "rsync writes to a dotfile and renames it into place"},
		{".so", false, "a dotfile, not a file named so"},
		{"fix.so.part", false, "partial downloads (curl, browsers) end in .part"},
		{"fix.so.tmp", false, "editors and tools write *.tmp then rename"},
		{"fix.tmp", false, "temporary file"},
		{"fix.txt", false, "not a shared object"},
		{"fix.SO", false, "go build writes .so; other cases are someone else's file"},
		{"fix.so~", false, "editor backup"},
		{"", false, "no name"},
	}
	for _, tt := range tests {
		if got := watcher.MatchPatch(tt.name); got != tt.want {
			t.Errorf("MatchPatch(%q) = %v, want %v (%s)", tt.name, got, tt.want, tt.reason)
		}
	}
}

func TestOpString(t *testing.T) {
	t.Parallel()
	for op, want := range map[watcher.Op]string{watcher.Ready: "Ready", watcher.Removed: "Removed", 0: "Op(0)", 7: "Op(7)"} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", int(op), got, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, "")
	tests := []struct {
		name, dir, reason string
	}{
		{"empty", "", "no directory given"},
		{"missing", filepath.Join(dir, "nope"), "the directory must exist; the agent creates it, not the watcher"},
		{"file", file, "a file is not a directory to watch"},
	}
	for _, tt := range tests {
		w, err := watcher.New(watcher.Config{Dir: tt.dir})
		if err == nil {
			w.Close()
			t.Errorf("%s: New(%q) succeeded, want an error (%s)", tt.name, tt.dir, tt.reason)
		}
	}
}

func TestScanAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"a.so", "b.so", ".c.so", "d.so.part", "e.tmp", "f.txt"} {
		writeFile(t, filepath.Join(dir, name), name)
	}
	w := start(t, watcher.Config{Dir: dir})
	evs := toGot(t, dir, collect(t, w, 2, "scan at start"))
	want := []got{{"a.so", watcher.Ready}, {"b.so", watcher.Ready}}
	if diff := cmp.Diff(want, sorted(evs)); diff != "" {
		t.Errorf("scan at start (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after scan (-want +got):\n%s", diff)
	}
}

func TestSlowCopy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		quiet    time.Duration
		complete func(string) bool
		reason   string
	}{
		{"quiet", 250 * time.Millisecond, nil,
			"scp over a slow link: pauses shorter than Quiet must not look like the end"},
		{"trailer", time.Hour, hasTrailer,
			"Complete sees the trailer, written last; with Quiet an hour only Complete can fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A loaded machine can stall the writer for longer than Quiet,
			// and then an early Ready is right; such a run proves nothing,
			// so try again rather than fail.
			const attempts = 3
			for i := range attempts {
				stall := slowCopy(t, tt.quiet, tt.complete)
				if stall == 0 {
					return
				}
				t.Logf("attempt %d: the writer stalled %v, longer than Quiet %v; an early Ready would be correct", i+1, stall, tt.quiet)
			}
			t.Skipf("the writer stalled in all %d attempts", attempts)
		})
	}
}

// slowCopy copies a file in 4 KiB chunks with 50ms pauses and checks that it
// gives exactly one Ready, for the whole file. It returns the writer's
// longest pause if that was long enough to make an early Ready correct, in
// which case it has checked nothing.
func slowCopy(t *testing.T, quiet time.Duration, complete func(string) bool) (stall time.Duration) {
	t.Helper()
	const (
		chunk  = 4096
		chunks = 20
		pause  = 50 * time.Millisecond
	)
	dir := t.TempDir()
	w := start(t, watcher.Config{Dir: dir, Quiet: quiet, Complete: complete})
	defer w.Close()
	path := filepath.Join(dir, "slow.so")
	data := bytes.Repeat([]byte("a"), chunk*chunks)
	copy(data[len(data)-len(trailer):], trailer)

	type result struct {
		maxGap time.Duration
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		f, err := os.Create(path)
		if err != nil {
			r.err = err
			return
		}
		defer f.Close()
		last := time.Now()
		for i := range chunks {
			if i > 0 {
				time.Sleep(pause)
			}
			if _, r.err = f.Write(data[i*chunk : (i+1)*chunk]); r.err != nil {
				return
			}
			now := time.Now()
			r.maxGap = max(r.maxGap, now.Sub(last))
			last = now
		}
	}()

	ev := next(t, w, "wait for the slow copy")
	fi, statErr := os.Stat(path)
	r := <-done
	if r.err != nil {
		t.Fatalf("copy: %v", r.err)
	}
	if complete == nil && r.maxGap >= quiet {
		return r.maxGap
	}
	if diff := cmp.Diff([]got{{"slow.so", watcher.Ready}}, toGot(t, dir, []watcher.Event{ev})); diff != "" {
		t.Fatalf("first event (-want +got):\n%s", diff)
	}
	if statErr != nil {
		t.Fatalf("stat at Ready: %v", statErr)
	}
	if fi.Size() != int64(len(data)) {
		t.Errorf("size at Ready = %d, want the final %d", fi.Size(), len(data))
	}
	if complete == nil && ev.Settle < quiet {
		t.Errorf("Settle = %v, less than Quiet %v", ev.Settle, quiet)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after the copy (-want +got):\n%s", diff)
	}
	return 0
}

func TestRenameIntoPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		quiet    time.Duration
		complete func(string) bool
		reason   string
	}{
		{"complete", time.Hour, always,
			"Complete says yes: Ready at once (Quiet is an hour, so nothing else could send it)"},
		{"quiet", 250 * time.Millisecond, nil,
			"without Complete a renamed file still settles like any other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := start(t, watcher.Config{Dir: dir, Quiet: tt.quiet, Complete: tt.complete})
			part := filepath.Join(dir, "x.so.part")
			writeFile(t, part, "patch")
			if err := os.Rename(part, filepath.Join(dir, "x.so")); err != nil {
				t.Fatalf("rename into place: %v", err)
			}
			evs := toGot(t, dir, collect(t, w, 1, "wait for the renamed file"))
			if diff := cmp.Diff([]got{{"x.so", watcher.Ready}}, evs); diff != "" {
				t.Errorf("rename into place (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
				t.Errorf("after the rename (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIgnoredNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{".old.so", "old.so.part", "old.tmp", "old.txt"} {
		writeFile(t, filepath.Join(dir, name), "before start")
	}
	ignored := []string{".x.so", "x.so.part", "x.tmp", "x.txt"}
	w := start(t, watcher.Config{Dir: dir})
	for _, name := range ignored {
		writeFile(t, filepath.Join(dir, name), "after start")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.so"), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := os.Rename(filepath.Join(dir, "x.tmp"), filepath.Join(dir, "y.tmp")); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("ignored names were reported (-want +got):\n%s", diff)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		gone   func(dir string) error
		reason string
	}{
		{"delete", func(dir string) error { return os.Remove(filepath.Join(dir, "a.so")) },
			"deleting a patch rolls it back"},
		{"rename away", func(dir string) error {
			return os.Rename(filepath.Join(dir, "a.so"), filepath.Join(dir, "a.so.disabled"))
		}, "renaming a patch to an ignored name is the same as deleting it"},
		{"move out", func(dir string) error {
			return os.Rename(filepath.Join(dir, "a.so"), filepath.Join(filepath.Dir(dir), "a.so"))
		}, "moving a patch out of the directory gives only a rename event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "patches")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			w := start(t, watcher.Config{Dir: dir})
			writeFile(t, filepath.Join(dir, "a.so"), "a")
			collect(t, w, 1, "wait for a.so")
			if err := tt.gone(dir); err != nil {
				t.Fatalf("remove a.so: %v", err)
			}
			evs := toGot(t, dir, collect(t, w, 1, "wait for a.so to go"))
			if diff := cmp.Diff([]got{{"a.so", watcher.Removed}}, evs); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
				t.Errorf("after remove (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeleteBeforeReady(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const quiet = time.Second
	w := start(t, watcher.Config{Dir: dir, Quiet: quiet})
	path := filepath.Join(dir, "brief.so")
	began := time.Now()
	writeFile(t, path, "brief")
	if err := os.Remove(path); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if took := time.Since(began); took >= quiet {
		t.Skipf("write and remove took %v, longer than Quiet %v: a Ready would be correct", took, quiet)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("a file deleted before it settled was reported (-want +got):\n%s", diff)
	}
}

func TestNewVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rewrite func(t *testing.T, path string)
		reason  string
	}{
		{"rewrite", func(t *testing.T, path string) {
			writeFile(t, path, "version two, longer")
		}, "same inode, new size and mtime: cp over the old file"},
		{"replace", func(t *testing.T, path string) {
			old, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(filepath.Dir(path), ".a.so.new")
			writeFile(t, tmp, "v2") // same length as "v1"
			if err := os.Chtimes(tmp, old.ModTime(), old.ModTime()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "rename over the old file with equal size and mtime: only the inode tells"},
		{"append", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(trailer); err != nil {
				t.Fatal(err)
			}
		}, "more bytes after a Ready are a new version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := start(t, watcher.Config{Dir: dir})
			path := filepath.Join(dir, "a.so")
			writeFile(t, path, "v1")
			collect(t, w, 1, "wait for version one")
			tt.rewrite(t, path)
			evs := toGot(t, dir, collect(t, w, 1, "wait for version two"))
			if diff := cmp.Diff([]got{{"a.so", watcher.Ready}}, evs); diff != "" {
				t.Errorf("new version (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
				t.Errorf("after the new version (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttributesAreNotANewVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		touch  func(path string) error
		reason string
	}{
		{"chmod", func(path string) error { return os.Chmod(path, 0o600) },
			"an operator fixing permissions must not re-apply a patch"},
		{"utimes", func(path string) error {
			then := time.Now().Add(-time.Hour)
			return os.Chtimes(path, then, then)
		}, "touch, and scp -p / sftp -p / install setting times after the last byte, do not change content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := start(t, watcher.Config{Dir: dir})
			path := filepath.Join(dir, "a.so")
			writeFile(t, path, "v1")
			collect(t, w, 1, "wait for a.so")
			if err := tt.touch(path); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			// The touch's round starts before the sentinel's and sees no
			// write, so it is decided before the sentinel's Ready: the
			// check below is exact, not a matter of waiting long enough.
			if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
				t.Errorf("%s gave events (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestEmptyFileWaits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := start(t, watcher.Config{Dir: dir})
	empty := filepath.Join(dir, "empty.so")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// other.so's round starts after empty.so's, so empty.so is decided
	// first: if it were reported, it would come first.
	writeFile(t, filepath.Join(dir, "other.so"), "other")
	evs := toGot(t, dir, collect(t, w, 1, "wait for other.so"))
	if diff := cmp.Diff([]got{{"other.so", watcher.Ready}}, evs); diff != "" {
		t.Errorf("an empty file was reported (-want +got):\n%s", diff)
	}
	writeFile(t, empty, "at last")
	evs = toGot(t, dir, collect(t, w, 1, "wait for empty.so to fill"))
	if diff := cmp.Diff([]got{{"empty.so", watcher.Ready}}, evs); diff != "" {
		t.Errorf("filled file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after the filled file (-want +got):\n%s", diff)
	}
}

func TestTwoFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := start(t, watcher.Config{Dir: dir})
	writeFile(t, filepath.Join(dir, "a.so"), "a")
	writeFile(t, filepath.Join(dir, "b.so"), "b")
	evs := toGot(t, dir, collect(t, w, 2, "wait for two files"))
	want := []got{{"a.so", watcher.Ready}, {"b.so", watcher.Ready}}
	if diff := cmp.Diff(want, sorted(evs)); diff != "" {
		t.Errorf("two files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after two files (-want +got):\n%s", diff)
	}
}

func TestDirectoryReplaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		remove func(dir string) error
		reason string
	}{
		{"remove", os.RemoveAll, "rm -rf of the patch directory: inotify reports each file, then the directory"},
		{"rename", func(dir string) error { return os.Rename(dir, dir+".old") },
			"mv of the directory: inotify reports only the directory, and the files live on elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "patches")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "a.so"), "a")
			writeFile(t, filepath.Join(dir, "b.so"), "b")
			w := start(t, watcher.Config{Dir: dir})
			first := toGot(t, dir, collect(t, w, 2, "wait for the first directory"))

			if err := tt.remove(dir); err != nil {
				t.Fatalf("remove directory: %v", err)
			}
			removed := toGot(t, dir, collect(t, w, 2, "wait for Removed"))
			if _, err := os.Stat(dir + ".old"); err == nil {
				// Files in the moved directory are no longer ours.
				writeFile(t, filepath.Join(dir+".old", "old.so"), "old")
			}

			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatalf("recreate directory: %v", err)
			}
			writeFile(t, filepath.Join(dir, "c.so"), "c")
			again := toGot(t, dir, collect(t, w, 1, "wait for the new directory"))

			gotAll := slices.Concat(sorted(first), sorted(removed), again, finish(t, w, dir))
			want := []got{
				{"a.so", watcher.Ready}, {"b.so", watcher.Ready},
				{"a.so", watcher.Removed}, {"b.so", watcher.Removed},
				{"c.so", watcher.Ready},
			}
			if diff := cmp.Diff(want, gotAll); diff != "" {
				t.Errorf("directory replaced (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	var nilW *watcher.Watcher
	if err := nilW.Close(); err != nil {
		t.Errorf("nil Close = %v, want nil", err)
	}
	nilW.Rescan() // must not panic

	dir := t.TempDir()
	for i := range 5 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%d.so", i)), "x")
	}
	w := start(t, watcher.Config{Dir: dir, Complete: always})
	// With Complete always true the scan queues all five Readys at once;
	// take one and leave four unread, so Close must get past a pending send.
	next(t, w, "wait for the first scanned file")
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("first Close = %v, want nil", err)
		}
	case <-time.After(eventWait):
		t.Fatalf("Close with unread events did not return after %v", eventWait)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	w.Rescan() // after Close: no effect, no panic
	for range w.Events() {
		// Events may still hold what was queued; it must end.
	}
	for range w.Errors() {
	}
}

func TestManyFiles(t *testing.T) {
	t.Parallel()
	const n = 2000
	dir := t.TempDir()
	w := start(t, watcher.Config{Dir: dir})
	want := make([]got, 0, n)
	for i := range n {
		name := fmt.Sprintf("f%04d.so", i)
		writeFile(t, filepath.Join(dir, name), name)
		want = append(want, got{name, watcher.Ready})
		if i%250 == 0 {
			// A rescan racing the events must not report anything twice.
			w.Rescan()
		}
	}
	w.Rescan()
	evs := sorted(toGot(t, dir, collect(t, w, n, "wait for many files")))
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("many files (-want +got):\n%s", diff)
	}

	for i := range n {
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("f%04d.so", i))); err != nil {
			t.Fatal(err)
		}
		if i%250 == 0 {
			w.Rescan()
		}
	}
	for i := range want {
		want[i].Op = watcher.Removed
	}
	evs = sorted(toGot(t, dir, collect(t, w, n, "wait for many removals")))
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("many removals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]got(nil), finish(t, w, dir)); diff != "" {
		t.Errorf("after many files (-want +got):\n%s", diff)
	}
}
