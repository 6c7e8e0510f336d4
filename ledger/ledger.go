package ledger

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
	PID         int       `json:"pid,omitempty"` // process that recorded it; set by Record
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

// Ledger is an open, locked ledger. It is safe for concurrent use; Record
// calls are serialized and each one blocks until its change is on disk.
type Ledger struct {
	dir  string
	path string

	mu      sync.Mutex
	lock    *os.File // nil once closed
	entries []Entry  // sorted; shared with no caller
}

// Open opens the ledger in dir for writing, creating dir (mode 0700) if it
// is missing, and loads ledger.json if present. It fails with ErrLocked if
// another Ledger holds dir, and with ErrCorrupt or ErrUnsupportedFormat if
// ledger.json cannot be used; it never discards an existing file.
func Open(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	lock, err := acquire(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	l := &Ledger{dir: dir, path: filepath.Join(dir, fileName), lock: lock}
	if err := removeTemps(dir); err != nil {
		lock.Close()
		return nil, err
	}
	l.entries, err = readFile(l.path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

// removeTemps deletes temporary files left by a writer killed between
// creating and renaming one. Only the lock holder creates them, so none of
// them can belong to a live writer.
func removeTemps(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil {
				return fmt.Errorf("ledger: remove leftover temporary file: %w", err)
			}
		}
	}
	return nil
}

// Read returns the entries of the ledger in dir, sorted as by
// [Ledger.Entries], without taking the lock, so it may run while an agent
// writes. A missing directory or ledger.json is an empty ledger: the agent
// has not recorded anything yet.
func Read(dir string) ([]Entry, error) {
	return readFile(filepath.Join(dir, fileName))
}

func readFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return decode(path, data)
}

// fileV1 is the on-disk form of format 1.
type fileV1 struct {
	Format  int     `json:"format"`
	Entries []Entry `json:"entries"`
}

// decode parses a ledger file. It is the only code that reads bytes a crash,
// a full disk or an operator's editor may have damaged, so it checks
// everything Record guarantees and never panics.
func decode(path string, data []byte) ([]Entry, error) {
	corrupt := func(msg string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, path, fmt.Sprintf(msg, args...))
	}
	// Check the format before the entries: a newer format may shape them
	// differently, and that must read as "too new", not as "corrupt".
	var head struct {
		Format  *int            `json:"format"`
		Entries json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, corrupt("%v", err)
	}
	if head.Format == nil {
		return nil, corrupt("no format number")
	}
	if *head.Format != format {
		return nil, fmt.Errorf("%w: %s: format %d, this build reads format %d", ErrUnsupportedFormat, path, *head.Format, format)
	}
	var entries []Entry
	if len(head.Entries) > 0 {
		if err := json.Unmarshal(head.Entries, &entries); err != nil {
			return nil, corrupt("entries: %v", err)
		}
	}
	seen := make(map[key]bool, len(entries))
	for i := range entries {
		e := &entries[i]
		if err := e.validate(); err != nil {
			return nil, corrupt("entry %d: %v", i, err)
		}
		k := e.key()
		if seen[k] {
			return nil, corrupt("entry %d: duplicate %s", i, k)
		}
		seen[k] = true
		// Record could not write a time that does not encode; rejecting it
		// here keeps a damaged file from making every later Record fail.
		for _, t := range []time.Time{e.AppliedAt, e.UpdatedAt} {
			if _, err := t.MarshalJSON(); err != nil {
				return nil, corrupt("entry %d: %v", i, err)
			}
		}
		if len(e.Targets) == 0 {
			e.Targets = nil
		}
	}
	if entries == nil {
		entries = []Entry{}
	}
	slices.SortFunc(entries, compareEntries)
	return entries, nil
}

func encode(entries []Entry) ([]byte, error) {
	if entries == nil {
		entries = []Entry{}
	}
	data, err := json.MarshalIndent(fileV1{Format: format, Entries: entries}, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Record inserts e, or replaces the entry with the same key (see [Entry]),
// setting its PID to this process and its UpdatedAt to now, and returns once
// the new ledger is on disk. The replaced entry is dropped whole: fields of
// the old entry that e leaves empty are not carried over.
//
// If Record fails, the in-memory ledger is as it was before the call. A
// failure after the rename (fsync of the directory) may leave the new file in
// place; it is overwritten from memory by the next successful Record.
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
	e.UpdatedAt = time.Now().UTC() // UTC also drops the monotonic reading, which JSON cannot hold

	k := e.key()
	next := make([]Entry, 0, len(l.entries)+1)
	for _, old := range l.entries {
		if old.key() != k {
			next = append(next, old)
		}
	}
	next = append(next, e)
	slices.SortFunc(next, compareEntries)

	data, err := encode(next)
	if err != nil {
		return fmt.Errorf("ledger: record %s: %w", k, err)
	}
	if err := writeAtomic(l.dir, l.path, data); err != nil {
		return fmt.Errorf("ledger: record %s: %w", k, err)
	}
	l.entries = next
	return nil
}

// writeAtomic replaces path with data so that a reader sees either the old
// or the new complete file whenever the writer dies.
func writeAtomic(dir, path string, data []byte) error {
	// Same directory as path: rename(2) is atomic only within one file system.
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := writeSync(f, data); err != nil {
		os.Remove(tmp)
		return err
	}
	// Without the fsync before the rename, a power cut could leave the new
	// name pointing at a file whose data never reached the disk.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename lives in the directory; until the directory is synced a
	// power cut may bring the old file back.
	return syncDir(dir)
}

func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
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
	out := make([]Entry, len(l.entries))
	for i, e := range l.entries {
		out[i] = e.clone()
	}
	return out
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
	for _, e := range l.entries {
		if e.ID == id {
			return e.clone(), true
		}
	}
	return Entry{}, false
}

// Path returns the path of ledger.json, also after Close.
func (l *Ledger) Path() string { return l.path }

// Close releases the lock; another Open may then take the directory. It is
// safe on a nil *Ledger, and a second call does nothing and returns nil. It
// waits for a Record in progress to finish.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return nil
	}
	// flock(2) locks belong to the open file description; this is its only
	// descriptor (Go opens files close-on-exec, so no child inherited it),
	// so closing it releases the lock.
	err := l.lock.Close()
	l.lock = nil
	l.entries = nil
	if err != nil {
		return fmt.Errorf("ledger: close: %w", err)
	}
	return nil
}
