package hotfix

import (
	"maps"
	"reflect"
	"testing"
)

func TestFramesIn(t *testing.T) {
	// Functions a at [100, 150) and b at [200, 210).
	entryOf := func(pc uintptr) uintptr {
		switch {
		case pc >= 100 && pc < 150:
			return 100
		case pc >= 200 && pc < 210:
			return 200
		}
		return 0
	}
	entries := map[uintptr]string{100: "a", 200: "b"}
	for _, c := range []struct {
		name   string
		stacks [][]uintptr
		want   map[string]int
	}{
		{"none", [][]uintptr{{10, 20}, {300}}, map[string]int{}},
		{"inside", [][]uintptr{{120, 5}, {149}}, map[string]int{"a": 2}},
		{"outside its code", [][]uintptr{{150}, {210}, {99}}, map[string]int{}},
		{"a stack counts once a function", [][]uintptr{{120, 130, 205}}, map[string]int{"a": 1, "b": 1}},
	} {
		if got := framesIn(c.stacks, entries, entryOf); !maps.Equal(got, c.want) {
			t.Errorf("%s: framesIn = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCallsInProgressSeesAWaitingCall: a goroutine blocked inside a
// function is counted, from the real goroutine profile and the runtime's
// function table.
func TestCallsInProgressSeesAWaitingCall(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	go waitInside(started, release)
	<-started
	defer close(release)
	entry := reflect.ValueOf(waitInside).Pointer()
	if got := callsInProgress(map[uintptr]string{entry: "waitInside"}); got["waitInside"] != 1 {
		t.Fatalf("callsInProgress = %v, want waitInside: 1", got)
	}
}

//go:noinline
func waitInside(started, release chan struct{}) {
	close(started)
	<-release
}
