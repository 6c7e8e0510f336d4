package patcher

// The amd64 half of the Linux engine: the jump, where it reaches, and the
// store that installs it (engine_linux.go holds the rest).

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"github.com/gohotfix/hotfix/patcher/internal/osmem"
)

func isJump(code []byte) bool { return code[0] == 0xE9 }

// jumpTarget follows the jump at from through its trampoline and returns
// where a call of from now goes, or 0 if the entry is not a jump to one of
// our trampolines.
func jumpTarget(from uintptr) uintptr {
	code := readCode(from, jumpLen)
	if !isJump(code) {
		return 0
	}
	tramp := uintptr(int64(from+jumpLen) + int64(int32(binary.LittleEndian.Uint32(code[1:5]))))
	return trampolineTarget(readCode(tramp, trampolineLen))
}

func reach(from, tramp uintptr) bool {
	d := int64(tramp) - int64(from+jumpLen)
	return d <= maxReach && d >= -maxReach
}

// store writes 8 bytes; at an 8-aligned address (Go aligns functions to 32
// bytes on amd64) it is a single MOVQ, so no CPU can fetch half of it.
//
//go:nosplit
func store(addr uintptr, b [8]byte) {
	if addr%8 == 0 {
		*(*uint64)(osmem.Pointer(addr)) = *(*uint64)(unsafe.Pointer(&b))
		return
	}
	*(*[8]byte)(osmem.Pointer(addr)) = b
}

// syncCode does nothing on amd64: x86 keeps instruction fetch coherent with
// stores to code (Intel SDM vol. 3, 11.6 "Self-modifying code").
func syncCode(addr, n uintptr) {}

// prepareCores and syncOtherCores are the arm64 engine's membarrier(2)
// around the stores (engine_linux_arm64.go); the amd64 engine issues none.
func prepareCores() error { return nil }

//go:nosplit
func syncOtherCores() syscall.Errno { return 0 }
