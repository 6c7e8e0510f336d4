// Package prologue decides, from the code of a compiled Go function and its
// unsafe points, how its entry can be replaced by a jump with no goroutine
// ever resuming inside the replaced bytes. It is pure: the agent runs it on
// live code, offline tools on code read from a binary file.
package prologue

// Func is a compiled function as the classifier sees it.
type Func struct {
	// Code holds the function's bytes from its entry, followed by what
	// lies after it (the INT3 padding), JumpLen bytes at least.
	Code []byte
	// AsyncSafe has one entry per byte of the function (its length is the
	// function's size): whether the runtime may park a goroutine there by
	// asynchronous preemption (PCDATA_UnsafePoint, runtime/preempt.go
	// isAsyncSafePoint).
	AsyncSafe []bool
}

// Plan says how the jump may be written.
type Plan struct {
	Shape string
	// Guard is set when a goroutine parked by asynchronous preemption may
	// hold a resume PC in [Lo, Hi) (offsets from the entry): the jump may
	// then be written only while, with the world stopped, none does.
	Guard  bool
	Lo, Hi int
}
