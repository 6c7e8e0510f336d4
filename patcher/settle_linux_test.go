//go:build linux && (amd64 || arm64)

package patcher

import (
	"runtime"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/patcher/internal/stw"
)

// TestStopWaitsForHandoffs: apply and revert, each run as the agent runs
// them, on a goroutine an event has just woken, stop the world only once
// no P is on its way to a thread (stw.Settle), unless the wait gave up.
// The old code stopped at once, and so into a hand-off at nearly every
// wake-up (TestWakeHandsPToWakingThread in the stw package): that stop
// waited for the kernel to run the woken thread, tens of ms on a loaded
// machine (issue 22). A wake between the wait and the look is possible
// (another goroutine's timer), so a few are allowed; the old code fails
// nearly all.
func TestStopWaitsForHandoffs(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs an idle P to hand off: GOMAXPROCS=1")
	}
	var stops, gaveUp, unsettled int
	beforeStop = func(settled bool) {
		stops++
		switch {
		case !settled:
			gaveUp++
		case !stw.Settled():
			unsettled++
		}
	}
	defer func() { beforeStop = func(bool) {} }()
	const cycles = 100
	ev := make(chan int)
	go func() {
		for i := 0; i < 2*cycles; i++ {
			time.Sleep(time.Millisecond)
			ev <- i
		}
	}()
	p := New()
	rs := []Redirect{redirect("oldAnswer", oldAnswer, newAnswer)}
	for i := 0; i < cycles; i++ {
		<-ev
		if _, err := p.Apply("wake", rs); err != nil {
			t.Fatalf("cycle %d apply: %v", i, err)
		}
		<-ev
		if _, err := p.Revert("wake"); err != nil {
			t.Fatalf("cycle %d revert: %v", i, err)
		}
	}
	t.Logf("%d stops: %d after the wait gave up, %d into a hand-off that began after the wait", stops, gaveUp, unsettled)
	if stops != 2*cycles {
		t.Fatalf("%d stops for %d applies and reverts: every one must wait first", stops, 2*cycles)
	}
	if unsettled > stops/10 {
		t.Errorf("%d of %d stops began while a P was on its way to a thread", unsettled, stops)
	}
}
