// Package stw stops and starts the Go world. It is the only place in hotfix
// that reaches into the runtime with go:linkname (door.go), and only in a
// binary built with the build tag hotfix, which must also be linked with
// -ldflags=-checklinkname=0: `hotfix flags` prints both. Without the tag
// (nodoor.go) a plain `go build` of a service that imports hotfix works,
// and Built is false: the agent refuses every patch, saying why.
package stw

import "errors"

// ErrNotBuilt is why a binary built without the hotfix tag takes no patch.
var ErrNotBuilt = errors.New("this binary was not built for patching: build it with the flags `hotfix flags` prints (the build tag hotfix, which lets it stop the world, and -ldflags=-checklinkname=0)")

// worldStop mirrors runtime.worldStop (runtime/proc.go, Go 1.26). It is
// returned by stopTheWorld and must be handed back unchanged to
// startTheWorld; TestStopStart checks the round trip on the toolchain in use.
type worldStop struct {
	reason           uint8
	startedStopping  int64
	finishedStopping int64
	stoppingCPUTime  int64
}

// stwUnknown is runtime.stwUnknown: the pause then shows up under
// /sched/pauses/total/other:seconds in runtime/metrics.
const stwUnknown = 0

// Pause is how long the world stood still.
type Pause struct {
	Stopping int64 // ns from the stop request until every P had stopped
	Stopped  int64 // ns from then until the world was told to start
}

// Do runs f with every other goroutine stopped at a safe point and returns
// once the world runs again. f must not allocate, lock, block or make system
// calls: with the world stopped a GC assist or a blocked lock never ends.
// Do must not be called from f. Calls from several goroutines are serialized
// by the runtime.
func Do(f func()) Pause {
	w := stopTheWorld(stwUnknown)
	f()
	end := nanotime()
	startTheWorld(w)
	return Pause{Stopping: w.finishedStopping - w.startedStopping, Stopped: end - w.finishedStopping}
}
