//go:build unix

package watcher

import (
	"io/fs"
	"syscall"
)

// inode returns the device and inode numbers, so that a file replaced by
// rename (same name, size and mtime) still counts as a new version.
func inode(fi fs.FileInfo) (dev, ino uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Dev), uint64(st.Ino)
}
