// Package patcher redirects functions of the running process to new code and
// back. It decides nothing about policy and reads no files: it is handed
// addresses and changes machine code, all of one patch or none of it.
//
// Only one shape of redirect is used: a 5-byte JMP rel32 at the function's
// entry, to a trampoline in a page mapped near the text. It is written only
// where no goroutine can ever be resumed inside those 5 bytes (see
// prologue), with the world stopped, as one aligned 8-byte store.
package patcher

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
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
)

// Redirect sends calls of the function at From to To.
type Redirect struct {
	Func     string  // symbol name, for messages
	From, To uintptr // entry of the running function and of its replacement
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
	Sites int           // function entries rewritten
	Pause time.Duration // the world stood still: stopping every P, then the copy
	Warn  error         // the change is in place, but a page kept write permission
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
	to    uintptr
}

// New returns a Patcher that has changed nothing yet.
func New() *Patcher {
	return &Patcher{sites: map[uintptr]*site{}, patches: map[string][]uintptr{}}
}

// Check reports whether the function at from can be redirected, and the
// shape of prologue it found. It reads the live code and changes nothing.
func (p *Patcher) Check(fn string, from uintptr) (shape string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	shape, _, err = p.check(fn, from)
	return shape, err
}

func (p *Patcher) check(fn string, from uintptr) (string, [8]byte, error) {
	if s, ok := p.sites[from]; ok {
		shape, err := CheckPrologue(withOrig(readCode(from), s.orig))
		return shape, s.orig, err
	}
	code := readCode(from)
	var orig [8]byte
	copy(orig[:], code)
	shape, err := CheckPrologue(code)
	return shape, orig, err
}

func withOrig(code []byte, orig [8]byte) []byte {
	c := append([]byte(nil), code...)
	copy(c, orig[:])
	return c
}

// CheckPrologue reports whether a function whose first bytes are code can
// be redirected, and the prologue shape it found.
func CheckPrologue(code []byte) (shape string, err error) {
	if isJump(code) {
		return "", fmt.Errorf("%w: entry is a jump already", ErrForeignCode)
	}
	shape, err = checkPrologue(code)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnsafePrologue, err)
	}
	return shape, nil
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
		_, orig, err := p.check(r.Func, r.From)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "check", Err: err}
		}
		tramp, err := p.tramps.get(r.From, r.To)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: err}
		}
		code, err := jumpCode(orig, r.From, tramp)
		if err != nil {
			return Stats{}, &PatchError{Patch: patch, Func: r.Func, Op: "apply", Err: err}
		}
		ws = append(ws, write{addr: r.From, old: p.current(r.From, orig), new: code})
	}
	pause, warn, err := commit(ws)
	if err != nil {
		return Stats{}, &PatchError{Patch: patch, Op: "apply", Err: err}
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
		s.layers = append(s.layers, layer{patch: patch, to: r.To})
		froms = append(froms, r.From)
	}
	p.patches[patch] = froms
	st.Sites, st.Pause, st.Warn = len(ws), pause, warn
	return st, nil
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
			ws = append(ws, write{addr: from, old: old, new: code})
		}
	}
	pause, warn, err := commit(ws)
	if err != nil {
		return Stats{}, &PatchError{Patch: patch, Op: "revert", Err: err}
	}
	for from, keep := range next {
		if len(keep) == 0 {
			delete(p.sites, from)
		} else {
			p.sites[from].layers = keep
		}
	}
	delete(p.patches, patch)
	return Stats{Sites: len(ws), Pause: pause, Warn: warn}, nil
}

// write replaces the 8 bytes at addr, which must hold old.
type write struct {
	addr     uintptr
	old, new [8]byte
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
