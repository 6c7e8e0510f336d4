package patcher

// The arm64 half of the Linux engine: the jump, where it reaches, and the
// store that installs it (engine_linux.go holds the rest).

import (
	"encoding/binary"

	"github.com/gohotfix/hotfix/patcher/internal/osmem"
)

func isJump(code []byte) bool { return binary.LittleEndian.Uint32(code)&^imm26 == opB }

// jumpTarget follows the B at from through its trampoline and returns
// where a call of from now goes, or 0 if the entry is not a branch to one
// of our trampolines.
func jumpTarget(from uintptr) uintptr {
	code := readCode(from, jumpLen)
	if !isJump(code) {
		return 0
	}
	rel := int64(int32(binary.LittleEndian.Uint32(code)<<6)>>6) * 4 // imm26, sign-extended
	return trampolineTarget(readCode(uintptr(int64(from)+rel), trampolineLen))
}

func reach(from, tramp uintptr) bool {
	d := int64(tramp) - int64(from)
	return d <= maxReach && d >= -maxReach
}

// store writes the 8 bytes at addr as two aligned 4-byte words (Go aligns
// functions to 16 bytes on arm64), the second only if it changes (it never
// does: jumpCode keeps it), so the instruction after the entry is never
// rewritten.
//
//go:nosplit
func store(addr uintptr, b [8]byte) {
	w := (*[2]uint32)(osmem.Pointer(addr))
	w[0] = binary.LittleEndian.Uint32(b[:4])
	if next := binary.LittleEndian.Uint32(b[4:]); w[1] != next {
		w[1] = next
	}
}
