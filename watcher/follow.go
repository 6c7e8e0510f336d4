package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// A Watcher of the file's directory misses the two ways a configuration file
// is usually changed through symbolic links, because inotify reports events
// in the directory that holds the entry that changed, and neither entry is
// the file's own name in its own directory:
//
//   - a Kubernetes ConfigMap volume (pkg/volume/util/atomic_writer.go):
//     name -> ..data/name and ..data -> ..2026_12_06_xx; an update writes a
//     new ..2026_... directory, points ..data_tmp at it and renames ..data_tmp
//     over ..data. Only "..data" changes; "name" is never touched.
//   - a link to a file elsewhere (/etc/app/hotfix.yaml -> /srv/cfg/hotfix.yaml)
//     edited in place: the writes are events of /srv/cfg.
//
// fsnotify (v1.10, backend_inotify.go) watches what a path resolves to when
// it is added and never looks again, so adding the file itself is no better:
// after the ..data swap it watches a file nobody will write again (see
// fsnotify issue 199, and the many ConfigMap reloaders built around it).
// A Follower therefore watches every directory that holds a link on the way
// to the file, and the file's own directory, for those names only, and walks
// the path again after each change, since a swap moves the file elsewhere.

// Follower reports when the content a path resolves to may have changed:
// a write to the file, or a change to any symbolic link on the way to it
// (the file's own name, a link to a directory, a chain of links), wherever
// those live. It sends [Ready] events for the path as it was given, one
// for a burst of changes once Quiet has passed without another, and one at
// start; it does not compare contents, so a reader should. Its methods are
// safe for concurrent use.
type Follower struct {
	path  string
	quiet time.Duration

	fs     *fsnotify.Watcher
	events chan Event
	errors chan error
	done   chan struct{}
	exited chan struct{}

	closeOnce sync.Once
	closeErr  error

	// Owned by the run goroutine.
	watched map[string]map[string]bool // real directory -> names that matter in it
}

// Follow starts following path. Quiet zero or negative means 250ms. The
// path need not exist: the deepest directory that does is watched for it.
func Follow(path string, quiet time.Duration) (*Follower, error) {
	if path == "" {
		return nil, errors.New("watcher: no path to follow")
	}
	if quiet <= 0 {
		quiet = defaultQuiet
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	f := &Follower{
		path: path, quiet: quiet, fs: fw,
		events: make(chan Event), errors: make(chan error, errorBuffer),
		done: make(chan struct{}), exited: make(chan struct{}),
		watched: map[string]map[string]bool{},
	}
	// Watch before the first report, so that a change in between is seen.
	if err := f.follow(); err != nil && len(f.watched) == 0 {
		fw.Close()
		return nil, fmt.Errorf("watcher: follow %s: %w", path, err)
	}
	go f.run()
	return f, nil
}

// Events returns the channel of events; each is Ready for the followed path.
// An event not yet read is replaced by the next one, so a slow reader gets
// the latest, not a backlog. It is closed after Close.
func (f *Follower) Events() <-chan Event { return f.events }

// Errors returns non-fatal problems (a directory that cannot be watched, a
// link loop). Errors are dropped when nobody reads them. The channel is
// closed after Close.
func (f *Follower) Errors() <-chan error { return f.errors }

// Close stops following and waits for the goroutine; it is nil-safe and
// idempotent.
func (f *Follower) Close() error {
	if f == nil {
		return nil
	}
	f.closeOnce.Do(func() {
		close(f.done)
		f.closeErr = f.fs.Close()
		<-f.exited
	})
	return f.closeErr
}

func (f *Follower) run() {
	defer close(f.exited)
	defer close(f.errors)
	defer close(f.events)
	first := time.Now()
	timer := time.NewTimer(f.quiet) // the report at start
	defer timer.Stop()
	var (
		out  chan<- Event
		next Event
	)
	fsEvents, fsErrors := f.fs.Events, f.fs.Errors
	for {
		select {
		case <-f.done:
			return
		case out <- next:
			out = nil
		case ev, ok := <-fsEvents:
			if !ok {
				fsEvents = nil
				continue
			}
			if !f.relevant(ev) {
				continue
			}
			f.changed(&first, timer)
		case err, ok := <-fsErrors:
			if !ok {
				fsErrors = nil
				continue
			}
			f.report(fmt.Errorf("watcher: follow %s: %w", f.path, err))
			// An overflow may have dropped the event that mattered.
			f.changed(&first, timer)
		case now := <-timer.C:
			// Walk again before reporting: the reader reads the file after
			// this, so a change it does not see is one the new watches see.
			f.followReport()
			next, out = Event{Path: f.path, Op: Ready, First: first, Settle: now.Sub(first)}, f.events
			first = time.Time{}
		}
	}
}

// changed starts or extends a quiet period. The path is walked at once
// too: a link swapped to a new directory must be watched before the file
// in it is edited again.
func (f *Follower) changed(first *time.Time, timer *time.Timer) {
	if first.IsZero() {
		*first = time.Now()
	}
	f.followReport()
	timer.Reset(f.quiet)
}

func (f *Follower) followReport() {
	if err := f.follow(); err != nil {
		f.report(fmt.Errorf("watcher: follow %s: %w", f.path, err))
	}
}

func (f *Follower) report(err error) {
	select {
	case f.errors <- err:
	default:
	}
}

// relevant reports whether ev may change what the path resolves to or
// holds. A change of attributes alone does not.
func (f *Follower) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if _, ok := f.watched[ev.Name]; ok {
		// A watched directory itself went, or its entry in a watched parent
		// changed. fsnotify has dropped a watch on a directory deleted or
		// moved (IN_DELETE_SELF, IN_MOVE_SELF): forget it so that follow
		// adds it again if the path still goes through that name.
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			_ = f.fs.Remove(ev.Name) // usually ErrNonExistentWatch already
			delete(f.watched, ev.Name)
		}
		return true
	}
	return f.watched[filepath.Dir(ev.Name)][filepath.Base(ev.Name)]
}

// follow walks the path and moves the watches to the directories the walk
// went through. It returns the walk's error, having watched what it could.
func (f *Follower) follow() error {
	places, walkErr := chain(f.path)
	want := map[string]map[string]bool{}
	for _, p := range places {
		if want[p.dir] == nil {
			want[p.dir] = map[string]bool{}
		}
		want[p.dir][p.name] = true
	}
	var errs []error
	for dir := range f.watched {
		if want[dir] == nil {
			_ = f.fs.Remove(dir) // gone already, if it was deleted
			delete(f.watched, dir)
		}
	}
	for dir, names := range want {
		if f.watched[dir] == nil {
			if err := f.fs.Add(dir); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		f.watched[dir] = names
	}
	return errors.Join(append([]error{walkErr}, errs...)...)
}

// place is a name in a directory whose change can change what a followed
// path resolves to: a symbolic link on the way, or the file itself.
type place struct {
	dir  string // with every link in it resolved
	name string
}

// maxLinks bounds the links a walk follows, as the kernel's MAXSYMLINKS
// (40) does: a loop is an error, not a hang.
const maxLinks = 40

// chain walks path one name at a time, as the kernel resolves it, and
// returns every symbolic link it meets and the file it ends at (or the
// first name that does not exist), each in its directory with every link
// resolved. A link's target is read relative to the directory holding it.
func chain(path string) ([]place, error) {
	// Not filepath.Abs: it cleans "link/.." away, and the kernel does not.
	abs := path
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		abs = wd + string(filepath.Separator) + path
	}
	var out []place
	cur, rest := string(filepath.Separator), split(abs)
	for links := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no links left in it
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			// Not there (yet): watch for it where it would appear.
			out = append(out, place{cur, name})
			if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
			return out, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(rest) == 0 {
				out = append(out, place{cur, name})
			}
			cur = next
			continue
		}
		out = append(out, place{cur, name})
		if links++; links > maxLinks {
			return out, fmt.Errorf("%s: more than %d symbolic links (a loop?)", path, maxLinks)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return out, err
		}
		if filepath.IsAbs(target) {
			cur = string(filepath.Separator)
		}
		rest = append(split(target), rest...)
	}
	return out, nil
}

func split(path string) []string {
	return strings.Split(filepath.ToSlash(path), "/")
}
