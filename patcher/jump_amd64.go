package patcher

import (
	"encoding/binary"
	"fmt"

	"github.com/gohotfix/hotfix/patcher/prologue"
)

const jumpLen = prologue.JumpLen

// maxReach is how far a JMP rel32 reaches in either direction.
const maxReach = 1<<31 - 1

func planFor(f prologue.Func) (prologue.Plan, error) { return prologue.PlanFor(f) }

// jumpCode returns the bytes that replace the first 8 bytes at from: a JMP
// rel32 to tramp followed by the original bytes 5 to 7, so one aligned
// 8-byte store installs it.
func jumpCode(orig [8]byte, from, tramp uintptr) ([8]byte, error) {
	rel := int64(tramp) - int64(from+jumpLen)
	if rel > maxReach || rel < -maxReach {
		return orig, fmt.Errorf("trampoline %#x out of reach of %#x", tramp, from)
	}
	b := orig
	b[0] = 0xE9
	binary.LittleEndian.PutUint32(b[1:5], uint32(int32(rel)))
	return b, nil
}

// trampolineLen is the size of one trampoline: JMP [RIP+0]; .quad to.
// 16 keeps each one aligned.
const trampolineLen = 16

// trampolineTarget decodes a trampoline: the address it jumps to, or 0 if
// code is not one.
func trampolineTarget(code []byte) uintptr {
	if len(code) < 14 || code[0] != 0xFF || code[1] != 0x25 || binary.LittleEndian.Uint32(code[2:6]) != 0 {
		return 0
	}
	return uintptr(binary.LittleEndian.Uint64(code[6:14]))
}

func trampolineCode(to uintptr) [trampolineLen]byte {
	var b [trampolineLen]byte
	copy(b[:], []byte{0xFF, 0x25, 0, 0, 0, 0})
	binary.LittleEndian.PutUint64(b[6:14], uint64(to))
	b[14], b[15] = 0xCC, 0xCC // INT3 padding: never executed
	return b
}
