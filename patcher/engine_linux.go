//go:build linux && (amd64 || arm64)

package patcher

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/gohotfix/hotfix/patcher/internal/osmem"
	"github.com/gohotfix/hotfix/patcher/internal/stw"
)

// readCode returns a copy of n bytes of live code at addr.
func readCode(addr uintptr, n int) []byte {
	b := make([]byte, n)
	copy(b, osmem.Bytes(addr, n))
	return b
}

// guardReady says whether goroutines parked inside a window can be looked
// for in this process (stw.SelfTest, run the first time).
func guardReady() error { return stw.Ready() }

// trampolines hands out one trampoline per destination and reach. Pages
// are filled while writable and then made executable for good: a page that
// code may run in is never written again, so trampolines are never freed
// (a patch applied again reuses its own).
type trampolines struct {
	byTarget map[uintptr][]uintptr
	page     uintptr // current page being filled, or 0
	used     uintptr
}

func (t *trampolines) get(from, to uintptr) (uintptr, error) {
	for _, tr := range t.byTarget[to] {
		if reach(from, tr) {
			return tr, nil
		}
	}
	page, err := osmem.MapNear(from, maxReach-osmem.PageSize)
	if err != nil {
		return 0, err
	}
	code := trampolineCode(to)
	copy(osmem.Bytes(page, trampolineLen), code[:])
	syncCode(page, trampolineLen)
	if err := osmem.MakeExecutable(page); err != nil {
		return 0, err
	}
	if t.byTarget == nil {
		t.byTarget = map[uintptr][]uintptr{}
	}
	t.byTarget[to] = append(t.byTarget[to], page)
	return page, nil
}

// commit installs every write or none. Pages are made writable and
// pre-faulted before the world stops, and the stop waits until no P is
// being handed to a thread (stw.Settle): a revert comes straight from the
// agent's wake-up, and its stop used to wait for the kernel to run the
// thread that wake-up woke. With the world stopped only the
// parked goroutines are looked at and the prepared words compared and
// stored, with no allocation, lock or system call but one: on arm64, a
// raw membarrier(2) after the stores (syncOtherCores), registered for
// before (prepareCores). busy is the index of a write whose window holds a
// parked goroutine (nothing was written), or -1.
func commit(ws []write) (pause pauseTimes, busy int, warn error, err error) {
	busy = -1
	if len(ws) == 0 {
		return pause, busy, nil, nil
	}
	if !stw.Built {
		return pause, busy, nil, stw.ErrNotBuilt
	}
	if err := prepareCores(); err != nil {
		return pause, busy, nil, err
	}
	var guards []stw.Range
	var guarded []int
	for i, w := range ws {
		if w.guard[1] != 0 {
			guards = append(guards, stw.Range{Lo: w.guard[0], Hi: w.guard[1]})
			guarded = append(guarded, i)
		}
	}
	pages := pagesOf(ws, osmem.PageOf)
	made := 0
	var syncWarn error
	defer func() {
		var errs []error
		for _, pg := range pages[:made] {
			if e := osmem.MakeExecutable(pg); e != nil {
				errs = append(errs, e)
			}
		}
		warn = errors.Join(append(errs, syncWarn)...)
	}()
	for _, pg := range pages {
		if err := osmem.MakeWritable(pg); err != nil {
			return pause, busy, nil, err
		}
		made++
	}
	bad, parked := -1, -1
	var synced syscall.Errno
	settle, settled := stw.Settle(maxSettle)
	beforeStop(settled)
	ps := stw.Do(func() {
		if len(guards) > 0 {
			if parked = stw.ParkedIn(guards); parked >= 0 {
				return
			}
		}
		for i := range ws {
			if load(ws[i].addr) != ws[i].old {
				bad = i
				return
			}
		}
		for i := range ws {
			store(ws[i].addr, ws[i].new)
		}
		synced = syncOtherCores()
	})
	pause = pauseTimes{settle, time.Duration(ps.Stopping), time.Duration(ps.Stopped)}
	if synced != 0 {
		syncWarn = fmt.Errorf("membarrier after the write: %w", synced)
	}
	if parked >= 0 {
		return pause, guarded[parked], nil, nil
	}
	if bad >= 0 {
		return pause, busy, nil, fmt.Errorf("%w at %#x", ErrForeignCode, ws[bad].addr)
	}
	return pause, busy, nil, nil
}

// beforeStop is called between the wait and the stop, with whether the
// wait saw the scheduler settle; tests replace it to look at the
// scheduler there.
var beforeStop = func(settled bool) {}

//go:nosplit
func load(addr uintptr) [8]byte {
	return *(*[8]byte)(osmem.Pointer(addr))
}
