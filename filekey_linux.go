package hotfix

import (
	"io/fs"
	"syscall"
)

// fileKeyOf identifies one version of a patch file. Size and mtime alone
// do not: a different patch of the same size can take the name by rename
// (a new inode) or be written in place with its mtime set back (utimes),
// and neither may leave the agent running, and reporting, the old bytes.
// The change time cannot be set back by anyone but the clock.
func fileKeyOf(fi fs.FileInfo) fileKey {
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
		k.ctime = st.Ctim.Nano()
	}
	return k
}
