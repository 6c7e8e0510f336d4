package patcher

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Functions that park their goroutine inside themselves: on a channel, in
// a sleep, or on a channel at the bottom of a recursion whose every frame
// adds its version's mark on the way out.

//go:noinline
func pkWait(entered chan<- struct{}, in <-chan int) string {
	close(entered)
	v := <-in
	return fmt.Sprintf("wait v0 %d", v)
}

//go:noinline
func pkWaitNew(entered chan<- struct{}, in <-chan int) string {
	close(entered)
	v := <-in
	return fmt.Sprintf("wait v1 %d", v)
}

//go:noinline
func pkNap(entered chan<- struct{}, in <-chan int) string {
	close(entered)
	time.Sleep(300 * time.Millisecond)
	return "nap v0"
}

//go:noinline
func pkNapNew(entered chan<- struct{}, in <-chan int) string {
	close(entered)
	time.Sleep(300 * time.Millisecond)
	return "nap v1"
}

//go:noinline
func pkDeep(entered chan<- struct{}, in <-chan int) string { return pkDeepN(8, entered, in) }

//go:noinline
func pkDeepNew(entered chan<- struct{}, in <-chan int) string { return pkDeepNNew(8, entered, in) }

//go:noinline
func pkDeepN(n int, entered chan<- struct{}, in <-chan int) string {
	if n == 0 {
		close(entered)
		return fmt.Sprintf("deep v0 %d ", <-in)
	}
	return pkDeepN(n-1, entered, in) + "0"
}

//go:noinline
func pkDeepNNew(n int, entered chan<- struct{}, in <-chan int) string {
	if n == 0 {
		close(entered)
		return fmt.Sprintf("deep v1 %d ", <-in)
	}
	return pkDeepNNew(n-1, entered, in) + "1"
}

// TestParkedGoroutinesReturnThroughOldCode parks a goroutine inside a
// function, redirects the function, and releases it: it must finish the
// call in the code it was in (old after apply, new after revert), while
// new calls take the new path. A garbage collection runs while it is
// parked, so its stack is scanned across the switch.
func TestParkedGoroutinesReturnThroughOldCode(t *testing.T) {
	tests := []struct {
		name     string
		old, new func(chan<- struct{}, <-chan int) string
		from, to []string // redirected too: the recursion's inner function
		want     func(ver string, v int) string
		reason   string
	}{
		{"blocked on a channel", pkWait, pkWaitNew, nil, nil,
			func(ver string, v int) string { return fmt.Sprintf("wait %s %d", ver, v) },
			"a goroutine in chanrecv returns into the old body after its first bytes changed"},
		{"sleeping", pkNap, pkNapNew, nil, nil,
			func(ver string, v int) string { return "nap " + ver },
			"a timer wakes it into the old body"},
		{"parked 9 frames deep in a recursion", pkDeep, pkDeepNew, []string{"pkDeepN"}, []string{"pkDeepNNew"},
			func(ver string, v int) string {
				return fmt.Sprintf("deep %s %d %s", ver, v, strings.Repeat(ver[1:], 8))
			},
			"every frame on the stack returns through the version it was called in"},
	}
	extra := map[string]any{"pkDeepN": pkDeepN, "pkDeepNNew": pkDeepNNew}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := []Redirect{redirect("old", tt.old, tt.new)}
			for i := range tt.from {
				rs = append(rs, redirect(tt.from[i], extra[tt.from[i]], extra[tt.to[i]]))
			}
			p := New()
			park := func(fn func(chan<- struct{}, <-chan int) string) (chan int, chan string) {
				entered, in, out := make(chan struct{}), make(chan int), make(chan string, 1)
				go func() { out <- fn(entered, in) }()
				<-entered
				return in, out
			}
			release := func(in chan int, out chan string, v int) string {
				select {
				case in <- v:
				case s := <-out: // a nap does not read in
					return s
				case <-time.After(10 * time.Second):
					t.Fatalf("parked call did not take its value")
				}
				select {
				case s := <-out:
					return s
				case <-time.After(10 * time.Second):
					t.Fatalf("parked call did not return")
					return ""
				}
			}

			in, out := park(tt.old)
			if _, err := p.Apply("park", rs); err != nil {
				t.Fatalf("apply: %v", err)
			}
			runtime.GC()
			if got, want := release(in, out, 1), tt.want("v0", 1); got != want {
				t.Errorf("parked in old code, released after apply: %q, want %q (%s)", got, want, tt.reason)
			}

			in, out = park(tt.old) // runs the new code now
			if _, err := p.Revert("park"); err != nil {
				t.Fatalf("revert: %v", err)
			}
			runtime.GC()
			if got, want := release(in, out, 2), tt.want("v1", 2); got != want {
				t.Errorf("parked in new code, released after revert: %q, want %q (%s)", got, want, tt.reason)
			}

			in, out = park(tt.old)
			if got, want := release(in, out, 3), tt.want("v0", 3); got != want {
				t.Errorf("called after revert: %q, want %q", got, want)
			}
		})
	}
}
