package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// State is the outcome the agent last recorded for a patch.
type State string

// The states of format 1. A new state needs a new format number, because an
// older agent reconciling against a state it does not know could undo it.
const (
	Applied  State = "applied"
	Reverted State = "reverted"
	Refused  State = "refused"
	Failed   State = "failed"
)

func (s State) known() bool {
	switch s {
	case Applied, Reverted, Refused, Failed:
		return true
	}
	return false
}

// Timings are how long each step of handling a patch took, one after the
// other: from the file's first event to the start of the read (the watcher
// waiting for the file to settle, then the agent's queue), the read (copy,
// hash, signature, manifest), the checks against the binary and policy,
// opening the plugin, writing the jumps. On disk they are integer
// nanoseconds, so that no reader has to parse Go duration strings.
type Timings struct {
	Settle       time.Duration `json:"settle_ns,omitempty"`
	Read         time.Duration `json:"read_ns,omitempty"`
	Inspect      time.Duration `json:"inspect_ns,omitempty"`
	Open         time.Duration `json:"open_ns,omitempty"`
	Apply        time.Duration `json:"apply_ns,omitempty"`
	StoppedWorld time.Duration `json:"stopped_world_ns,omitempty"`
}

// Entry is the ledger's record of one patch.
//
// An entry is keyed by ID. A file refused before its manifest could be read
// has no ID; it is keyed by File and SHA256 instead, so the two kinds of key
// never collide.
type Entry struct {
	ID          string    `json:"id"`
	Version     string    `json:"version,omitempty"`
	Sequence    int64     `json:"sequence,omitempty"`
	File        string    `json:"file"` // base name in patch_dir
	SHA256      string    `json:"sha256,omitempty"`
	Targets     []string  `json:"targets,omitempty"`
	State       State     `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Timings     Timings   `json:"timings"`
	HostBuildID string    `json:"host_build_id,omitempty"`
	PID         int       `json:"pid,omitempty"`      // process that recorded it; set by Record
	Instance    string    `json:"instance,omitempty"` // the process instance (see [Instance]); set by Record
	AppliedAt   time.Time `json:"applied_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"` // set by Record
}

type key struct{ id, file, sha256 string }

func (e *Entry) key() key {
	if e.ID != "" {
		return key{id: e.ID}
	}
	return key{file: e.File, sha256: e.SHA256}
}

func (k key) String() string {
	if k.id != "" {
		return fmt.Sprintf("id %q", k.id)
	}
	return fmt.Sprintf("file %q sha256 %q", k.file, k.sha256)
}

// validate holds for every entry Record accepts and every entry Read
// returns, so the agent never has to handle an entry it could not have
// written.
func (e *Entry) validate() error {
	if e.ID == "" && e.File == "" {
		return errors.New("entry has neither id nor file")
	}
	// File names the entry in patch_dir; a path would let a damaged ledger
	// point the agent outside it.
	if e.File != "" && (e.File == "." || e.File == ".." || strings.ContainsRune(e.File, '/') || filepath.Base(e.File) != e.File) {
		return fmt.Errorf("file %q is not a base name", e.File)
	}
	if !e.State.known() {
		return fmt.Errorf("%s: unknown state %q", e.key(), e.State)
	}
	// A time JSON cannot hold would make every later write fail.
	for _, t := range []time.Time{e.AppliedAt, e.UpdatedAt} {
		if _, err := t.MarshalJSON(); err != nil {
			return fmt.Errorf("%s: %v", e.key(), err)
		}
	}
	return nil
}

func (e Entry) clone() Entry {
	e.Targets = slices.Clone(e.Targets)
	return e
}

func compareEntries(a, b Entry) int {
	return cmp.Or(
		cmp.Compare(a.Sequence, b.Sequence),
		strings.Compare(a.ID, b.ID),
		strings.Compare(a.File, b.File),
		strings.Compare(a.SHA256, b.SHA256),
	)
}

const (
	fileName   = "ledger.json"
	lockName   = "ledger.lock"
	tempPrefix = fileName + ".tmp-"
	format     = 1
)

var (
	// ErrClosed is returned by Record after Close.
	ErrClosed = errors.New("ledger: closed")
	// ErrCorrupt is wrapped by Open and Read when ledger.json is not a
	// well-formed ledger. The file is left as it is for the operator.
	ErrCorrupt = errors.New("ledger: corrupt")
	// ErrUnsupportedFormat is wrapped by Open and Read when ledger.json was
	// written in a format this build does not know, typically by a newer
	// build. It is not ErrCorrupt: the file is fine and must not be removed.
	ErrUnsupportedFormat = errors.New("ledger: unsupported format")
	// ErrLocked is wrapped by Open when another Ledger, in this or another
	// process, has the directory open.
	ErrLocked = errors.New("ledger: locked")
)

// Ledger is an open, locked ledger. It is safe for concurrent use.
//
// Memory is the truth and the file follows it: a change is kept in memory
// even when writing it fails, and the file is written again from memory
// until a write succeeds (the flusher, flush.go). So a revert recorded
// while the disk is full is not undone by the next successful write.
type Ledger struct {
	dir  string
	path string

	// Aside is set by Open when ledger.json could not be used and was moved
	// aside: the error, and where the file is now. The ledger then starts
	// empty, and the agent rebuilds the state from the patch directory.
	Aside error

	closeOnce sync.Once
	mu        sync.Mutex
	lock      *os.File // nil once closed
	entries   map[key]Entry
	f         flushState
}

// Open opens the ledger in dir for writing, creating dir (mode 0700) if it
// is missing, and loads ledger.json if present. It fails with ErrLocked if
// another Ledger holds dir. A ledger.json that cannot be used (ErrCorrupt,
// ErrUnsupportedFormat) never stops a service from starting: it is renamed
// to ledger.json.bad-TIME, kept for the operator, and reported in Aside.
func Open(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	lock, err := acquire(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	l := &Ledger{dir: dir, path: filepath.Join(dir, fileName), lock: lock, entries: map[key]Entry{}}
	if err := removeTemps(dir); err != nil {
		lock.Close()
		return nil, err
	}
	entries, err := readFile(l.path)
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupportedFormat) {
		l.Aside = moveAside(l.path, err)
		entries, err = []Entry{}, nil
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, e := range entries {
		l.entries[e.key()] = e
	}
	l.startFlusher()
	return l, nil
}

// Read returns the entries of the ledger in dir, sorted as by
// [Ledger.Entries], without taking the lock, so it may run while an agent
// writes. A missing directory or ledger.json is an empty ledger: the agent
// has not recorded anything yet.
func Read(dir string) ([]Entry, error) {
	return readFile(filepath.Join(dir, fileName))
}

// Record inserts e, or replaces the entry with the same key (see [Entry]),
// setting its PID and Instance to this process and its UpdatedAt to now.
// The replaced entry is dropped whole: fields of the old entry that e
// leaves empty are not carried over.
//
// An entry is on disk when Record returns nil, but for one: a refusal of a
// file whose manifest could not be read (no ID: junk, a truncated copy) may
// be batched with the ones that follow it, as a flood of junk files must
// not cost one rewrite of the file each. It is written within
// [BatchDelay]. Losing it to a crash loses nothing the agent needs; the
// file is read and refused again at the next start.
//
// An error means the change is in memory but not on disk yet; the flusher
// keeps trying, and [Ledger.OnFlush] hears of the outcome.
func (l *Ledger) Record(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return ErrClosed
	}
	if err := e.validate(); err != nil {
		return fmt.Errorf("ledger: record: %w", err)
	}
	e = e.clone()
	// Normalize so that the entry in memory is exactly what Read will
	// return from the file: JSON drops empty lists and zones.
	if len(e.Targets) == 0 {
		e.Targets = nil
	}
	if !e.AppliedAt.IsZero() {
		e.AppliedAt = e.AppliedAt.UTC()
	}
	e.PID = os.Getpid()
	e.Instance = Instance()
	e.UpdatedAt = time.Now().UTC() // UTC also drops the monotonic reading, which JSON cannot hold
	l.entries[e.key()] = e
	l.f.dirty = true
	if e.State == Refused && e.ID == "" && l.batching() {
		l.kick()
		return nil
	}
	if err := l.flushLocked(); err != nil {
		return fmt.Errorf("ledger: record %s: %w", e.key(), err)
	}
	return nil
}

// KeepGone is how many refusals of junk files that are gone Compact keeps,
// the most recent: enough for an operator, or the fleet playbook (which
// removes a file its host refused), to read why; not a ledger that grows
// with every junk file ever dropped.
const KeepGone = 100

// Compact drops the refusals made before a file's manifest could be read
// (no patch ID: junk, a truncated copy, a bad signature) whose file is no
// longer in patch_dir, but the KeepGone most recent. Every entry with a
// patch ID stays. The change is batched as such a refusal is.
func (l *Ledger) Compact(present func(file string) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return
	}
	var gone []Entry
	for _, e := range l.entries {
		if e.ID == "" && e.State == Refused && !present(e.File) {
			gone = append(gone, e)
		}
	}
	if len(gone) <= KeepGone {
		return
	}
	slices.SortFunc(gone, func(a, b Entry) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	for _, e := range gone[KeepGone:] {
		delete(l.entries, e.key())
	}
	l.f.dirty = true
	l.kick()
}

// sorted returns the entries in the order of [Ledger.Entries]; the caller
// holds mu.
func (l *Ledger) sorted() []Entry {
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.clone())
	}
	slices.SortFunc(out, compareEntries)
	return out
}

// Entries returns a copy of the entries, sorted by Sequence, then ID, then
// File (then SHA256). It returns nil after Close, and a non-nil slice
// otherwise, so that an empty ledger prints as [] in JSON.
func (l *Ledger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return nil
	}
	return l.sorted()
}

// Lookup returns a copy of the entry with the given patch ID. Entries
// without an ID cannot be looked up this way. It reports false after Close.
func (l *Ledger) Lookup(id string) (Entry, bool) {
	if id == "" {
		return Entry{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return Entry{}, false
	}
	e, ok := l.entries[key{id: id}]
	return e.clone(), ok
}

// Path returns the path of ledger.json, also after Close.
func (l *Ledger) Path() string { return l.path }

// Close releases the lock; another Open may then take the directory. It is
// safe on a nil *Ledger, and a second call does nothing and returns nil. It
// waits for a Record in progress to finish, and writes what is batched.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.lock == nil {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	l.closeOnce.Do(func() { close(l.f.stop) })
	<-l.f.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return nil
	}
	ferr := l.flushLocked()
	// flock(2) locks belong to the open file description; this is its only
	// descriptor (Go opens files close-on-exec, so no child inherited it),
	// so closing it releases the lock.
	err := l.lock.Close()
	l.lock = nil
	l.entries = nil
	if err = errors.Join(ferr, err); err != nil {
		return fmt.Errorf("ledger: close: %w", err)
	}
	return nil
}
