//go:build !hotfix

package stw

import "unsafe"

// Built: without the hotfix build tag, nothing here reaches the runtime,
// and Do and ParkedIn must not be called (Ready says ErrNotBuilt).
const Built = false

func stopTheWorld(uint8) worldStop { panic(ErrNotBuilt) }
func startTheWorld(worldStop)      { panic(ErrNotBuilt) }
func nanotime() int64              { panic(ErrNotBuilt) }
func osyield()                     { panic(ErrNotBuilt) }
func usleep(uint32)                { panic(ErrNotBuilt) }

var (
	allglen uintptr
	allgptr unsafe.Pointer
	allp    []unsafe.Pointer
	sched   uintptr
)
