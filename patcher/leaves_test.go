package patcher

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// One function of every shape the compiler emits without a stack check,
// each with a replacement, for the shape, parked and stress tests.

// lfLong: first instruction CMPQ AX, $10000 (6 bytes).
//
//go:noinline
func lfLong(sum int) int {
	if sum > 10000 {
		return sum - 500
	}
	return sum
}

//go:noinline
func lfLongNew(sum int) int {
	if sum >= 10000 {
		return sum - 500
	}
	return sum + 1
}

// lfShort: first instruction of 2-4 bytes.
//
//go:noinline
func lfShort(a, b int) int { return a*3 + b }

//go:noinline
func lfShortNew(a, b int) int { return a*3 - b }

// lfFramed: a leaf with a small frame, made nosplit by the assembler:
// PUSHQ BP first (1 byte).
//
//go:noinline
func lfFramed(x int) int {
	var a [8]int
	for i := range a {
		a[i] = x + i
	}
	return a[x&7] + a[(x+3)&7]
}

//go:noinline
func lfFramedNew(x int) int {
	var a [8]int
	for i := range a {
		a[i] = x - i
	}
	return a[x&7] + a[(x+3)&7]
}

// lfNoSplit: the source pragma makes every instruction async-unsafe.
//
//go:nosplit
//go:noinline
func lfNoSplit(a, b int) int { return a*b + 1 }

//go:nosplit
//go:noinline
func lfNoSplitNew(a, b int) int { return a*b + 2 }

// lfTiny: shorter than the jump, padding after it.
//
//go:noinline
func lfTiny() int { return 0 }

//go:noinline
func lfTinyNew() int { return 1 }

// lfWait: a loop that starts at the entry (the compiler puts a NOP there
// for the loop's position: the "NOP first" shape).
//
//go:noinline
func lfWait(p *atomic.Uint32) uint32 {
	for p.Load() == 0 {
	}
	return 1
}

//go:noinline
func lfWaitNew(p *atomic.Uint32) uint32 {
	for p.Load() == 0 {
	}
	return 2
}

// lfCents: a leaf value method, called through an interface (the
// compiler's (*lfCents).Euros wrapper calls it) and as a method value.
type lfCents int

//go:noinline
func (c lfCents) Euros() int { return int(c) / 100 }

//go:noinline
func (c lfCents) EurosNew() int { return (int(c) + 50) / 100 }

type lfEuroer interface{ Euros() int }

var (
	lfPrice       lfEuroer = lfCents(250)
	lfEurosOf              = lfCents.Euros
	lfReady       atomic.Uint32
	_             = lfReady.Add(1)
	lfWaitOnReady = func() string { return fmt.Sprint(lfWait(&lfReady)) }
)

// TestBusyLeaf: while a goroutine spins inside a leaf whose loop starts at
// its entry, the parked-goroutine check finds it at every stop of the
// world and the patch is refused as busy, naming the function, with the
// code unchanged; once the goroutine has left, the same patch applies.
func TestBusyLeaf(t *testing.T) {
	var gate atomic.Uint32
	done := make(chan uint32)
	go func() { done <- lfWait(&gate) }()
	before := readCode(addr(lfWait), 16)
	r := redirect("lfWait", lfWait, lfWaitNew)
	// Wait until a trace of every goroutine shows it inside lfWait.
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "patcher.lfWait("); {
		if time.Now().After(deadline) {
			t.Fatal("the goroutine never entered lfWait")
		}
		time.Sleep(time.Millisecond)
	}
	p := New()
	plan, cerr := p.Plan("lfWait", r.From, r.AsyncSafe)
	st, err := p.Apply("busy", []Redirect{r})
	var pe *PatchError
	if !errors.Is(err, ErrBusy) || !errors.As(err, &pe) || pe.Func != "lfWait" {
		t.Fatalf("Apply while a goroutine spins inside = %v (stats %+v, plan %+v %v), want ErrBusy naming lfWait", err, st, plan, cerr)
	}
	if st.Retries != maxTries || p.Applied("busy") || string(readCode(addr(lfWait), 16)) != string(before) {
		t.Fatalf("%d tries, applied %v, code changed %v", st.Retries, p.Applied("busy"), string(readCode(addr(lfWait), 16)) != string(before))
	}
	t.Logf("refused: %v", err)
	gate.Store(1)
	if got := <-done; got != 1 {
		t.Fatalf("the spinning call answered %d, want the old code's 1", got)
	}
	if _, err := p.Apply("busy", []Redirect{redirect("lfWait", lfWait, lfWaitNew)}); err != nil {
		t.Fatalf("Apply once the goroutine left: %v", err)
	}
	defer p.Revert("busy")
	if got := lfWait(&gate); got != 2 {
		t.Fatalf("after apply: %d, want 2", got)
	}
}
