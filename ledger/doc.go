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
// Memory is the truth and the file follows it. An entry is on disk before
// Record returns, but for refusals of files without a readable manifest
// (junk), which in a flood are written in batches (BatchDelay): junk in the
// patch directory costs one rewrite per batch, not one per file; Compact
// keeps only the KeepGone most recent of those whose file is gone. A write
// that fails (a full disk) keeps the change in memory and is retried with
// backoff until it succeeds.
//
// A file name is written exactly: a name that is not UTF-8 also goes,
// base64, in file_bytes. Each entry names the process instance that wrote
// it (Instance, 128 random bits): a PID repeats across restarts, most of
// all in a container, where the service is PID 1.
//
// A ledger.json that cannot be read never stops a service from starting:
// Open moves it aside, to ledger.json.bad-TIME, and starts empty.
//
// Every write replaces the whole file: the new contents go to a temporary
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
