//go:build !linux

package hotfix

import "io/fs"

// fileKeyOf identifies one version of a patch file by size and mtime only:
// the agent applies patches on Linux alone (patcher), elsewhere it refuses.
func fileKeyOf(fi fs.FileInfo) fileKey {
	return fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
