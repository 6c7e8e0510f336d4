// Package shapes holds one function of each shape the stress tests patch
// while goroutines call them. Every answer names the version of the code
// that computed it (v0 in the app, v1 and v2 in the copies under
// ../../patches) followed by a payload that depends only on the arguments,
// so a caller can tell old from new and both from garbage.
//
// Only function bodies differ between the versions: a patch must not
// change what other packages were compiled against.
package shapes

import (
	"fmt"
	"sync/atomic"
	"time"
)

// New in v2: state the patch carries (issue 21), a name its initializer
// computes once, when the plugin opens, and a counter of the hot calls.
// A v2 answer that lacks the name would be wrong, not another version's.
var (
	v2Name  = versionName(2)
	v2Calls atomic.Int64
	// v2Firsts counts the calls that found a Counter's new field at zero:
	// one per Counter, or the field lost its storage.
	v2Firsts atomic.Int64
)

func versionName(n int) string { return fmt.Sprint("v", n) }

// Hello is what /greet answers.
func Hello(name string) string {
	return fmt.Sprintf("hello %s v2", name)
}

// Counter has a pointer method.
type Counter struct {
	Base  int
	calls atomic.Int64 // new in v2: kept beside each Counter
}

// Ptr is a pointer method.
func (c *Counter) Ptr(x int) string {
	if c.calls.Add(1) == 1 && v2Firsts.Add(1) > 1 {
		return "ptr v2 lost the count of its Counter"
	}
	return fmt.Sprintf("ptr v2 %d", c.Base+x)
}

// Val has a value method.
type Val struct{ A, B int }

// Value is a value method; called through a *Val it runs behind the
// compiler's (*Val).Value wrapper.
func (v Val) Value(x int) string {
	return fmt.Sprintf("value v2 %d", v.A*x+v.B)
}

// Shape is the interface Square is called through.
type Shape interface{ Area(x int) string }

// Square implements Shape.
type Square struct{ Side int }

// Area is called through the Shape interface (an itab entry).
func (s *Square) Area(x int) string {
	return fmt.Sprintf("area v2 %d", s.Side*s.Side+x)
}

// Plain is stored in a func value before any patch is applied.
func Plain(x int) string {
	return fmt.Sprintf("plain %s %d", v2Name, x)
}

// Rec recurses n levels. Only the innermost call names its version, so a
// call that starts in old code and recurses into new code answers exactly
// the new answer.
func Rec(n, acc int) string {
	if n <= 0 {
		return fmt.Sprintf("rec v2 %d", acc)
	}
	return Rec(n-1, acc+n)
}

// Guard panics for multiples of 4 and recovers in a deferred closure.
func Guard(x int) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("guard v2 recovered %v", r)
		}
	}()
	if x%4 == 0 {
		panic(x)
	}
	return fmt.Sprintf("guard v2 %d", x)
}

// Medium has a frame between 128 bytes and 4 KiB: the medium-frame stack
// check (LEAQ -n(SP), R12 first).
func Medium(x int) string {
	var buf [512]byte
	for i := range buf {
		buf[i] = byte(x + i)
	}
	return fmt.Sprintf("medium v2 %d", int(buf[x%len(buf)])+int(buf[(x+7)%len(buf)]))
}

// Big has a frame larger than 4 KiB: the large-frame stack check (MOVQ SP,
// R12; SUBQ; JCS).
func Big(x int) string {
	var buf [8192]byte
	for i := range buf {
		buf[i] = byte(x ^ i)
	}
	return fmt.Sprintf("big v2 %d", int(buf[x%len(buf)])+int(buf[(x*31)%len(buf)]))
}

// Wait parks its goroutine inside this function until a value arrives;
// entered is closed once it is in.
func Wait(entered chan<- struct{}, in <-chan int) string {
	close(entered)
	v := <-in
	return fmt.Sprintf("wait v2 %d", v)
}

// Nap sleeps inside this function; entered is closed once it is in.
func Nap(entered chan<- struct{}, d time.Duration, x int) string {
	close(entered)
	time.Sleep(d)
	return fmt.Sprintf("nap v2 %d", x)
}

// The hot functions are cheap, so callers spend much of their time near
// their entries, where a goroutine can be stopped just past the first
// instruction. Their answers are 4x plus the version number.

// HotSmall has a small-frame stack check.
func HotSmall(x int) int {
	v2Calls.Add(1)
	return sink(x)*4 + 2 // version
}

// HotMedium has a medium-frame stack check.
func HotMedium(x int) int {
	var b [24]int
	b[x%24] = x
	return sinkArr(&b, x)*4 + 2 // version
}

func sink(x int) int { return x }

func sinkArr(b *[24]int, x int) int { return b[x%24] }

// The leaves have no stack check, one of each shape the compiler emits
// without one; like the hot functions they answer 4x plus the version.

// LeafLong's first instruction, CMPQ AX, $-123456789, covers the jump.
func LeafLong(x int) int {
	if x == -123456789 {
		return 0
	}
	return x*4 + 2 // version
}

// LeafShort's first instruction, SHLQ $2, AX, is 4 bytes: a goroutine may
// be parked inside the jump.
func LeafShort(x int) int {
	return x*4 + 2 // version
}

// LeafFramed has a small frame and no call, so the assembler made it
// nosplit: PUSHQ BP, 1 byte, first.
func LeafFramed(x int) int {
	var a [8]int
	for i := range a {
		a[i] = x + i
	}
	return (a[x&7]-(x&7))*4 + 2 // version
}

// LeafLoop's loop starts at the entry, with a NOP for its position; while
// a goroutine is anywhere inside it, it cannot be patched. (A method such as
// atomic.Int32.Load would be a call here: the package is built with -l.)
func LeafLoop(busy *int32, x int) int {
	for atomic.LoadInt32(busy) != 0 {
	}
	return x*4 + 2 // version
}

// LeafNoSplit has no async safe point at all, by request.
//
//go:nosplit
func LeafNoSplit(x int) int {
	return x*4 + 2 // version
}
