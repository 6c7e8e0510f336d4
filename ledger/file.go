package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

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

// moveAside renames a ledger file that cannot be used to name.bad-TIME,
// beside it, and returns the error to report. If even the rename fails,
// the next write replaces the file: a service that cannot start is worse
// than a lost record of what an earlier process did.
func moveAside(path string, cause error) error {
	aside := path + ".bad-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("%w; could not move it aside (%v): it will be overwritten", cause, err)
	}
	return fmt.Errorf("%w; moved to %s, the state is rebuilt from the patch directory", cause, aside)
}
