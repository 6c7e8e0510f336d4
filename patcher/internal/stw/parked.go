package stw

import (
	"errors"
	"fmt"
	"go/version"
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

// rtLayout is where the fields ParkedIn reads lie in runtime.g, runtime.p
// and runtime.schedt (runtime/runtime2.go). TestLayout checks the entry of
// the toolchain in use against the DWARF of a program it builds, and
// SelfTest proves it on the running process; a release missing here turns
// the check off, and the shapes that need it are refused with the reason.
type rtLayout struct {
	gStackHi, gSchedSP, gSchedlink, gAsyncSafePoint uintptr
	pRunqhead, pRunqtail, pRunq, pRunnext           uintptr
	schedRunq, schedDisabled                        uintptr // gQueue heads
	// For Settle (settle.go): p.status, sched.npidle, sched.nmspinning.
	pStatus, schedNpidle, schedNmspinning uintptr
}

var layouts = map[string]rtLayout{
	"go1.26": {gStackHi: 8, gSchedSP: 56, gSchedlink: 160, gAsyncSafePoint: 180,
		pRunqhead: 400, pRunqtail: 404, pRunq: 408, pRunnext: 2456, schedRunq: 128, schedDisabled: 160,
		pStatus: 4, schedNpidle: 112, schedNmspinning: 116},
	"go1.27": {gStackHi: 8, gSchedSP: 56, gSchedlink: 160, gAsyncSafePoint: 180,
		pRunqhead: 400, pRunqtail: 404, pRunq: 408, pRunnext: 2456, schedRunq: 128, schedDisabled: 160,
		pStatus: 4, schedNpidle: 112, schedNmspinning: 116},
}

const runqSize = 256 // len(p.runq)

// scanner is what SelfTest established: the layout, and how far above a
// parked goroutine's saved SP its resume PC lies.
var scanner struct {
	layout rtLayout
	depth  uintptr // bytes above sched.sp up to the resume PC, inclusive
	err    error
	done   atomic.Bool
}

func word(addr uintptr) uintptr  { return *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))) }
func word32(addr uintptr) uint32 { return *(*uint32)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))) }
func byteAt(addr uintptr) byte   { return *(*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))) }

// ParkedIn returns the index of a range that holds the resume PC of a
// goroutine parked by asynchronous preemption, or -1. A goroutine parked
// that way resumes wherever the signal interrupted it; every other parked
// goroutine resumes at a call's return address. asyncPreempt2 marks the
// first kind (g.asyncSafePoint), and the interrupted PC is the word the
// signal handler pushed above asyncPreempt's frame (runtime/preempt.go,
// signal_amd64.go pushCall): the scan reads every word from the saved SP up
// to it, so a stale word can cost a retry, never a miss.
//
// Such a goroutine is runnable, so with the world stopped it waits in a run
// queue: goschedImpl puts it in its P's runnext when it was stopped for the
// stop of the world, in the global queue otherwise (runtime/proc.go), and
// runqput and stealing move goroutines only between queues. Only the queues
// are read, not every goroutine: the cost is that of the runnable ones,
// not of the thousands parked on channels (TestRunQueuesHoldEveryParked
// checks the claim against a walk of every goroutine).
//
// It must run with the world stopped (inside Do), after SelfTest succeeded.
// It allocates nothing.
func ParkedIn(rs []Range) int {
	found := -1
	queued(func(gp uintptr) bool {
		found = parkedG(gp, rs)
		return found >= 0
	})
	return found
}

// queued calls f for every goroutine in a run queue, until f returns true.
func queued(f func(gp uintptr) bool) {
	l := &scanner.layout
	for _, pp := range allp {
		p := uintptr(pp)
		if p == 0 {
			continue
		}
		if gp := word(p + l.pRunnext); gp != 0 && f(gp) {
			return
		}
		for h, t := word32(p+l.pRunqhead), word32(p+l.pRunqtail); h != t; h++ {
			if f(word(p + l.pRunq + uintptr(h%runqSize)*8)) {
				return
			}
		}
	}
	limit := atomic.LoadUintptr(&allglen) + 1 // a broken list never loops
	for _, q := range [2]uintptr{l.schedRunq, l.schedDisabled} {
		n := uintptr(0)
		for gp := word(uintptr(unsafe.Pointer(&sched)) + q); gp != 0 && n < limit; gp, n = word(gp+l.gSchedlink), n+1 {
			if f(gp) {
				return
			}
		}
	}
}

// everyG calls f for every goroutine there is, until f returns true.
func everyG(f func(gp uintptr) bool) {
	n := atomic.LoadUintptr(&allglen)
	base := uintptr(atomic.LoadPointer(&allgptr))
	for i := uintptr(0); i < n; i++ {
		if gp := word(base + i*8); gp != 0 && f(gp) {
			return
		}
	}
}

// parkedG reports which range holds the resume PC of gp, if it is parked
// by asynchronous preemption.
func parkedG(gp uintptr, rs []Range) int {
	l := &scanner.layout
	if gp == 0 || byteAt(gp+l.gAsyncSafePoint) == 0 {
		return -1
	}
	sp, hi := word(gp+l.gSchedSP), word(gp+l.gStackHi)
	for a := sp; a <= sp+scanner.depth && a+8 <= hi; a += 8 {
		w := word(a)
		for j, r := range rs {
			if w >= r.Lo && w < r.Hi {
				return j
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
	if !Built {
		return ErrNotBuilt
	}
	if !scanner.done.Load() {
		SelfTest()
	}
	return scanner.err
}

var selfTestMu = make(chan struct{}, 1)

// SelfTest proves ParkedIn on this process: a goroutine spinning in a known
// leaf is parked by the stop of the world and must be found, twice at the
// same depth, by a walk of every goroutine and by ParkedIn; a range no
// goroutine runs must not be. It also measures the depth. It runs once;
// later calls return the first result.
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
	l, ok := layouts[version.Lang(v)]
	if !ok {
		return fmt.Errorf("the layout of the runtime's goroutines in %s is not known to this build of hotfix", v)
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
		found, d, queued, miss := false, uintptr(0), -1, -1
		Do(func() {
			found, d = walkAll(spin)
			queued = ParkedIn([]Range{spin})
			miss = ParkedIn([]Range{never})
		})
		switch {
		case miss >= 0:
			return errors.New("found a goroutine parked in a function that never ran")
		case found && queued < 0:
			return errors.New("a goroutine parked in a known leaf is in no run queue")
		case found:
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

// walkAll looks at every goroutine, not only the queued ones, for one
// parked by asynchronous preemption in r, and says how far above its
// saved SP the resume PC lies: the highest word in r up to maxDepth. Words
// below it can match too (the registers asyncPreempt saved, stale words in
// asyncPreempt2's frame: under load a saved register was seen to hold an
// address in the leaf), never words above it (the frames of the leaf's
// callers hold no address in it).
func walkAll(r Range) (found bool, depth uintptr) {
	l := &scanner.layout
	everyG(func(gp uintptr) bool {
		if byteAt(gp+l.gAsyncSafePoint) == 0 {
			return false
		}
		sp, hi := word(gp+l.gSchedSP), word(gp+l.gStackHi)
		for a := sp; a <= sp+maxDepth && a+8 <= hi; a += 8 {
			if w := word(a); w >= r.Lo && w < r.Hi {
				found, depth = true, a-sp
			}
		}
		return found
	})
	return found, depth
}

// funcRange is the code of a function past its entry and the padding after
// it: the PCs the runtime attributes to it.
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
