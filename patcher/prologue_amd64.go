package patcher

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// jumpLen is the size of the JMP rel32 written at a function's entry.
const jumpLen = 5

// maxReach is how far a JMP rel32 reaches in either direction.
const maxReach = 1<<31 - 1

// prologue decodes the first instructions of a Go function and reports
// whether its first jumpLen bytes can be replaced with no goroutine ever
// resuming inside them.
//
// A goroutine parked by the scheduler resumes at an instruction boundary
// where it may be preempted. The compiler marks the stack-bound check of a
// prologue as async-unsafe (cmd/internal/obj/x86/obj6.go, stacksplit:
// StartUnsafePoint after the first instruction of the check, EndUnsafePoint
// after the JLS), and its call to morestack returns to the function end,
// which jumps back to the entry. So in the three prologue shapes the
// compiler emits, every PC in (entry, entry+jumpLen) is either inside the
// first instruction or inside the unsafe region, and the jump may be
// written. Anything else (frameless leaf functions, //go:nosplit
// functions) has preemptible boundaries there and is refused.
func prologue(code []byte) (shape string, err error) {
	insts, err := decode(code, 4)
	if err != nil {
		return "", err
	}
	i0 := insts[0]
	switch {
	case isStackCmp(i0, x86asm.RSP):
		// small frame: CMPQ SP, 16(R14); JLS
		if i0.Len+insts[1].Len < jumpLen || insts[1].Op != x86asm.JBE {
			return "", fmt.Errorf("stack check without JLS after it: %v; %v", i0, insts[1])
		}
		return "small-frame stack check", nil
	case i0.Op == x86asm.LEA && i0.Args[0] == x86asm.R12 && i0.Len >= jumpLen:
		// medium frame: LEAQ -n(SP), R12; CMPQ R12, 16(R14); JLS
		if m, ok := i0.Args[1].(x86asm.Mem); !ok || m.Base != x86asm.RSP {
			return "", fmt.Errorf("first instruction %v is not the stack check", i0)
		}
		if !isStackCmp(insts[1], x86asm.R12) || insts[2].Op != x86asm.JBE {
			return "", fmt.Errorf("LEAQ without stack check after it: %v; %v", insts[1], insts[2])
		}
		return "medium-frame stack check", nil
	case i0.Op == x86asm.MOV && i0.Args[0] == x86asm.R12 && i0.Args[1] == x86asm.RSP:
		// large frame: MOVQ SP, R12; SUBQ $n, R12; JCS; CMPQ R12, 16(R14); JLS.
		// The unsafe region starts at the SUBQ, which ends past the jump.
		if insts[1].Op != x86asm.SUB || insts[1].Args[0] != x86asm.R12 || i0.Len+insts[1].Len < jumpLen {
			return "", fmt.Errorf("MOVQ SP, R12 without SUBQ after it: %v", insts[1])
		}
		return "large-frame stack check", nil
	}
	return "", fmt.Errorf("no stack check in the prologue (frameless leaf or nosplit function): first instruction %v (%d bytes)", i0, i0.Len)
}

func decode(code []byte, n int) ([]x86asm.Inst, error) {
	var insts []x86asm.Inst
	for off := 0; len(insts) < n; {
		if off >= len(code) {
			return nil, fmt.Errorf("function shorter than its prologue (%d bytes)", len(code))
		}
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			return nil, fmt.Errorf("decode at +%d: %w", off, err)
		}
		insts = append(insts, inst)
		off += inst.Len
	}
	return insts, nil
}

// isStackCmp matches CMPQ reg, 16(R14): R14 holds g, g.stackguard0 is at 16.
func isStackCmp(i x86asm.Inst, reg x86asm.Reg) bool {
	if i.Op != x86asm.CMP || i.Args[0] != reg {
		return false
	}
	m, ok := i.Args[1].(x86asm.Mem)
	return ok && m.Base == x86asm.R14 && m.Disp == 16 && m.Index == 0
}

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

func trampolineCode(to uintptr) [trampolineLen]byte {
	var b [trampolineLen]byte
	copy(b[:], []byte{0xFF, 0x25, 0, 0, 0, 0})
	binary.LittleEndian.PutUint64(b[6:14], uint64(to))
	b[14], b[15] = 0xCC, 0xCC // INT3 padding: never executed
	return b
}
