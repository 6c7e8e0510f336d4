package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Op is what happened to a file.
type Op int

const (
	// Ready: the file is complete. A path can be Ready several times, once
	// per version; the latest Ready supersedes the earlier ones.
	Ready Op = iota + 1
	// Removed: a file that was reported Ready is gone (deleted, renamed away,
	// or its directory disappeared).
	Removed
)

func (o Op) String() string {
	switch o {
	case Ready:
		return "Ready"
	case Removed:
		return "Removed"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Event reports one file.
type Event struct {
	// Path is Config.Dir joined with the file's base name.
	Path string
	Op   Op
	// Settle is the time from the first event seen for this version of the
	// file to Ready; zero for Removed.
	Settle time.Duration
	// First is when that first event was seen; zero for Removed.
	First time.Time
}

// Config configures a Watcher. Only Dir is required.
type Config struct {
	// Dir is the directory to watch; it must exist when New is called.
	// Subdirectories are not watched.
	Dir string
	// Match filters base names; nil means MatchPatch. It is called from the
	// watcher goroutine.
	Match func(name string) bool
	// Quiet is how long a file must go without a write (seen as a Write
	// event or as a change of size or modification time) before it counts
	// as complete. Zero or negative means 250ms.
	Quiet time.Duration
	// Complete, when set, lets a file become Ready before Quiet has passed:
	// it is asked whenever a settling, non-empty file has changed, and a
	// true answer sends Ready at once. It must be cheap (for example, check
	// a trailer at the end of the file): it runs on the watcher goroutine
	// and delays everything else while it runs. A write after a true answer
	// makes a new version, hence a second Ready; attribute changes (chmod,
	// utimes) do not.
	Complete func(path string) bool
	// Stalled is how long a file that Complete turns down must be left
	// alone before it is reported all the same, so that its reader can
	// refuse it as truncated: a copy that pauses longer than Quiet (a slow
	// link, a stalled scp) is not complete. Left alone means unchanged for
	// Stalled on the watcher's clock, or a modification time at least
	// Stalled old (a file renamed into place with its old mtime kept).
	// Zero or negative means 4×Quiet; it is not used without Complete.
	Stalled time.Duration
	// Poll is how often a settling file is stat'ed. Zero or negative means
	// 25ms.
	Poll time.Duration
}

const (
	defaultQuiet = 250 * time.Millisecond
	defaultPoll  = 25 * time.Millisecond
	// dirRetry is how often a vanished directory is looked for.
	dirRetry = 200 * time.Millisecond
	// errorBuffer is how many errors wait for a slow reader before new ones
	// are dropped.
	errorBuffer = 16
)

// MatchPatch reports whether name (a base name) looks like a finished patch
// file: it ends in ".so" and is not a dotfile. Dotfiles are skipped because
// rsync and many editors write to ".name.XXXXXX" and rename into place;
// "*.part" and "*.tmp", the usual names of a transfer in progress, do not end
// in ".so".
func MatchPatch(name string) bool {
	return strings.HasSuffix(name, ".so") && !strings.HasPrefix(name, ".")
}

// Watcher watches one directory. Its methods are safe for concurrent use.
// Events wait in memory until they are read, so a caller that stops reading
// Events should Close the Watcher.
type Watcher struct {
	dir       string
	match     func(string) bool
	complete  func(string) bool
	quiet     time.Duration
	stalled   time.Duration
	pollEvery time.Duration

	fs       *fsnotify.Watcher
	events   chan Event
	errors   chan error
	rescanCh chan struct{}
	againCh  chan string
	done     chan struct{}
	exited   chan struct{}

	closeOnce sync.Once
	closeErr  error

	// Owned by the run goroutine from here on.
	files     map[string]*entry // base name → state
	settling  []*entry          // in the order their rounds started
	queue     []Event           // waiting for the reader of events
	dirGone   bool
	pollTimer *time.Timer
	pollArmed bool
	dirTimer  *time.Timer
}

// entry is what the watcher knows about one base name.
type entry struct {
	name string

	reported bool   // a Ready was sent and no Removed since
	rep      fileID // the version that Ready was for

	// A round runs from the first event after a quiet period to the
	// decision: Ready, or nothing new.
	settling    bool
	inList      bool // present in Watcher.settling
	wrote       bool // the round saw a write, or cannot rule one out
	first       time.Time
	seen        fileID
	seenOK      bool
	stableSince time.Time
	ask         bool // Complete has not seen the current state yet
	complete    bool // Complete's answer for the current state
	again       bool // the reader could not use the last Ready: report again
}

// fileID identifies one version of a file. The mode is left out on purpose:
// a chmod does not make a new version. The mtime is in, because without
// events (a rescan) it is the only sign of a same-size rewrite.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func (a fileID) sameContent(b fileID) bool {
	return a.dev == b.dev && a.ino == b.ino && a.size == b.size
}

func idOf(fi fs.FileInfo) fileID {
	dev, ino := inode(fi)
	return fileID{dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// New starts watching cfg.Dir, then scans it: every matching file already
// there is reported Ready once it has settled, like any other file. New does
// not wait for the scan.
func New(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("watcher: no directory")
	}
	dir := filepath.Clean(cfg.Dir)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("watcher: %s: not a directory", dir)
	}
	w := &Watcher{
		dir:       dir,
		match:     cfg.Match,
		complete:  cfg.Complete,
		quiet:     cfg.Quiet,
		stalled:   cfg.Stalled,
		pollEvery: cfg.Poll,
		events:    make(chan Event),
		errors:    make(chan error, errorBuffer),
		rescanCh:  make(chan struct{}, 1),
		againCh:   make(chan string),
		done:      make(chan struct{}),
		exited:    make(chan struct{}),
		files:     make(map[string]*entry),
	}
	if w.match == nil {
		w.match = MatchPatch
	}
	if w.quiet <= 0 {
		w.quiet = defaultQuiet
	}
	if w.stalled <= 0 {
		w.stalled = 4 * w.quiet
	}
	if w.pollEvery <= 0 {
		w.pollEvery = defaultPoll
	}
	w.fs, err = fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	// Watch before the scan, so that a file arriving in between is seen by
	// one or the other; the per-file state makes seeing it twice harmless.
	if err := w.fs.Add(dir); err != nil {
		w.fs.Close()
		return nil, fmt.Errorf("watcher: watch %s: %w", dir, err)
	}
	w.pollTimer = time.NewTimer(time.Hour)
	w.pollTimer.Stop()
	w.dirTimer = time.NewTimer(time.Hour)
	w.dirTimer.Stop()
	go w.run()
	return w, nil
}

// Events returns the channel of events, in the order the watcher decided
// them. It is closed after Close. Read it until then: unread events are
// kept in memory.
func (w *Watcher) Events() <-chan Event { return w.events }

// Errors returns non-fatal problems: fsnotify's queue overflowed (a rescan
// follows), the directory disappeared (it is waited for), a file could not
// be stat'ed. Errors are dropped when nobody reads them. The channel is
// closed after Close.
func (w *Watcher) Errors() <-chan error { return w.errors }

// Rescan asks the watcher to list the directory again: files not reported
// yet, or changed since their Ready (size, modification time or inode), get
// Ready after settling; reported files that are gone get Removed. Use it when
// events may have been lost. It does not block; requests made while one is
// pending are merged. It does nothing after Close or on a nil Watcher.
func (w *Watcher) Rescan() {
	if w == nil {
		return
	}
	select {
	case w.rescanCh <- struct{}{}:
	default:
	}
}

// Again tells the watcher that the last Ready of path could not be used:
// the reader saw the file change while reading it. The file is reported
// once more when it has settled, even if it then looks like the version
// already reported (a touch during the read moves only the mtime). Again
// does nothing for a file that was not reported, after Close or on a nil
// Watcher.
func (w *Watcher) Again(path string) {
	if w == nil || filepath.Dir(path) != w.dir {
		return
	}
	select {
	case w.againCh <- filepath.Base(path):
	case <-w.done:
	}
}

// Close stops watching, waits for the watcher goroutine to exit and closes
// Events and Errors; events not yet read are dropped. Close is nil-safe and
// idempotent: calls after the first return nil, once the first has finished.
func (w *Watcher) Close() error {
	if w == nil {
		return nil
	}
	first := false
	w.closeOnce.Do(func() {
		first = true
		close(w.done)
		w.closeErr = w.fs.Close()
		<-w.exited
	})
	if !first {
		return nil
	}
	return w.closeErr
}

func (w *Watcher) run() {
	defer close(w.exited)
	defer close(w.errors)
	defer close(w.events)
	defer w.pollTimer.Stop()
	defer w.dirTimer.Stop()

	fsEvents, fsErrors := w.fs.Events, w.fs.Errors
	w.rescan(time.Now())
	for {
		if len(w.settling) > 0 && !w.pollArmed {
			w.pollTimer.Reset(w.pollEvery)
			w.pollArmed = true
		}
		var (
			out  chan<- Event
			next Event
		)
		if len(w.queue) > 0 {
			out, next = w.events, w.queue[0]
		}
		select {
		case <-w.done:
			return
		case out <- next:
			w.queue[0] = Event{}
			w.queue = w.queue[1:]
			if len(w.queue) == 0 {
				w.queue = nil // let the backing array go after a burst
			}
		case ev, ok := <-fsEvents:
			if !ok {
				fsEvents = nil // closed by Close; done follows
				continue
			}
			w.handle(ev, time.Now())
		case err, ok := <-fsErrors:
			if !ok {
				fsErrors = nil
				continue
			}
			w.report(fmt.Errorf("watcher: %s: %w", w.dir, err))
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.rescan(time.Now())
			}
		case <-w.rescanCh:
			w.rescan(time.Now())
		case name := <-w.againCh:
			if e := w.files[name]; e != nil && e.reported {
				e.again = true
				w.start(e, time.Now(), true)
			}
		case <-w.pollTimer.C:
			w.pollArmed = false
			w.tick(time.Now())
		case <-w.dirTimer.C:
			w.retryDir(time.Now())
		}
	}
}

// report never blocks: a reader that does not drain Errors must not stall
// the watcher.
func (w *Watcher) report(err error) {
	select {
	case w.errors <- err:
	default:
	}
}

func (w *Watcher) send(name string, op Op, first, now time.Time) {
	ev := Event{Path: filepath.Join(w.dir, name), Op: op}
	if op == Ready {
		ev.First, ev.Settle = first, now.Sub(first)
	}
	w.queue = append(w.queue, ev)
}

func (w *Watcher) handle(ev fsnotify.Event, now time.Time) {
	if ev.Name == w.dir {
		// Events about the directory itself have no file name; only its
		// disappearance matters (fsnotify drops the watch on both).
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.lostDir(now)
		}
		return
	}
	if w.dirGone || filepath.Dir(ev.Name) != w.dir {
		return
	}
	name := filepath.Base(ev.Name)
	if !w.match(name) {
		return
	}
	e := w.files[name]
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		// Look rather than trust the event: the name may already point to a
		// new file (remove and create in quick succession).
		if e != nil {
			w.recheck(e, now)
		}
		return
	}
	if e == nil {
		e = &entry{name: name}
		w.files[name] = e
	}
	// Chmod does not restart the quiet period: it does not change content,
	// and attribute churn (backup or indexing tools) must not keep a file
	// from settling. It still starts a round, which finds nothing new.
	w.start(e, now, ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write))
}

// start begins a round for e, or extends the running one. A new round polls
// at once, so that Complete can answer for a file renamed into place without
// waiting for the next tick.
func (w *Watcher) start(e *entry, now time.Time, changed bool) {
	if e.settling {
		if changed {
			// The event proves a write even when the clock granularity of
			// the file system hides it from mtime.
			e.stableSince = now
			e.ask = true
			e.wrote = true
		}
		return
	}
	e.settling = true
	e.wrote = changed
	e.first = now
	e.seenOK = false
	w.poll(e, now)
	if e.settling && !e.inList {
		e.inList = true
		w.settling = append(w.settling, e)
	}
}

// recheck handles a sign that e may be gone.
func (w *Watcher) recheck(e *entry, now time.Time) {
	_, err := os.Stat(filepath.Join(w.dir, e.name))
	if errors.Is(err, fs.ErrNotExist) {
		w.vanish(e)
		return
	}
	w.start(e, now, true)
}

// tick polls every settling file in the order their rounds started: of two
// files left alone since their rounds began, the older is decided no later
// than the newer, which lets a caller use a fresh file as a barrier.
func (w *Watcher) tick(now time.Time) {
	live := w.settling[:0]
	for _, e := range w.settling {
		if e.settling {
			w.poll(e, now)
		}
		if e.settling {
			live = append(live, e)
		} else {
			e.inList = false
		}
	}
	clear(w.settling[len(live):])
	w.settling = live
}

func (w *Watcher) poll(e *entry, now time.Time) {
	path := filepath.Join(w.dir, e.name)
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.vanish(e)
			return
		}
		// Not gone, not readable (permissions, I/O): wait for the next
		// event or rescan instead of retrying every tick.
		w.report(fmt.Errorf("watcher: %w", err))
		e.settling = false
		return
	}
	if !fi.Mode().IsRegular() {
		// A directory or device under a matching name is not a file we can
		// hand on; if it replaced one we reported, that one is gone.
		w.vanish(e)
		return
	}
	id := idOf(fi)
	if !e.seenOK || id != e.seen {
		e.seen, e.seenOK = id, true
		e.stableSince = now
		e.ask = true
	}
	quiet := now.Sub(e.stableSince) >= w.quiet
	if e.reported && !e.again && !e.wrote && id.sameContent(e.rep) {
		// Only attributes moved, the mtime perhaps among them: touch, or
		// the utimes and fchmod that scp -p, sftp -p and install do after
		// the last byte. Content changes show up as Write or Create
		// events, so without one this is still the reported version. Wait
		// for quiet before adopting the new mtime: a Write event for it
		// may still be on its way.
		if quiet {
			e.rep = id
			e.settling = false
		}
		return
	}
	if e.reported && !e.again && id == e.rep {
		// Same version as reported (chmod, a rescan, a spurious event).
		if quiet {
			e.settling = false
		}
		return
	}
	if id.size == 0 {
		// An empty file is never complete: scp and friends create the file
		// before the first byte arrives, and a stalled transfer must not
		// look finished. Writes will start a new round.
		if quiet {
			e.settling = false
		}
		return
	}
	// A reported file written to in place (same inode, not truncated)
	// keeps its old trailer until the writer gets to the end: Complete
	// would say yes to a mix of two versions, so only quiet can tell.
	inPlace := e.reported && e.wrote && id.dev == e.rep.dev && id.ino == e.rep.ino
	if e.ask && w.complete != nil && !inPlace {
		e.ask = false
		e.complete = w.complete(path)
		if e.complete {
			w.ready(e, id, now)
			return
		}
	}
	if quiet && w.settled(e, id, now, inPlace) {
		w.ready(e, id, now)
	}
}

// settled decides a quiet file: complete, or left alone long enough to
// be reported as it is.
func (w *Watcher) settled(e *entry, id fileID, now time.Time, inPlace bool) bool {
	if w.complete == nil || inPlace || e.complete {
		return true
	}
	return now.Sub(e.stableSince) >= w.stalled || now.Sub(time.Unix(0, id.mtime)) >= w.stalled
}

func (w *Watcher) ready(e *entry, id fileID, now time.Time) {
	e.reported, e.rep = true, id
	e.settling, e.again, e.complete = false, false, false
	w.send(e.name, Ready, e.first, now)
}

// vanish forgets e; a file that was never reported leaves no trace.
func (w *Watcher) vanish(e *entry) {
	if e.reported {
		w.send(e.name, Removed, time.Time{}, time.Time{})
	}
	e.settling, e.reported = false, false
	delete(w.files, e.name)
}

// rescan lists the directory and reconciles it with what was reported.
func (w *Watcher) rescan(now time.Time) {
	if w.dirGone {
		return // retryDir rescans once the directory is back
	}
	list, err := os.ReadDir(w.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.lostDir(now)
			return
		}
		w.report(fmt.Errorf("watcher: rescan: %w", err))
		return
	}
	present := make(map[string]bool, len(list))
	for _, de := range list {
		name := de.Name()
		if !w.match(name) {
			continue
		}
		present[name] = true
		e := w.files[name]
		if e != nil && e.settling {
			continue
		}
		if e != nil && e.reported {
			// Skip unchanged files here rather than in a round, so a rescan
			// of a large directory does not poll every file for Quiet.
			fi, err := os.Stat(filepath.Join(w.dir, name))
			if err == nil && fi.Mode().IsRegular() && idOf(fi) == e.rep {
				continue
			}
		}
		if e == nil {
			e = &entry{name: name}
			w.files[name] = e
		}
		w.start(e, now, true)
	}
	var missing []string
	for name := range w.files {
		if !present[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		// Created after ReadDir, or really gone: recheck tells them apart.
		w.recheck(w.files[name], now)
	}
}

// lostDir handles the watched directory disappearing: inotify has dropped
// the watch, so every reported file is Removed and the directory is polled
// for until it comes back.
func (w *Watcher) lostDir(now time.Time) {
	if w.dirGone {
		return
	}
	w.dirGone = true
	names := make([]string, 0, len(w.files))
	for name, e := range w.files {
		if e.reported {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		w.send(name, Removed, time.Time{}, time.Time{})
	}
	clear(w.files)
	clear(w.settling)
	w.settling = w.settling[:0]
	// fsnotify may still hold the watch when the loss was found by a rescan
	// rather than by an event; drop it so that Add starts afresh. The error
	// (usually ErrNonExistentWatch) says nothing useful.
	_ = w.fs.Remove(w.dir)
	w.report(fmt.Errorf("watcher: %s: directory removed; waiting for it to reappear", w.dir))
	w.retryDir(now)
}

func (w *Watcher) retryDir(now time.Time) {
	if !w.dirGone {
		return
	}
	fi, err := os.Stat(w.dir)
	if err == nil && fi.IsDir() {
		err = w.fs.Add(w.dir)
		if err == nil {
			w.dirGone = false
			w.rescan(now)
			return
		}
	}
	w.dirTimer.Reset(dirRetry)
}
