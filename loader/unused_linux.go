package loader

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// RemoveUnmapped removes every file in dir (state_dir/loaded) that this
// process has not mapped: the copies a process that ended opened or
// staged, and copies whose plugin.Open failed. It keeps the copies of the
// plugins this process loaded (an Agent started again after Close):
// plugins never unload, and profilers and debuggers read their code from
// the path in /proc/self/maps. The caller must be the only user of dir,
// as the agent is while it holds the ledger lock. When the mappings cannot
// be read, only the staged copies go. It returns the first error met.
func RemoveUnmapped(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	m, err := readMappings()
	if err != nil {
		return errors.Join(err, removeStaged(dir))
	}
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if e.IsDir() || m.has(name) {
			continue
		}
		if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	return err
}

// removeIfUnmapped removes the private copy name after a failed
// plugin.Open, unless the dynamic loader kept it mapped (the runtime's
// checks fail after dlopen succeeded, and nothing is unloaded).
func removeIfUnmapped(name string) {
	if m, err := readMappings(); err == nil && !m.has(name) {
		os.Remove(name)
	}
}

// mappings are the files mapped into this process, by path and by inode.
type mappings struct {
	paths  map[string]bool
	inodes map[uint64]bool
}

// readMappings parses /proc/self/maps (proc(5)): "address perms offset
// dev inode pathname", the path marked " (deleted)" once unlinked.
func readMappings() (*mappings, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := &mappings{paths: map[string]bool{}, inodes: map[uint64]bool{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 6)
		if len(fields) < 6 {
			continue
		}
		ino, err := strconv.ParseUint(fields[4], 10, 64)
		if err != nil || ino == 0 {
			continue // anonymous memory, [heap], [stack]
		}
		m.inodes[ino] = true
		path := strings.TrimSuffix(strings.TrimLeft(fields[5], " "), " (deleted)")
		m.paths[path] = true
	}
	return m, sc.Err()
}

// has reports whether the file at path is mapped. The inode alone
// decides when the path does not match: the path in maps is resolved
// through links, and on overlayfs maps names the underlying file's device
// (ovl_mmap maps the real file) while stat names the overlay's. A stale
// copy that shares an inode number with a mapped file on another device
// is kept: keeping costs disk, removing a live plugin's file costs its
// symbols to a profiler.
func (m *mappings) has(path string) bool {
	if m.paths[path] {
		return true
	}
	if real, err := filepath.EvalSymlinks(path); err == nil && m.paths[real] {
		return true
	}
	st, err := os.Lstat(path)
	if err != nil {
		return false
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	return !ok || m.inodes[s.Ino]
}
