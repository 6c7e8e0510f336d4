package loader

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mapT maps the first page of the file at path read-only, as dlopen maps
// a plugin's code, until the test ends.
func mapT(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s to map it: %v", path, err)
	}
	defer f.Close()
	b, err := syscall.Mmap(int(f.Fd()), 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("map %s: %v", path, err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	return b
}

// Issue 8: state_dir/loaded keeps only the copies this process maps.
func TestRemoveUnmapped(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "loaded")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte{0x7f}, os.Getpagesize())
	files := map[string]bool{ // name -> kept
		"p1-0123456789abcdef.so": false, // opened by a process that ended
		".read-123456":           false, // staged by a process that ended
		"p2-fedcba9876543210.so": true,  // a plugin this process loaded
		"p3-00112233aabbccdd.so": true,  // the same, mapped through a link to dir
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), page, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mapT(t, filepath.Join(dir, "p2-fedcba9876543210.so"))
	link := filepath.Join(state, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	mapT(t, filepath.Join(link, "p3-00112233aabbccdd.so"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}

	// Twice: a second Start in the same process finds the same mappings.
	for range 2 {
		if err := RemoveUnmapped(link); err != nil {
			t.Fatalf("remove unmapped: %v", err)
		}
		for name, kept := range files {
			_, err := os.Stat(filepath.Join(dir, name))
			if got := err == nil; got != kept {
				t.Errorf("%s: exists %v, want %v (%v)", name, got, kept, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err != nil {
		t.Errorf("a directory in loaded was removed: %v", err)
	}
	if err := RemoveUnmapped(filepath.Join(state, "nosuch")); err != nil {
		t.Errorf("no loaded dir yet: %v", err)
	}
}

// The experiment behind keeping only mapped copies and removing the
// rest without asking other processes: unlinking a mapped file leaves
// the mapping readable (the inode lives until the last mapping goes),
// so even a copy removed under a live plugin would not break its code;
// it would only lose its path in /proc/PID/maps for profilers.
func TestUnlinkedMappingStaysReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.so")
	want := bytes.Repeat([]byte("code"), os.Getpagesize()/4)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	b := mapT(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("the mapping changed when its file was removed")
	}
	m, err := readMappings()
	if err != nil {
		t.Fatalf("read mappings: %v", err)
	}
	if !m.paths[path] {
		t.Errorf("%s not among the mapped paths after unlink (maps marks it \" (deleted)\")", path)
	}
}

// A copy whose plugin.Open failed is not needed: Open removes it. The
// runtime's error names the file, here with an escape sequence in its
// directory: it reaches the ledger escaped (issue 22).
func TestOpenFailureRemovesCopy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "loaded\x1b[2J")
	garbage := []byte("not an ELF file")
	p := &Patch{
		File:    &File{Manifest: testManifest(), SHA256: strings.Repeat("ab", 32), elf: io.NewSectionReader(bytes.NewReader(garbage), 0, int64(len(garbage)))},
		plugImg: &image{objects: map[string]uint64{}},
	}
	_, err := Open(p, dir)
	if err == nil {
		t.Fatal("plugin.Open of a file that is no ELF succeeded")
	}
	if strings.Contains(err.Error(), "\x1b") {
		t.Errorf("Open's error holds ESC raw: %q", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("loaded dir after a failed Open holds %v, want nothing", left)
	}
}
