// Package watcher reports when files in one directory are complete and when
// they are gone.
//
// It wraps fsnotify, which on Linux reports a file being copied only as a
// stream of Create and Write events: inotify's close-write is not exported by
// fsnotify v1.10, and a close-write would not mean "complete" anyway, because
// scp or a user's editor may write a file through several opens. A file is
// therefore taken to be complete when its size and modification time have not
// changed for [Config.Quiet], or earlier when the caller's [Config.Complete]
// says so (for example because a trailer is present at the end of the file).
//
// The watcher knows nothing about what the files contain. It sends [Ready]
// once per complete version of a file and [Removed] when a file it reported
// is deleted or renamed away, or when the directory itself goes (it then
// waits for the directory to come back and rescans it). Files it never
// reported disappear silently. A version is the file's device, inode, size
// and modification time, except that a change of attributes alone (chmod,
// touch, the utimes of scp -p) with no write is not a new version. An empty
// file is never complete: copy tools create the file before the first byte
// arrives, and a stalled transfer must not look finished.
//
// Names are filtered by [Config.Match]; the default, [MatchPatch], accepts
// "*.so" and skips the temporary names that copy tools use (dotfiles as
// written by rsync, "*.part", "*.tmp"), so that a file written under a
// temporary name and renamed into place is seen once, under its final name.
//
// One goroutine owns all state. It debounces each path the way fsnotify's
// cmd/fsnotify/dedup.go does (every write restarts that path's wait), but
// keeps each path's schedule as plain state polled on one shared timer,
// rather than a timer or goroutine per file, so that rounds are decided in
// the order they started. It never blocks on the reader of [Watcher.Events]:
// events wait in an internal queue, in order.
package watcher
