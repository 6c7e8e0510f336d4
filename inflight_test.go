package hotfix

import (
	"maps"
	"reflect"
	"runtime"
	"testing"

	"github.com/gohotfix/hotfix/patcher"
)

func TestFramesIn(t *testing.T) {
	rs := []patcher.Redirect{
		{Func: "a", From: 100, AsyncSafe: make([]bool, 50)},
		{Func: "b", From: 200, AsyncSafe: make([]bool, 10)},
	}
	for _, c := range []struct {
		name   string
		stacks [][]uintptr
		want   map[string]int
	}{
		{"none", [][]uintptr{{10, 20}, {300}}, map[string]int{}},
		{"inside", [][]uintptr{{120, 5}, {149}}, map[string]int{"a": 2}},
		{"entry and end are not inside", [][]uintptr{{100}, {150}, {200}, {210}}, map[string]int{}},
		{"one stack counts once a function", [][]uintptr{{120, 130, 205}}, map[string]int{"a": 1, "b": 1}},
	} {
		if got := framesIn(c.stacks, rs); !maps.Equal(got, c.want) {
			t.Errorf("%s: framesIn = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCallsInProgressSeesAWaitingCall: a goroutine blocked inside a
// function is counted, from the real goroutine profile.
func TestCallsInProgressSeesAWaitingCall(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	go waitInside(started, release)
	<-started
	defer close(release)
	entry, size := funcRange(t, waitInside)
	rs := []patcher.Redirect{{Func: "waitInside", From: entry, AsyncSafe: make([]bool, size)}}
	if got := callsInProgress(rs); got["waitInside"] != 1 {
		t.Fatalf("callsInProgress = %v, want waitInside: 1", got)
	}
}

//go:noinline
func waitInside(started, release chan struct{}) {
	close(started)
	<-release
}

// funcRange returns the entry and size of a function of this test binary,
// found through the runtime: the size is where FuncForPC stops naming it.
func funcRange(t *testing.T, f any) (uintptr, int) {
	t.Helper()
	entry := reflect.ValueOf(f).Pointer()
	fn := runtime.FuncForPC(entry)
	if fn == nil || fn.Entry() != entry {
		t.Fatalf("no function at %#x", entry)
	}
	size := 1
	for g := runtime.FuncForPC(entry + uintptr(size)); g != nil && g.Entry() == entry; g = runtime.FuncForPC(entry + uintptr(size)) {
		size++
	}
	return entry, size
}
