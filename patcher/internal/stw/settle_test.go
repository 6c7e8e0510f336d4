//go:build hotfix

package stw

import (
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestWakeHandsPToWakingThread pins the runtime fact Settle rests on: a
// goroutine woken by a channel send, while a P is idle, finds the scheduler
// in the middle of a hand-off (an idle P given to a thread the kernel has
// not run yet, or a thread spinning for work): wakep in runtime/proc.go.
// Stopping the world then waits for that thread; after Settle it does
// not. Old code stopped the world in that state: a revert is a map
// look-up and a stop, right after the agent's wake-up. The stopping times
// are logged, not checked: the machine is shared.
func TestWakeHandsPToWakingThread(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs an idle P to hand off: GOMAXPROCS=1")
	}
	const cycles = 200
	ev := make(chan int)
	go func() {
		for i := 0; i < 2*cycles; i++ {
			time.Sleep(time.Millisecond)
			ev <- i
		}
	}()
	var unsettled, settledOK, stillSettled int
	var plain, waited []int64
	for i := 0; i < cycles; i++ {
		<-ev
		if !Settled() {
			unsettled++
		}
		plain = append(plain, Do(func() {}).Stopping)
		<-ev
		_, ok := Settle(100 * time.Millisecond)
		if ok {
			settledOK++
			if Settled() {
				stillSettled++
			}
		}
		waited = append(waited, Do(func() {}).Stopping)
	}
	slices.Sort(plain)
	slices.Sort(waited)
	t.Logf("%d of %d wake-ups left a hand-off in progress; stopping the world right after one took %v (median), after Settle %v; Settle saw the scheduler settle %d times",
		unsettled, cycles, time.Duration(plain[cycles/2]), time.Duration(waited[cycles/2]), settledOK)
	if unsettled == 0 {
		t.Errorf("no wake-up in %d left a P on its way to a thread or a thread spinning: the runtime no longer wakes a thread for an idle P in ready (wakep), or Settled cannot see it", cycles)
	}
	if settledOK == 0 || stillSettled == 0 {
		t.Errorf("Settle never saw the scheduler settle (%d of %d), or it was never settled right after (%d)", settledOK, cycles, stillSettled)
	}
}
