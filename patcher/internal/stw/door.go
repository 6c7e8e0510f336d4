//go:build hotfix

package stw

import "unsafe"

// Built: this binary can stop the world and read the scheduler.
const Built = true

//go:linkname stopTheWorld runtime.stopTheWorld
func stopTheWorld(reason uint8) worldStop

//go:linkname startTheWorld runtime.startTheWorld
func startTheWorld(w worldStop)

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// osyield and usleep are sched_yield(2) and nanosleep(2) as the runtime
// makes them, below its scheduler: the P stays with the caller and no
// thread is woken (runtime/sys_linux_amd64.s).
//
//go:linkname osyield runtime.osyield
func osyield()

//go:linkname usleep runtime.usleep
func usleep(usec uint32)

// The runtime's goroutines and scheduler (runtime/proc.go, runtime2.go).
// allgadd stores allgptr before allglen, so reading the length first never
// reads past the array.
//
//go:linkname allglen runtime.allglen
var allglen uintptr

//go:linkname allgptr runtime.allgptr
var allgptr unsafe.Pointer

//go:linkname allp runtime.allp
var allp []unsafe.Pointer

//go:linkname sched runtime.sched
var sched uintptr // the first word of runtime.sched; only its address is used
