// Package ledger is the crash-safe record of which patches this process has
// applied, reverted, refused or failed, kept so that the agent can reconcile
// the patch directory (the desired state) with what actually happened (the
// actual state) after a restart, and so that `hotfix status` can report it
// from another process.
//
// The record is one JSON file, ledger.json, in the policy's state_dir:
//
//	{"format": 1, "entries": [{"id": "...", "file": "fix.so", "state": "applied", ...}]}
//
// The format number changes only for incompatible changes; fields added
// within a format are ignored by older readers, and a reader refuses a format
// it does not know with [ErrUnsupportedFormat] rather than guessing.
//
// Every change replaces the whole file: the new contents go to a temporary
// file in the same directory, which is fsynced, renamed over ledger.json, and
// then the directory is fsynced. rename(2) within one file system is atomic,
// so a reader sees either the old or the new complete file even when the
// writer is killed with SIGKILL half way; a temporary file left behind by
// such a writer is never read and is removed by the next [Open].
//
// One process writes a ledger at a time: [Open] takes an exclusive flock(2)
// on ledger.lock in the same directory and writes its PID there so that a
// second writer can say who holds it. [Read] takes no lock, so status
// queries never wait for, or block, the agent.
package ledger
