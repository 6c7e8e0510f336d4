package stw

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Range is a range [Lo, Hi) of code addresses.
type Range struct{ Lo, Hi uintptr }

// gLayout is where the fields of runtime.g that ParkedIn reads lie: stack.hi,
// sched.sp and asyncSafePoint (runtime/runtime2.go). TestGLayout checks the
// entry of the toolchain in use against the DWARF of a binary it builds, and
// SelfTest proves it on the running process; a release missing here turns
// the check off, and the shapes that need it are refused with the reason.
type gLayout struct{ stackHi, schedSP, asyncSafePoint uintptr }

var gLayouts = map[string]gLayout{
	"go1.26": {stackHi: 8, schedSP: 56, asyncSafePoint: 180},
	"go1.27": {stackHi: 8, schedSP: 56, asyncSafePoint: 180},
}

// allglen and allgptr are the runtime's list of every goroutine
// (runtime/proc.go): allgadd stores allgptr before allglen, so reading the
// length first never reads past the array.
//
//go:linkname allglen runtime.allglen
var allglen uintptr

//go:linkname allgptr runtime.allgptr
var allgptr unsafe.Pointer

// scanner is what SelfTest established: the layout, and how far above a
// parked goroutine's saved SP its resume PC lies.
var scanner struct {
	layout gLayout
	depth  uintptr // bytes above sched.sp that hold the resume PC, inclusive
	err    error
	done   atomic.Bool
}

func word(addr uintptr) uintptr { return *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))) }
func byteAt(addr uintptr) byte  { return *(*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))) }

// ParkedIn returns the index of a range that holds the resume PC of a
// goroutine parked by asynchronous preemption, or -1. A goroutine parked
// that way resumes wherever the signal interrupted it; every other parked
// goroutine resumes at a call's return address. asyncPreempt2 marks the
// first kind (g.asyncSafePoint), and the interrupted PC is the word the
// signal handler pushed above asyncPreempt's frame (runtime/preempt.go,
// signal_amd64.go pushCall): the scan reads every word from the saved SP up
// to it, so a stale word can cost a retry, never a miss.
//
// It must run with the world stopped (inside Do), after SelfTest succeeded.
// It allocates nothing.
func ParkedIn(rs []Range) int {
	l, depth := scanner.layout, scanner.depth
	n := atomic.LoadUintptr(&allglen)
	base := uintptr(atomic.LoadPointer(&allgptr))
	for i := uintptr(0); i < n; i++ {
		gp := word(base + i*8)
		if gp == 0 || byteAt(gp+l.asyncSafePoint) == 0 {
			continue
		}
		sp, hi := word(gp+l.schedSP), word(gp+l.stackHi)
		for a := sp; a <= sp+depth && a+8 <= hi; a += 8 {
			w := word(a)
			for j, r := range rs {
				if w >= r.Lo && w < r.Hi {
					return j
				}
			}
		}
	}
	return -1
}

// ErrUnavailable wraps the reason the parked-goroutine check cannot be
// used in this process.
var ErrUnavailable = errors.New("the check for goroutines parked inside a function is unavailable")

// Ready reports whether ParkedIn can be used, running SelfTest the first
// time.
func Ready() error {
	if !scanner.done.Load() {
		SelfTest()
	}
	return scanner.err
}

var selfTestMu = make(chan struct{}, 1)

// SelfTest proves ParkedIn on this process: a goroutine spinning in a known
// leaf is parked by the stop of the world, and must be found, at the same
// depth twice; a range no goroutine runs must not be. It also measures the
// depth. It runs once; later calls return the first result.
func SelfTest() error {
	selfTestMu <- struct{}{}
	defer func() { <-selfTestMu }()
	if !scanner.done.Load() {
		scanner.err = selfTest()
		if scanner.err != nil {
			scanner.err = fmt.Errorf("%w: %v", ErrUnavailable, scanner.err)
		}
		scanner.done.Store(true)
	}
	return scanner.err
}

const maxDepth = 2048

func selfTest() error {
	v := runtime.Version()
	l, ok := gLayouts[goRelease(v)]
	if !ok {
		return fmt.Errorf("the layout of runtime.g in %s is not known to this build of hotfix", v)
	}
	if strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
		return errors.New("GODEBUG=asyncpreemptoff=1: no goroutine can be parked in a known place to prove it")
	}
	scanner.layout, scanner.depth = l, maxDepth
	spin, never := funcRange(spinLeaf), funcRange(neverRun)
	var stop, started atomic.Uint32
	done := make(chan struct{})
	go func() {
		started.Store(1)
		spinLeaf(&stop, 1<<28)
		close(done)
	}()
	defer func() { stop.Store(1); <-done }()
	for started.Load() == 0 {
		runtime.Gosched()
	}
	var depths []uintptr
	for try := 0; try < 50 && len(depths) < 2; try++ {
		found, d, miss := false, uintptr(0), -1
		Do(func() {
			found, d = parkedDepth(spin)
			miss = ParkedIn([]Range{never})
		})
		if miss >= 0 {
			return errors.New("found a goroutine parked in a function that never ran")
		}
		if found {
			depths = append(depths, d)
		}
		time.Sleep(200 * time.Microsecond)
	}
	if len(depths) < 2 || depths[0] != depths[1] {
		return fmt.Errorf("a goroutine spinning in a known leaf was not found parked there (depths %v)", depths)
	}
	scanner.depth = depths[0]
	return nil
}

// parkedDepth finds the goroutine parked in r, as ParkedIn does, and says
// how far above its saved SP the word was.
func parkedDepth(r Range) (bool, uintptr) {
	l := scanner.layout
	n := atomic.LoadUintptr(&allglen)
	base := uintptr(atomic.LoadPointer(&allgptr))
	for i := uintptr(0); i < n; i++ {
		gp := word(base + i*8)
		if gp == 0 || byteAt(gp+l.asyncSafePoint) == 0 {
			continue
		}
		sp, hi := word(gp+l.schedSP), word(gp+l.stackHi)
		for a := sp; a <= sp+maxDepth && a+8 <= hi; a += 8 {
			if w := word(a); w >= r.Lo && w < r.Hi {
				return true, a - sp
			}
		}
	}
	return false, 0
}

// goRelease turns "go1.26.8" into "go1.26".
func goRelease(v string) string {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		if j := strings.IndexAny(v[i+1:], ".-+ "); j >= 0 {
			return v[:i+1+j]
		}
	}
	return v
}

// funcRange is the code of a function and the padding after it: the PCs
// the runtime attributes to it.
func funcRange(fn any) Range {
	entry := reflect.ValueOf(fn).Pointer()
	end := entry + 1
	for end < entry+256 && runtime.FuncForPC(end) != nil && runtime.FuncForPC(end).Entry() == entry {
		end++
	}
	return Range{entry + 1, end}
}

// spinLeaf is a leaf with no call and no stack check: a goroutine in it can
// only be stopped by asynchronous preemption. n bounds the spin, so that a
// process where asynchronous preemption does not happen waits for it at most
// a fraction of a second.
//
//go:noinline
func spinLeaf(stop *atomic.Uint32, n int) int {
	i := 0
	for ; i < n && stop.Load() == 0; i++ {
	}
	return i
}

//go:noinline
func neverRun(x int) int { return x*7 + 1 }
