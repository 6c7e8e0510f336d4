package patcher

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

//go:noinline
func oldAnswer(x int) string { return fmt.Sprint("old ", x) }

//go:noinline
func newAnswer(x int) string { return fmt.Sprint("new ", x) }

//go:noinline
func newerAnswer(x int) string { return fmt.Sprint("newer ", x) }

//go:noinline
func mediumFrame(x int) int {
	var buf [512]byte
	for i := range buf {
		buf[i] = byte(x + i)
	}
	return int(buf[x%len(buf)]) + len(fmt.Sprint(x))
}

//go:noinline
func largeFrame(x int) int {
	var buf [8192]byte
	for i := range buf {
		buf[i] = byte(x + i)
	}
	return int(buf[x%len(buf)]) + len(fmt.Sprint(x))
}

//go:noinline
func leaf(a, b int) int { return a + b }

//go:noinline
func newLeaf(a, b int) int { return a - b }

func addr(f any) uintptr { return reflect.ValueOf(f).Pointer() }

// asyncSafe reads a function's unsafe-point table from the test binary,
// as the agent does from the host (the Makefile links test binaries with
// -s=false so that they keep their symbol table).
func asyncSafe(fn any) []bool {
	pc := addr(fn)
	bin, err := loader.Self()
	if err != nil {
		panic(err)
	}
	fi, err := bin.FuncInfo(runtime.FuncForPC(pc).Name())
	if err != nil {
		panic(err)
	}
	if fi.Entry != pc {
		panic(fmt.Sprintf("%s: entry %#x, runtime says %#x", fi.Name, fi.Entry, pc))
	}
	return fi.AsyncSafe
}

// redirect sends calls of from to to.
func redirect(name string, from, to any) Redirect {
	return Redirect{Func: name, From: addr(from), To: addr(to), AsyncSafe: asyncSafe(from)}
}

func TestPrologueShapes(t *testing.T) {
	const arm64Split = "4-byte B over the first instruction of the stack check"
	tests := []struct {
		name         string
		fn           any
		want         string // shape, or error substring
		reason       string
		arm64, why64 string // the same on arm64
	}{
		{"small", oldAnswer, "small-frame stack check", "CMPQ SP, 16(R14) is 4 bytes: the JLS after it is async-unsafe",
			arm64Split, "the stack-check load is async-safe, and replaced whole"},
		{"medium", mediumFrame, "medium-frame stack check", "LEAQ -n(SP), R12 alone covers the jump",
			arm64Split, "the same load starts every stack-split prologue"},
		{"large", largeFrame, "large-frame stack check", "MOVQ SP, R12 then the unsafe SUBQ",
			arm64Split, "the same load starts every stack-split prologue"},
		{"leaf", leaf, "no stack check, first instruction ADD RAX, RBX (3 of 5 bytes)", "a frameless leaf may be preempted after any instruction: guarded",
			"no stack check, 4-byte B over the first instruction, ADD X0, X0, X1", "no instruction boundary inside the jump: no guard"},
	}
	for _, tt := range tests {
		if runtime.GOARCH == "arm64" {
			tt.want, tt.reason = tt.arm64, tt.why64
		}
		t.Run(tt.name, func(t *testing.T) {
			plan, err := New().Plan(tt.name, addr(tt.fn), asyncSafe(tt.fn))
			got := plan.Shape
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrUnsafePrologue) {
					t.Errorf("error %v is not ErrUnsafePrologue", err)
				}
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("Check = %q, want %q (%s)", got, tt.want, tt.reason)
			}
		})
	}
}

func TestApplyRevertLayers(t *testing.T) {
	p := New()
	from := addr(oldAnswer)
	orig := readCode(from, 32)
	if got := oldAnswer(1); got != "old 1" {
		t.Fatalf("before apply: %q", got)
	}
	if _, err := p.Apply("v1", []Redirect{redirect("oldAnswer", oldAnswer, newAnswer)}); err != nil {
		t.Fatalf("apply v1: %v", err)
	}
	if got := oldAnswer(1); got != "new 1" {
		t.Fatalf("after v1: %q", got)
	}
	if _, err := p.Apply("v2", []Redirect{redirect("oldAnswer", oldAnswer, newerAnswer)}); err != nil {
		t.Fatalf("apply v2: %v", err)
	}
	if got := oldAnswer(1); got != "newer 1" {
		t.Fatalf("after v2: %q", got)
	}
	if _, err := p.Revert("v2"); err != nil {
		t.Fatalf("revert v2: %v", err)
	}
	if got := oldAnswer(1); got != "new 1" {
		t.Fatalf("after revert v2, want v1 back: %q", got)
	}
	if _, err := p.Revert("v1"); err != nil {
		t.Fatalf("revert v1: %v", err)
	}
	if got := oldAnswer(1); got != "old 1" {
		t.Fatalf("after revert v1: %q", got)
	}
	if got := readCode(from, 32); string(got) != string(orig) {
		t.Fatalf("code not restored byte for byte:\n got %x\nwant %x", got, orig)
	}
	if _, err := p.Revert("v1"); !errors.Is(err, ErrUnknownPatch) {
		t.Fatalf("second revert: %v, want ErrUnknownPatch", err)
	}
}

func TestApplyAllOrNothing(t *testing.T) {
	p := New()
	// Someone else has put a jump at the entry of the second function.
	other := New()
	if _, err := other.Apply("other", []Redirect{redirect("leaf", leaf, newLeaf)}); err != nil {
		t.Fatal(err)
	}
	defer other.Revert("other")
	rs := []Redirect{redirect("mediumFrame", mediumFrame, largeFrame), redirect("leaf", leaf, newLeaf)}
	before := readCode(addr(mediumFrame), 32)
	_, err := p.Apply("bad", rs)
	var pe *PatchError
	if !errors.As(err, &pe) || pe.Func != "leaf" || !errors.Is(err, ErrForeignCode) {
		t.Fatalf("Apply = %v, want PatchError for leaf wrapping ErrForeignCode", err)
	}
	if got := readCode(addr(mediumFrame), 32); string(got) != string(before) {
		t.Fatalf("first function changed although the patch was refused")
	}
	if p.Applied("bad") {
		t.Fatal("refused patch reported as applied")
	}
}

// TestApplyUnderLoad redirects and restores a function while goroutines
// call it: every call must return the old or the new answer, and none may
// crash (a goroutine resumed inside rewritten bytes would fault).
func TestApplyUnderLoad(t *testing.T) {
	// Each cycle waits for a P among the spinning callers, so cycles are
	// slow here; `make stress` runs the long version in its own test.
	cycles := 300
	p := New()
	var stop atomic.Bool
	var wrong atomic.Value
	var calls atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 2*runtime.GOMAXPROCS(0)+4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				got := oldAnswer(i)
				if got != "old "+fmt.Sprint(i) && got != "new "+fmt.Sprint(i) {
					wrong.Store(got)
				}
				calls.Add(1)
			}
		}()
	}
	for c := 0; c < cycles; c++ {
		if _, err := p.Apply("load", []Redirect{redirect("oldAnswer", oldAnswer, newAnswer)}); err != nil {
			t.Fatalf("cycle %d apply: %v", c, err)
		}
		runtime.Gosched()
		if _, err := p.Revert("load"); err != nil {
			t.Fatalf("cycle %d revert: %v", c, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if w := wrong.Load(); w != nil {
		t.Fatalf("wrong answer under load: %q", w)
	}
	t.Logf("%d apply/revert cycles, %d calls", cycles, calls.Load())
}

// TestNotLiveTakesBack: after writing, every entry is read back and
// followed through its trampoline; an entry that does not lead to the code
// it was redirected to undoes every write of the patch and names the
// function. (Here the expected destination is wrong on purpose.)
func TestNotLiveTakesBack(t *testing.T) {
	p := New()
	from := addr(oldAnswer)
	orig := readCode(from, 8)
	if _, err := p.Apply("v1", []Redirect{redirect("oldAnswer", oldAnswer, newAnswer)}); err != nil {
		t.Fatal(err)
	}
	if got := jumpTarget(from); got != addr(newAnswer) {
		t.Fatalf("jumpTarget = %#x, want newAnswer at %#x", got, addr(newAnswer))
	}
	var ws []write
	var old, cur [8]byte
	copy(old[:], orig)
	copy(cur[:], readCode(from, 8))
	ws = append(ws, write{fn: "oldAnswer", addr: from, old: old, new: cur})
	err := p.readBack("v1", math.MaxInt64, []Redirect{{Func: "oldAnswer", From: from, To: addr(newerAnswer)}}, ws)
	var pe *PatchError
	if !errors.Is(err, ErrNotLive) || !errors.As(err, &pe) || pe.Func != "oldAnswer" {
		t.Fatalf("checkLive = %v, want ErrNotLive naming oldAnswer", err)
	}
	if got := readCode(from, 8); string(got) != string(orig) || oldAnswer(1) != "old 1" {
		t.Fatalf("writes not taken back: code %x (want %x), answer %q", got, orig, oldAnswer(1))
	}
	t.Logf("refused: %v", err)
}

// TestRevertReadBack: a revert reads back what it wrote. Here the entry
// still jumps to v2 while the revert of v2 believes it wrote the jump to
// v1: the revert must fail naming the function, not report v1 live.
func TestRevertReadBack(t *testing.T) {
	p := New()
	from := addr(oldAnswer)
	for _, v := range []struct {
		id string
		to any
	}{{"v1", newAnswer}, {"v2", newerAnswer}} {
		if _, err := p.Apply(v.id, []Redirect{redirect("oldAnswer", oldAnswer, v.to)}); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, id := range []string{"v2", "v1"} {
			if _, err := p.Revert(id); err != nil {
				t.Fatalf("revert %s: %v", id, err)
			}
		}
	}()
	s := p.sites[from]
	toV2, _ := p.codeFor(s, s.layers)
	toV1, _ := p.codeFor(s, s.layers[:1])
	next := map[uintptr][]layer{from: s.layers[:1]}
	err := p.readBackRevert("v2", next, []write{{fn: "oldAnswer", addr: from, old: toV2, new: toV1}})
	var pe *PatchError
	if !errors.Is(err, ErrNotLive) || !errors.As(err, &pe) || pe.Func != "oldAnswer" || pe.Op != "revert" {
		t.Fatalf("readBackRevert = %v, want ErrNotLive naming oldAnswer", err)
	}
	if oldAnswer(1) != "newer 1" {
		t.Fatalf("the live code changed: %q", oldAnswer(1))
	}
}
