// Package patcher redirects functions of the running process to new code and
// back. It decides nothing about policy and reads no files: it is handed
// addresses and changes machine code, all of one patch or none of it.
//
// Only one shape of redirect is used per architecture: on amd64 a 5-byte
// JMP rel32 at the function's entry, on arm64 a 4-byte B, to a trampoline
// in a page mapped near the text (±2 GB, ±128 MB). It is written with the
// world stopped, as one aligned 8-byte store (on arm64 the B's word, then
// cache maintenance), and only where no goroutine resumes inside the bytes
// replaced: where none ever can (see prologue; on arm64 every function
// whose code does not branch back to its entry), or, for the shapes where
// one may be parked, once a look at every parked goroutine found none
// there (retried a few times while one is).
package patcher

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gohotfix/hotfix/patcher/internal/stw"
	"github.com/gohotfix/hotfix/patcher/prologue"
)

var (
	// ErrNotSupported is returned on platforms without a patch engine.
	ErrNotSupported = errors.New("patcher: not supported on this platform")
	// ErrUnsafePrologue means a function's first bytes cannot be replaced
	// without risking a goroutine resuming inside them.
	ErrUnsafePrologue = errors.New("patcher: prologue cannot be redirected safely")
	// ErrForeignCode means the bytes at a function's entry are not what
	// this process put there: someone else patched it.
	ErrForeignCode = errors.New("patcher: function entry changed by someone else")
	// ErrUnknownPatch is returned by Revert for a patch that is not applied.
	ErrUnknownPatch = errors.New("patcher: patch not applied")
	// ErrBusy means a goroutine stayed parked inside the bytes the jump
	// replaces through every try.
	ErrBusy = errors.New("patcher: function busy")
	// ErrNotLive means that after the jumps were written, a function's
	// entry did not lead to the code it was redirected to; the whole patch
	// was taken back.
	ErrNotLive = errors.New("patcher: redirect not live after writing")
)

// Redirect sends calls of the function at From to To.
type Redirect struct {
	Func     string  // symbol name, for messages
	From, To uintptr // entry of the running function and of its replacement
	// AsyncSafe is the function's unsafe-point table, one entry per byte
	// of code (loader.FuncInfo): its length is the function's size.
	AsyncSafe []bool
}

// PatchError says which patch and function an operation failed on.
type PatchError struct {
	Patch string
	Func  string
	Op    string // "check", "apply", "revert"
	Err   error
}

func (e *PatchError) Error() string {
	if e.Func == "" {
		return fmt.Sprintf("%s %s: %v", e.Op, e.Patch, e.Err)
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Op, e.Patch, e.Func, e.Err)
}

func (e *PatchError) Unwrap() error { return e.Err }

// Stats describes one Apply or Revert.
type Stats struct {
	Sites   int           // function entries rewritten
	Pause   time.Duration // the world stood still: stopping every P, then the check and copy
	Stopped time.Duration // the part of Pause after every P had stopped: the check and copy
	Settle  time.Duration // before Pause, the world running: the wait for Ps being handed to threads (see commit)
	Retries int           // stops given up because a goroutine was parked in a window
	Warn    error         // the change is in place, but a page kept write permission
}

// Patcher owns every function entry it has rewritten. It is safe for
// concurrent use; Apply and Revert are serialized.
type Patcher struct {
	mu      sync.Mutex
	sites   map[uintptr]*site
	patches map[string][]uintptr // patch ID -> entries it redirects
	tramps  trampolines
}

// site is one rewritten function entry. layers is a stack: the newest patch
// for a function is live; reverting it uncovers the one below, or the
// original code.
type site struct {
	fn     string
	from   uintptr
	orig   [8]byte
	layers []layer
}

type layer struct {
	patch string
	rank  int64
	to    uintptr
}

// New returns a Patcher that has changed nothing yet.
func New() *Patcher {
	return &Patcher{sites: map[uintptr]*site{}, patches: map[string][]uintptr{}}
}

// Plan reports how the function at from, whose unsafe-point table is
// asyncSafe, can be redirected. It reads the live code and changes nothing.
func (p *Patcher) Plan(fn string, from uintptr, asyncSafe []bool) (prologue.Plan, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	plan, _, err := p.plan(from, asyncSafe)
	return plan, err
}

// plan classifies the code at from as it was before this process changed
// it, and returns its first 8 original bytes.
func (p *Patcher) plan(from uintptr, asyncSafe []bool) (prologue.Plan, [8]byte, error) {
	code := readCode(from, max(len(asyncSafe), prologue.JumpLen)+8)
	var orig [8]byte
	if s, ok := p.sites[from]; ok {
		copy(code, s.orig[:])
	} else if isJump(code) {
		return prologue.Plan{}, orig, fmt.Errorf("%w: entry is a jump already", ErrForeignCode)
	}
	copy(orig[:], code)
	plan, err := planFor(prologue.Func{Code: code, AsyncSafe: asyncSafe})
	if err != nil {
		return plan, orig, fmt.Errorf("%w: %v", ErrUnsafePrologue, err)
	}
	if plan.Guard {
		if err := guardReady(); err != nil {
			return plan, orig, fmt.Errorf("%w: %s: a goroutine may be parked inside the bytes the jump replaces, and %v", ErrUnsafePrologue, plan.Shape, err)
		}
	}
	return plan, orig, nil
}

// SelfTest proves, once per process, that goroutines parked inside a
// function can be found (see the stw package); the shapes that need that
// check are refused while it fails. It takes a few milliseconds the first
// time and returns the first result after that; safe for concurrent use.
func SelfTest() error { return guardReady() }

// ErrNotBuilt: the binary was built without the hotfix build tag, and so
// cannot stop the world to write a jump (see `hotfix flags`).
var ErrNotBuilt = stw.ErrNotBuilt

// Built says whether this binary was built to take patches.
func Built() error {
	if !stw.Built {
		return ErrNotBuilt
	}
	return nil
}

// Applied reports whether the patch is applied.
func (p *Patcher) Applied(patch string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.patches[patch]
	return ok
}

// Apply redirects every function of the patch, or none of them. A function
// redirected by an earlier patch is redirected to the newer code; Revert of
// the newer patch brings the earlier redirect back.
func (p *Patcher) Apply(patch string, rs []Redirect) (Stats, error) {
	return p.ApplyRanked(patch, math.MaxInt64, rs)
}

// ApplyRanked is Apply with the patch's layer placed by rank: beneath the
// layers of a greater rank, above those of a lower or equal one. Where a
// greater rank holds a function, its code stays live and nothing is
// written; reverting that layer uncovers this one. So the code that runs
// is the same whatever order patches come in (the agent ranks by sequence).
func (p *Patcher) ApplyRanked(patch string, rank int64, rs []Redirect) (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.patches[patch]; ok {
		return Stats{}, &PatchError{Patch: patch, Op: "apply", Err: errors.New("already applied")}
	}
	if len(rs) == 0 {
		return Stats{}, &PatchError{Patch: patch, Op: "apply", Err: errors.New("no functions to redirect")}
	}
	var st Stats
	seen := map[uintptr]bool{}
	var ws []write
	for _, r := range rs {
		if seen[r.From] {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: errors.New("redirected twice in one patch")}
		}
		seen[r.From] = true
		plan, orig, err := p.plan(r.From, r.AsyncSafe)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "check", Err: err}
		}
		if p.covered(r.From, rank) {
			continue // a greater rank's code stays live
		}
		tramp, err := p.tramps.get(r.From, r.To)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: err}
		}
		code, err := jumpCode(orig, r.From, tramp)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: err}
		}
		w := write{fn: r.Func, addr: r.From, old: p.current(r.From, orig), new: code}
		if plan.Guard && w.old == orig {
			// The original code is live: a goroutine may be parked in it.
			w.guard = [2]uintptr{r.From + uintptr(plan.Lo), r.From + uintptr(plan.Hi)}
		}
		ws = append(ws, w)
	}
	pause, retries, warn, err := commitRetry(ws)
	if err != nil {
		var busy *busyError
		fn := ""
		if errors.As(err, &busy) {
			fn = busy.fn
		}
		return Stats{Retries: retries}, &PatchError{Patch: patch, Func: fn, Op: "apply", Err: err}
	}
	if err := p.readBack(patch, rank, rs, ws); err != nil {
		return Stats{}, err
	}
	froms := make([]uintptr, 0, len(rs))
	for _, r := range rs {
		s := p.sites[r.From]
		if s == nil {
			var orig [8]byte
			for _, w := range ws {
				if w.addr == r.From {
					orig = w.old
				}
			}
			s = &site{fn: r.Func, from: r.From, orig: orig}
			p.sites[r.From] = s
		}
		at := len(s.layers)
		for at > 0 && s.layers[at-1].rank > rank {
			at--
		}
		s.layers = slices.Insert(s.layers, at, layer{patch: patch, rank: rank, to: r.To})
		froms = append(froms, r.From)
	}
	p.patches[patch] = froms
	st.Sites, st.Pause, st.Stopped, st.Settle, st.Retries, st.Warn = len(ws), pause.total(), pause.stopped, pause.settle, retries, warn
	return st, nil
}

// readBack reads every jump just written back and follows it through its
// trampoline: each entry must now lead to the new code. If one does not,
// every write is undone and the patch fails, naming the function: a patch
// is never reported applied while old code runs.
func (p *Patcher) readBack(patch string, rank int64, rs []Redirect, ws []write) error {
	for _, r := range rs {
		want := r.To
		if p.covered(r.From, rank) {
			s := p.sites[r.From]
			want = s.layers[len(s.layers)-1].to
		}
		if got := jumpTarget(r.From); got != want {
			uerr := undo(ws)
			err := fmt.Errorf("%w: entry %#x leads to %#x, want %#x", ErrNotLive, r.From, got, want)
			return &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: errors.Join(err, uerr)}
		}
	}
	return nil
}

// covered reports whether a layer of a greater rank holds from.
func (p *Patcher) covered(from uintptr, rank int64) bool {
	s, ok := p.sites[from]
	return ok && len(s.layers) > 0 && s.layers[len(s.layers)-1].rank > rank
}

// readBackRevert reads every entry a revert changed: each must hold the
// release's bytes again, or jump (through its trampoline) to the layer
// uncovered. If one does not, every write is undone and the revert fails,
// naming the function: a patch is never reported reverted while its code
// still runs, nor the release's code while a patch's does.
func (p *Patcher) readBackRevert(patch string, next map[uintptr][]layer, ws []write) error {
	for _, w := range ws {
		s, keep := p.sites[w.addr], next[w.addr]
		var err error
		if len(keep) == 0 {
			var got [8]byte
			copy(got[:], readCode(w.addr, 8))
			if got != s.orig {
				err = fmt.Errorf("%w: entry %#x holds %x, want the release's %x", ErrNotLive, w.addr, got, s.orig)
			}
		} else if got, want := jumpTarget(w.addr), keep[len(keep)-1].to; got != want {
			err = fmt.Errorf("%w: entry %#x leads to %#x, want %#x", ErrNotLive, w.addr, got, want)
		}
		if err != nil {
			uerr := undo(ws)
			return &PatchError{Patch: patch, Func: s.fn, Op: "revert", Err: errors.Join(err, uerr)}
		}
	}
	return nil
}

// undo puts back what ws wrote, after a read-back found one of them not
// live: the caller then reports the whole operation failed.
func undo(ws []write) error {
	back := make([]write, len(ws))
	for i, w := range ws {
		back[i] = write{fn: w.fn, addr: w.addr, old: w.new, new: w.old}
	}
	_, _, _, err := commitRetry(back)
	return err
}

// current returns the bytes this process last wrote at from, or orig.
func (p *Patcher) current(from uintptr, orig [8]byte) [8]byte {
	s, ok := p.sites[from]
	if !ok || len(s.layers) == 0 {
		return orig
	}
	b, _ := p.codeFor(s, s.layers)
	return b
}

func (p *Patcher) codeFor(s *site, layers []layer) ([8]byte, error) {
	if len(layers) == 0 {
		return s.orig, nil
	}
	tramp, err := p.tramps.get(s.from, layers[len(layers)-1].to)
	if err != nil {
		return s.orig, err
	}
	return jumpCode(s.orig, s.from, tramp)
}

// Revert takes the patch's redirects away: each function runs the code of
// the previous patch still applied to it, or its original code, restored
// byte for byte.
func (p *Patcher) Revert(patch string) (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	froms, ok := p.patches[patch]
	if !ok {
		return Stats{}, &PatchError{Patch: patch, Op: "revert", Err: ErrUnknownPatch}
	}
	var ws []write
	next := map[uintptr][]layer{}
	for _, from := range froms {
		s := p.sites[from]
		var keep []layer
		for _, l := range s.layers {
			if l.patch != patch {
				keep = append(keep, l)
			}
		}
		next[from] = keep
		old, err := p.codeFor(s, s.layers)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: s.fn, Op: "revert", Err: err}
		}
		code, err := p.codeFor(s, keep)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: s.fn, Op: "revert", Err: err}
		}
		if old != code {
			ws = append(ws, write{fn: s.fn, addr: from, old: old, new: code})
		}
	}
	// No guard: the live entry is a jump, one instruction, so no goroutine
	// is parked inside the bytes put back.
	pause, _, warn, err := commitRetry(ws)
	if err != nil {
		return Stats{}, &PatchError{Patch: patch, Op: "revert", Err: err}
	}
	if err := p.readBackRevert(patch, next, ws); err != nil {
		return Stats{}, err
	}
	for from, keep := range next {
		if len(keep) == 0 {
			delete(p.sites, from)
		} else {
			p.sites[from].layers = keep
		}
	}
	delete(p.patches, patch)
	return Stats{Sites: len(ws), Pause: pause.total(), Stopped: pause.stopped, Settle: pause.settle, Warn: warn}, nil
}

// write replaces the 8 bytes at addr, which must hold old, unless a
// goroutine is parked with its resume PC in [guard[0], guard[1]).
type write struct {
	fn       string
	addr     uintptr
	old, new [8]byte
	guard    [2]uintptr // zero: no goroutine can be parked inside
}

// Retry schedule while a goroutine is parked in a window: it runs again as
// soon as the world starts, so a short wait usually clears it.
const (
	maxTries   = 40
	firstWait  = 100 * time.Microsecond
	longestGap = 20 * time.Millisecond
)

// maxSettle bounds the wait, before each stop, for Ps being handed to
// threads (stw.Settle): past the longest such stop seen on a loaded machine
// (75 ms, issue 22), after which the stop waits for the rest itself.
const maxSettle = 100 * time.Millisecond

// pauseTimes is how long the world stood still for one commit, and how
// long the commit waited with it running before stopping it.
type pauseTimes struct{ settle, stopping, stopped time.Duration }

func (p pauseTimes) total() time.Duration { return p.stopping + p.stopped }

// busyError names the function a goroutine stayed parked in.
type busyError struct {
	fn    string
	tries int
}

func (e *busyError) Error() string {
	return fmt.Sprintf("%v: a goroutine was parked in code the jump would change, at each of %d tries; nothing was changed, drop the file again to retry", ErrBusy, e.tries)
}

func (e *busyError) Unwrap() error { return ErrBusy }

// commitRetry commits ws, stopping the world again after a pause while a
// goroutine is parked in one of the windows, maxTries times at most.
func commitRetry(ws []write) (pause pauseTimes, retries int, warn, err error) {
	wait := firstWait
	for try := 1; ; try++ {
		pause, busy, warn, err := commit(ws)
		if busy < 0 || err != nil {
			return pause, try - 1, warn, err
		}
		if try == maxTries {
			return pause, try, warn, &busyError{fn: ws[busy].fn, tries: try}
		}
		time.Sleep(wait)
		wait = min(2*wait, longestGap)
	}
}

func pagesOf(ws []write, pageOf func(uintptr) uintptr) []uintptr {
	set := map[uintptr]bool{}
	for _, w := range ws {
		set[pageOf(w.addr)] = true
		set[pageOf(w.addr+7)] = true
	}
	pages := make([]uintptr, 0, len(set))
	for pg := range set {
		pages = append(pages, pg)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	return pages
}
