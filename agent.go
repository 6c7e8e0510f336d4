package hotfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher"
	"github.com/gohotfix/hotfix/policy"
	"github.com/gohotfix/hotfix/watcher"
)

// ErrClosed is returned by methods of an Agent after Close.
var ErrClosed = errors.New("hotfix: agent closed")

// Config configures an Agent.
type Config struct {
	// PolicyPath is the hotfix.yaml file. Required; the environment
	// variable HOTFIX_POLICY overrides it when set.
	PolicyPath string
	// Logger receives one record per decision. Nil means slog.Default().
	Logger *slog.Logger
}

// State is where a patch stands in this process; the ledger records the
// same states.
type State = ledger.State

// The states of a patch.
const (
	StateApplied  = ledger.Applied
	StateReverted = ledger.Reverted
	StateRefused  = ledger.Refused
	StateFailed   = ledger.Failed
)

// PatchStatus describes one patch the agent has seen in this process.
// The JSON names are those of `hotfix status -json`.
type PatchStatus struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	File    string `json:"file"` // base name in the patch directory
	// FileBytes is File, exactly, when it is not UTF-8: a JSON string
	// would carry U+FFFD for each bad byte, and two names could read the
	// same. Base64 in JSON; nil for every other name.
	FileBytes []byte    `json:"file_bytes,omitempty"`
	SHA256    string    `json:"sha256"`
	Functions []string  `json:"functions"`
	State     State     `json:"state"`
	Reason    string    `json:"reason"` // why it was refused or failed
	AppliedAt time.Time `json:"applied_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
	// Revoked says why the policy in force no longer trusts the signer of
	// this applied patch, which keeps running (trust.on_revoked_key: keep);
	// empty while it is trusted. Set on each policy reload (revoke.go).
	Revoked string `json:"revoked,omitempty"`
}

// Agent applies the patches of one directory to the running process.
// Its methods are safe for concurrent use.
type Agent struct {
	log     *slog.Logger
	polPath string
	polSum  string // SHA-256 of the policy file in force; owned by the loop

	mu     sync.Mutex // guards status, pol and obs for readers outside the loop
	status map[string]*PatchStatus
	pol    *policy.Policy
	obs    observations

	ledger  *ledger.Ledger
	patcher *patcher.Patcher
	self    *loader.Binary
	selfErr error

	patchW    *watcher.Watcher
	policyW   *watcher.Follower
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once

	// signers caches who signed each applied patch, by the file's SHA-256,
	// for the trust re-check of a policy reload; owned by the loop.
	signers map[string]signer

	// Owned by the loop goroutine (and by Start before it runs).
	files    map[string]*fileState  // path -> what it holds
	patches  map[string]*patchState // patch ID -> state in this process
	deferred []string               // files Start left to the loop: no manifest
	opened   int                    // plugins opened in this process
}

// patchQuiet is how long a patch file without its trailer must go
// unwritten before the watcher reports it: a copy that pauses is not over.
// A file whose trailer is in place is read at once; one that stays without
// a trailer for 4×patchQuiet (the watcher's Stalled) is read and refused
// as truncated.
const patchQuiet = 250 * time.Millisecond

type fileState struct {
	id    fileKey
	sha   string
	patch string // patch ID, "" when refused before the manifest was read
}

// fileKey is one version of a patch file (fileKeyOf).
type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

type patchState struct {
	manifest loader.Manifest
	sha      string
	file     string
	loaded   *loader.Loaded
	applied  bool
}

// Start reads the policy, applies every patch already in the patch
// directory in manifest sequence order, and returns; the agent then keeps
// watching the directory and the policy file until ctx ends or Close is
// called. Start fails only when the policy file or the patch or state
// directory is unusable; a bad patch is logged, recorded and refused.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	path := cfg.PolicyPath
	if env := os.Getenv("HOTFIX_POLICY"); env != "" {
		path = env
	}
	if path == "" {
		return nil, errors.New("hotfix: Config.PolicyPath is required (or set HOTFIX_POLICY)")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "hotfix")
	polSum := fileSum(path)
	pol, err := policy.Load(path)
	if err != nil {
		return nil, fmt.Errorf("hotfix: policy: %w", err)
	}
	if err := usableDir(pol.PatchDir, 0o755); err != nil {
		return nil, fmt.Errorf("hotfix: patch_dir %s: %w", pol.PatchDir, err)
	}
	if err := usableDir(pol.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("hotfix: state_dir %s: %w", pol.StateDir, err)
	}
	led, err := openLedger(pol.StateDir, log)
	if err != nil {
		return nil, fmt.Errorf("hotfix: state_dir %s: %w", pol.StateDir, err)
	}
	loader.RemoveUnmapped(loadedDir(pol)) // a copy it fails to remove costs disk, not correctness
	a := &Agent{
		log: log, polPath: path, polSum: polSum,
		status: map[string]*PatchStatus{}, pol: pol, obs: newObservations(),
		ledger: led, patcher: patcher.New(),
		done:  make(chan struct{}),
		files: map[string]*fileState{}, patches: map[string]*patchState{},
	}
	a.self, a.selfErr = loader.Self()
	if a.selfErr == nil {
		a.selfErr = patcher.Built()
	}
	if a.selfErr != nil {
		log.Error("this binary cannot take patches; every patch will be refused", "reason", a.selfErr)
	} else {
		if err := patcher.SelfTest(); err != nil {
			log.Warn("functions that need the parked-goroutine check (leaves with a short first instruction) will be refused", "reason", err)
		}
		// Admission asks it of every target: read it now, not when the
		// first patch is waiting. An error is reported with that patch.
		go a.self.IndexInlined()
	}

	// Watch before the first scan, so a file that lands during start-up
	// is not missed; its Ready is deduplicated by content.
	a.patchW, err = watcher.New(watcher.Config{Dir: pol.PatchDir, Quiet: patchQuiet, Complete: loader.Complete})
	if err != nil {
		led.Close()
		return nil, fmt.Errorf("hotfix: watch patch_dir %s: %w", pol.PatchDir, err)
	}
	// Follow the file through symbolic links (a ConfigMap's ..data swap, a
	// link to a file edited elsewhere): see watcher.Follower.
	a.policyW, err = watcher.Follow(path, 100*time.Millisecond)
	if err != nil {
		a.patchW.Close()
		led.Close()
		return nil, fmt.Errorf("hotfix: watch policy %s: %w", path, err)
	}
	a.startup()
	ctx, a.cancel = context.WithCancel(ctx)
	go a.loop(ctx)
	return a, nil
}

// openLedger opens the ledger and logs what it says on its own: a file it
// moved aside, and writes that failed and were retried.
func openLedger(dir string, log *slog.Logger) (*ledger.Ledger, error) {
	led, err := ledger.Open(dir)
	if err != nil {
		return nil, err
	}
	if led.Aside != nil {
		log.Error("ledger unreadable; starting from the patch directory", "file", led.Path(), "reason", led.Aside)
	}
	led.OnFlush(func(err error) {
		if err != nil {
			log.Error("ledger write failed; retrying", "file", led.Path(), "reason", err)
		} else {
			log.Info("ledger written again after failed writes", "file", led.Path())
		}
	})
	return led, nil
}

func usableDir(dir string, mode os.FileMode) error {
	if dir == "" {
		return errors.New("not set")
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// startup brings the process to the state the directory asks for: every
// patch file, applied in sequence order (the order does not change what
// runs: patches are layered by sequence, see apply). Files that do not
// even look like patches (no readable manifest) are left to the loop,
// which refuses them first thing: junk in the directory does not hold up
// Start, and so main. What the ledger says was applied by an
// earlier process is not applied in this one until its file is seen again.
func (a *Agent) startup() {
	start := time.Now()
	names, err := os.ReadDir(a.pol.PatchDir)
	if err != nil {
		a.log.Error("scan patch_dir", "file", a.pol.PatchDir, "reason", err)
	}
	type cand struct {
		path string
		seq  int64
	}
	var cands []cand
	present := map[string]bool{}
	for _, de := range names {
		if !watcher.MatchPatch(de.Name()) {
			continue
		}
		present[de.Name()] = true
		p := filepath.Join(a.pol.PatchDir, de.Name())
		if m, err := loader.PeekManifest(p); err == nil {
			cands = append(cands, cand{p, m.Sequence})
		} else {
			a.deferred = append(a.deferred, p)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].seq != cands[j].seq {
			return cands[i].seq < cands[j].seq
		}
		return cands[i].path < cands[j].path
	})
	for _, c := range cands {
		a.ready(c.path, 0, time.Time{})
	}
	a.reconcileLedger(present)
	a.log.Info("hotfix agent started", "file", a.pol.PatchDir, "patches", len(cands), "took", time.Since(start))
}

// reconcileLedger closes what earlier processes left in the ledger: an
// entry "applied" by another process instance (not PID: a container's
// service is PID 1 at every start) describes code that no longer runs, and
// the refusals of junk no longer in patch_dir are compacted.
func (a *Agent) reconcileLedger(present map[string]bool) {
	for _, e := range a.ledger.Entries() {
		if e.State == ledger.Applied && e.Instance != ledger.Instance() {
			e.State = ledger.Reverted
			e.Reason = "process restarted and the patch file is no longer in patch_dir"
			if err := a.ledger.Record(e); err != nil {
				a.log.Error("ledger write failed", "file", a.ledger.Path(), "patch", e.ID, "reason", err)
			}
		}
	}
	a.ledger.Compact(func(file string) bool { return present[file] })
}

// present reports whether patch_dir holds the file name, as far as the
// agent has seen; for ledger.Compact.
func (a *Agent) present(name string) bool {
	_, ok := a.files[filepath.Join(a.pol.PatchDir, name)]
	return ok
}

func (a *Agent) loop(ctx context.Context) {
	defer close(a.done)
	for _, p := range a.deferred {
		if ctx.Err() != nil {
			return
		}
		if a.files[p] == nil {
			a.ready(p, 0, time.Time{})
		}
	}
	a.deferred = nil
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-a.patchW.Events():
			if !ok {
				return
			}
			switch ev.Op {
			case watcher.Ready:
				a.ready(ev.Path, ev.Settle, ev.First)
			case watcher.Removed:
				a.forgetFile(ev.Path)
				a.ledger.Compact(a.present)
			}
		case err, ok := <-a.patchW.Errors():
			if ok {
				a.log.Warn("watch patch_dir", "file", a.pol.PatchDir, "reason", err)
			}
		case ev, ok := <-a.policyW.Events():
			if ok && ev.Op == watcher.Ready {
				a.reloadPolicy()
			}
		case <-a.policyW.Errors():
		}
	}
}

// Close stops watching and waits for the agent's goroutine. Applied
// patches stay applied: plugins cannot be unloaded, and a process that is
// shutting down gains nothing from reverting. Close is idempotent and
// nil-safe.
func (a *Agent) Close() error {
	if a == nil {
		return nil
	}
	var err error
	a.closeOnce.Do(func() {
		a.cancel()
		err = errors.Join(a.patchW.Close(), a.policyW.Close())
		<-a.done
		err = errors.Join(err, a.ledger.Close())
	})
	return err
}

// Status returns the patches seen by this process, sorted by file name.
func (a *Agent) Status() []PatchStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PatchStatus, 0, len(a.status))
	for _, s := range a.status {
		c := *s
		c.Functions = append([]string(nil), s.Functions...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (a *Agent) reloadPolicy() {
	// The watcher also reports the file as it found it at start, and an
	// editor may save it unchanged: only new content is a new policy.
	sum := fileSum(a.polPath)
	if sum != "" && sum == a.polSum {
		return
	}
	p, err := policy.Load(a.polPath)
	if err != nil {
		a.mu.Lock()
		a.obs.reloadErrors++
		a.mu.Unlock()
		a.log.Error("policy edit refused; the previous policy stays in force", "file", a.polPath, "reason", err)
		return
	}
	a.mu.Lock()
	old := a.pol
	if p.PatchDir != old.PatchDir || p.StateDir != old.StateDir {
		a.log.Warn("patch_dir and state_dir changes take effect at restart", "file", a.polPath)
		p.PatchDir, p.StateDir = old.PatchDir, old.StateDir
	}
	a.pol = p
	a.mu.Unlock()
	a.polSum = sum
	a.log.Info("policy reloaded; it applies to the next patch", "file", a.polPath)
	a.recheckTrust(p)
}

// fileSum is the SHA-256 of a file's bytes, "" if it cannot be read.
func fileSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (a *Agent) policy() *policy.Policy {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pol
}
