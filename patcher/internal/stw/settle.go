package stw

import (
	"go/version"
	"runtime"
	"time"
	"unsafe"
)

// pIdle is runtime._Pidle (runtime/runtime2.go); TestLayout checks it
// against the DWARF of the toolchain in use.
const pIdle = 0

// Settle's schedule: yield the CPU at first, which is all an unloaded
// machine needs (a woken thread runs within tens of µs), then sleep in
// short steps, which lets the kernel run the awaited thread on this CPU.
const (
	settleYields  = 64
	settleSleepUS = 20
)

var settleLayout, settleKnown = layouts[version.Lang(runtime.Version())]

// Settle waits, with the world running, until the scheduler is between
// hand-offs: every P running on its thread or in the idle list, and no
// thread spinning in search of work. It returns how long it waited and
// whether it saw that state; after limit it gives up, and the stop that
// follows waits for the rest itself.
//
// A stop of the world waits for every P. A P handed to a thread that is
// being woken (wakep and startm in runtime/proc.go) has left the idle list
// but is only taken (acquirep), and so only stops, once the kernel runs
// that thread; a spinning thread can sleep in runqgrab's usleep(3) before
// it sees the request. A goroutine woken by a channel send or a timer
// wakes such a thread whenever a P is idle, so a stop right after the
// agent's goroutine was woken by its event, which is all a revert does
// before it stops, waited for the kernel to run another thread: tens of µs
// on an idle machine, tens of ms on a loaded one (issue 22,
// TestWakeHandsPToWakingThread). Waiting here moves that wait out of the
// pause.
//
// It waits below the scheduler, keeping its P: a time.Sleep or
// runtime.Gosched would itself wake a thread for an idle P (ready and
// goschedImpl call wakep), the very thing waited out. sysmon preempts it
// after 10 ms, like any goroutine that runs that long.
func Settle(limit time.Duration) (waited time.Duration, ok bool) {
	if !Built || !settleKnown {
		return 0, false
	}
	start := nanotime()
	for i := 0; ; i++ {
		if Settled() {
			return time.Duration(nanotime() - start), true
		}
		if d := time.Duration(nanotime() - start); d >= limit {
			return d, false
		}
		if i < settleYields {
			osyield()
		} else {
			usleep(settleSleepUS)
		}
	}
}

// Settled says whether, at the moment of the look, every P is running or
// in the idle list and no thread spins (see Settle). It reads the
// scheduler without its lock, so it can be wrong for an instant; that
// costs a slower stop or a longer wait, never a wrong one, since the
// stop itself checks every P. Without the layout of this release it says
// false.
func Settled() bool {
	if !Built || !settleKnown {
		return false
	}
	l := &settleLayout
	base := uintptr(unsafe.Pointer(&sched))
	if word32(base+l.schedNmspinning) != 0 {
		return false
	}
	idle := uint32(0)
	for _, pp := range allp { // replaced only with the world stopped (procresize)
		if pp != nil && word32(uintptr(pp)+l.pStatus) == pIdle {
			idle++
		}
	}
	return idle == word32(base+l.schedNpidle)
}
