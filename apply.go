package hotfix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher"
	"github.com/gohotfix/hotfix/policy"
)

// ready handles a complete patch file: read it, decide what to do with it
// (decide.go), and do it.
func (a *Agent) ready(path string, settle time.Duration, first time.Time) {
	r, ok := a.read(path, settle, first)
	if !ok {
		return
	}
	defer r.f.Close() // the private copy, unless it was opened
	base, m := filepath.Base(path), r.f.Manifest
	prevSHA := ""
	if prev := a.files[path]; prev != nil {
		prevSHA = prev.sha
	}
	known := a.patches[m.ID]
	act, replaced := decide(prevSHA, r.f.SHA256, know(known, r.f.SHA256))
	if act == ignoreTouched {
		a.files[path].id = r.key
		return
	}
	if replaced {
		a.forgetFile(path) // rewritten in place: the old patch goes first
	}
	fs := &fileState{id: r.key, sha: r.f.SHA256, patch: m.ID}
	a.files[path] = fs
	switch act {
	case refuseIDClash:
		fs.patch = ""
		// Recorded under the file, not the ID: the ID's entry belongs to
		// the patch that is loaded.
		other := m
		other.ID = ""
		a.record(base, &other, r.f.SHA256, r.tm, ledger.Refused,
			fmt.Errorf("patch ID %s is already loaded from other bytes (%s); build a new patch instead of changing one", m.ID, known.file))
	case refuseFailedOpen:
		fs.patch = ""
		a.record(base, &m, r.f.SHA256, r.tm, ledger.Refused,
			fmt.Errorf("patch %s failed to open earlier in this process; a plugin is opened at most once", m.ID))
	case ignoreDuplicate:
		a.log.Info("same patch under another name; already applied", "file", base, "patch", m.ID, "reason", "duplicate of "+known.file)
	case admitReapply:
		a.admitApply(path, fs, r, known)
	case admitOpen:
		a.admitApply(path, fs, r, nil)
	}
}

// readFile is a patch file read whole, with when and how it was read.
type readFile struct {
	f     *loader.File
	key   fileKey
	tm    ledger.Timings
	t0    time.Time
	first time.Time // the file's first event; zero when not from an event
}

// read reads a patch file through the read's checks (file rules, size,
// signature and trust, manifest, on the descriptor the bytes come from).
// It reports false when there is nothing more to do now: the file is gone,
// unchanged, still being written, or refused (recorded here).
func (a *Agent) read(path string, settle time.Duration, first time.Time) (readFile, bool) {
	base := filepath.Base(path)
	st, err := os.Lstat(path)
	if err != nil {
		return readFile{}, false // gone again before we got to it
	}
	r := readFile{key: fileKeyOf(st), tm: ledger.Timings{Settle: settle}, t0: time.Now(), first: first}
	if !first.IsZero() {
		r.tm.Settle = r.t0.Sub(first) // with the time in the agent's queue
	}
	if prev := a.files[path]; prev != nil && prev.id == r.key {
		return readFile{}, false // reported again with nothing changed
	}
	pol := a.policy()
	r.f, err = loader.ReadPatch(pol.PatchDir, base, loader.ReadOptions{MaxBytes: pol.Limits.MaxFileBytes, Trust: pol.TrustSigner, Stage: loadedDir(pol)})
	r.tm.Read = time.Since(r.t0)
	if changedSince(path, r.key) {
		r.f.Close()
		// Written to while we read it, in place: the bytes read may mix two
		// versions, and an in-place rewrite keeps a valid trailer all along.
		// The watcher reports it again once it has settled.
		a.log.Info("patch file changed while being read; reading it again once it settles", "file", base)
		a.patchW.Again(path)
		return readFile{}, false
	}
	if err != nil {
		a.forgetFile(path)
		a.files[path] = &fileState{id: r.key}
		a.record(base, nil, loader.SHA256Of(err), r.tm, ledger.Refused, admit.ReadRefusal(err))
		return readFile{}, false
	}
	return r, true
}

// admitApply runs every check under the policy in force now, also for a
// patch dropped again after a revert (the policy may have changed since),
// then re-applies the loaded copy (plugins never unload) or opens the
// patch and applies it.
func (a *Agent) admitApply(path string, fs *fileState, r readFile, loaded *patchState) {
	base, m := filepath.Base(path), r.f.Manifest
	t0 := time.Now()
	p, err := a.admit(r.f, path, loaded == nil)
	r.tm.Inspect = time.Since(t0)
	if err != nil {
		fs.patch = ""
		a.record(base, &m, r.f.SHA256, r.tm, ledger.Refused, err)
		return
	}
	if loaded != nil {
		loaded.file = base
		a.apply(loaded, r.tm, time.Now(), r.first)
		return
	}
	t1 := time.Now()
	ps := &patchState{manifest: m, sha: r.f.SHA256, file: base}
	a.patches[m.ID] = ps
	a.opened++
	ps.loaded, err = loader.Open(p, loadedDir(a.policy()))
	r.tm.Open = time.Since(t1)
	if err != nil {
		a.record(base, &m, r.f.SHA256, r.tm, ledger.Failed, err)
		return
	}
	a.apply(ps, r.tm, time.Now(), r.first)
}

// admit runs the admission pipeline (after the read) with the live code
// and the agent's view: what is applied, and, for a patch not loaded yet,
// how many plugins are.
func (a *Agent) admit(f *loader.File, path string, notLoaded bool) (*loader.Patch, error) {
	if a.selfErr != nil {
		return nil, &admit.Refusal{Step: admit.StepBuild, Err: a.selfErr}
	}
	pol := a.policy()
	c := admit.Checks{
		Binary: a.self, Policy: pol,
		Shape: func(fn loader.Func) error {
			_, err := a.patcher.Plan(fn.Name, fn.From, fn.AsyncSafe)
			return err
		},
	}
	if notLoaded {
		c.Loaded, c.Max = a.opened, pol.Limits.MaxPatches
	}
	return c.Admit(f, path)
}

// apply writes the jumps of a loaded patch. first is the file's first
// event (zero when the file did not come from one), for drop-to-live.
//
// Overlapping patches follow one rule, live and at start-up alike: each
// function runs the code of the applied patch with the highest sequence
// that replaces it. A patch is applied whole; where a newer one holds a
// function, the older one's layer waits beneath it (patcher.ApplyRanked)
// and runs when the newer one is reverted. Same directory, same code,
// whatever order the files came in.
func (a *Agent) apply(ps *patchState, tm ledger.Timings, t0, first time.Time) {
	rs := make([]patcher.Redirect, 0, len(ps.loaded.Funcs))
	for _, f := range ps.loaded.Funcs {
		rs = append(rs, patcher.Redirect{Func: f.Name, From: f.From, To: f.To, AsyncSafe: f.AsyncSafe})
	}
	st, err := a.patcher.ApplyRanked(ps.manifest.ID, ps.manifest.Sequence, rs)
	tm.Apply, tm.StoppedWorld = time.Since(t0), st.Pause
	if err != nil {
		a.record(ps.file, &ps.manifest, ps.sha, tm, ledger.Failed, err)
		return
	}
	if st.Warn != nil {
		a.log.Warn("page protection not restored", "patch", ps.manifest.ID, "reason", st.Warn)
	}
	ps.applied = true
	if !first.IsZero() {
		a.mu.Lock()
		a.obs.dropToLive.observe(time.Since(first))
		a.mu.Unlock()
	}
	a.record(ps.file, &ps.manifest, ps.sha, tm, ledger.Applied, nil)
	a.logCallsInProgress(ps, false)
}

// logCallsInProgress logs the functions of ps with calls in progress in
// the code just left: the release's after an apply, the patch's after a
// revert.
func (a *Agent) logCallsInProgress(ps *patchState, reverted bool) {
	where, entries := "the release's code", map[uintptr]string{}
	if reverted {
		where = "the patch's code"
	}
	for _, f := range ps.loaded.Funcs {
		entry := f.From
		if reverted {
			entry = f.To
		}
		entries[entry] = f.Name
	}
	if n := callsInProgress(entries); len(n) > 0 {
		a.log.Info("calls in progress finish in "+where, "patch", ps.manifest.ID, "goroutines", inflightText(n))
	}
}

// loadedDir is where patches are copied as they are read and opened from:
// a directory only this service can change (loader.ReadOptions.Stage).
func loadedDir(pol *policy.Policy) string { return filepath.Join(pol.StateDir, "loaded") }

// forgetFile reverts the patch a deleted (or rewritten) file held, unless
// another file in the directory still holds the same patch.
func (a *Agent) forgetFile(path string) {
	fs := a.files[path]
	delete(a.files, path)
	if fs == nil || fs.patch == "" {
		return
	}
	for other, o := range a.files {
		if o.patch == fs.patch {
			a.log.Info("patch file removed; the same patch stays applied from another file", "file", filepath.Base(path), "patch", fs.patch, "reason", "also in "+filepath.Base(other))
			return
		}
	}
	ps := a.patches[fs.patch]
	if ps == nil || !ps.applied {
		return
	}
	t0 := time.Now()
	st, err := a.patcher.Revert(ps.manifest.ID)
	tm := ledger.Timings{Apply: time.Since(t0), StoppedWorld: st.Pause}
	if err != nil {
		a.record(filepath.Base(path), &ps.manifest, ps.sha, tm, ledger.Failed, fmt.Errorf("revert: %w", err))
		return
	}
	ps.applied = false
	a.record(filepath.Base(path), &ps.manifest, ps.sha, tm, ledger.Reverted, nil)
	a.logCallsInProgress(ps, true)
}

// changedSince reports whether the file at path is no longer the version
// key describes (or is gone).
func changedSince(path string, key fileKey) bool {
	st, err := os.Lstat(path)
	return err != nil || fileKeyOf(st) != key
}

// record logs one decision, writes it to the ledger and updates Status.
func (a *Agent) record(file string, m *loader.Manifest, sha string, tm ledger.Timings, state ledger.State, err error) {
	e := ledger.Entry{File: file, SHA256: sha, State: state, Timings: tm}
	if a.self != nil {
		e.HostBuildID = a.self.BuildID()
	}
	if m != nil {
		e.ID, e.Version, e.Sequence = m.ID, m.Version, m.Sequence
		for _, t := range m.Targets {
			e.Targets = append(e.Targets, t.Name)
		}
	}
	fn, step := "", admit.Step("")
	if err != nil {
		e.Reason = err.Error()
		var r *admit.Refusal
		var pe *patcher.PatchError
		switch {
		case errors.As(err, &r):
			fn, step = r.Func, r.Step
		case errors.As(err, &pe):
			fn = pe.Func
		}
	}
	now := time.Now()
	if state == ledger.Applied {
		e.AppliedAt = now
	}
	// The ledger first: whoever reads the log line can rely on the ledger.
	if lerr := a.ledger.Record(e); lerr != nil {
		a.log.Error("ledger write failed", "file", a.ledger.Path(), "patch", e.ID, "reason", lerr)
	}
	attrs := []any{"file", file, "patch", e.ID}
	if fn != "" {
		attrs = append(attrs, "func", fn)
	}
	if step != "" {
		attrs = append(attrs, "step", string(step))
	}
	switch state {
	case ledger.Applied:
		attrs = append(attrs, "version", e.Version, "functions", len(e.Targets),
			"took", tm.Read+tm.Inspect+tm.Open+tm.Apply, "settle", tm.Settle, "read", tm.Read, "inspect", tm.Inspect, "open", tm.Open, "apply", tm.Apply, "stopped_world", tm.StoppedWorld)
		a.log.Info("patch applied", attrs...)
	case ledger.Reverted:
		attrs = append(attrs, "version", e.Version, "stopped_world", tm.StoppedWorld)
		a.log.Info("patch reverted", attrs...)
	case ledger.Refused:
		a.log.Warn("patch refused", append(attrs, "reason", e.Reason)...)
	default:
		a.log.Error("patch failed", append(attrs, "reason", e.Reason)...)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.obs.events[state]++
	if tm.StoppedWorld > 0 {
		a.obs.stoppedWorld.observe(tm.StoppedWorld)
	}
	a.obs.plugins = a.opened
	key := e.ID
	if key == "" {
		key = "file:" + file
	}
	s := &PatchStatus{ID: e.ID, Version: e.Version, File: file, FileBytes: ledger.FileBytes(file), SHA256: sha, Functions: e.Targets, State: state, Reason: e.Reason, UpdatedAt: now}
	if old, ok := a.status[key]; ok && state != ledger.Applied {
		s.AppliedAt = old.AppliedAt
	}
	if old, ok := a.status[key]; ok && (state == ledger.Applied || state == ledger.Failed) {
		// Still running on a signer the policy no longer trusts (a failed
		// revert leaves the code in place): keep saying so until a reload
		// decides again.
		s.Revoked = old.Revoked
	}
	if state == ledger.Applied {
		s.AppliedAt = now
	}
	a.status[key] = s
}
