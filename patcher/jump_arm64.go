package patcher

import (
	"encoding/binary"
	"fmt"

	"github.com/gohotfix/hotfix/patcher/prologue"
)

const jumpLen = prologue.JumpLen

// maxReach is how far a B imm26 reaches in either direction: ±128 MiB,
// counted from the B itself.
const maxReach = 1<<27 - 4

func planFor(f prologue.Func) (prologue.Plan, error) { return prologue.PlanFor(f) }

// jumpCode returns the bytes that replace the first 8 bytes at from: a B to
// tramp followed by the original bytes 4 to 7, which stay as they are.
func jumpCode(orig [8]byte, from, tramp uintptr) ([8]byte, error) {
	rel := int64(tramp) - int64(from)
	if rel > maxReach || rel < -maxReach || rel%4 != 0 {
		return orig, fmt.Errorf("trampoline %#x out of reach of %#x", tramp, from)
	}
	b := orig
	binary.LittleEndian.PutUint32(b[:4], opB|uint32(rel>>2)&imm26)
	return b, nil
}

const (
	opB   = 0x14000000 // B imm26
	imm26 = 0x03ffffff
)

// The trampoline: LDR X16, .+8; BR X16; .quad to.
//
// X16 (IP0) is the one register a function's entry may not expect to hold
// anything: the Go ABI makes R16 and R17 scratch and lets the linkers use
// them between a call and its callee (cmd/compile/abi-internal.md), the Go
// linker's own trampolines for calls out of reach are ADRP X16; ADD X16;
// BR X16 (cmd/link/internal/arm64/asm.go gentramp), the external linker's
// veneers and PLT stubs use X16/X17 (AAPCS64), and every stack-split
// prologue starts by writing R16 (obj7.go stacksplit). R26, the closure
// context, and R27, the assembler's temporary, are left alone: the
// context is live at a closure's entry. TestScratchRegisterDeadAtEntry
// checks every function of the test binary for a read of X16 before a write.
const (
	trampolineLen = 16
	ldrX16Next    = 0x58000050 // LDR X16, .+8
	brX16         = 0xd61f0200 // BR X16
)

// trampolineTarget decodes a trampoline: the address it jumps to, or 0 if
// code is not one.
func trampolineTarget(code []byte) uintptr {
	if len(code) < trampolineLen || binary.LittleEndian.Uint32(code) != ldrX16Next || binary.LittleEndian.Uint32(code[4:]) != brX16 {
		return 0
	}
	return uintptr(binary.LittleEndian.Uint64(code[8:]))
}

func trampolineCode(to uintptr) [trampolineLen]byte {
	var b [trampolineLen]byte
	binary.LittleEndian.PutUint32(b[0:], ldrX16Next)
	binary.LittleEndian.PutUint32(b[4:], brX16)
	binary.LittleEndian.PutUint64(b[8:], uint64(to))
	return b
}
