// Package prologue decides, from the first bytes of a compiled Go function,
// whether its entry can be replaced by a jump with no goroutine ever
// resuming inside the replaced bytes. It is pure: the agent runs it on live
// code, offline tools on code read from a binary file.
package prologue

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// JumpLen is the size of the JMP rel32 written at a function's entry.
const JumpLen = 5

// Check decodes the first instructions of a Go function and reports
// whether its first JumpLen bytes can be replaced with no goroutine ever
// resuming inside them.
//
// A goroutine parked by the scheduler resumes at an instruction boundary
// where it may be preempted. The compiler marks the stack-bound check of a
// prologue as async-unsafe (cmd/internal/obj/x86/obj6.go, stacksplit:
// StartUnsafePoint after the first instruction of the check, EndUnsafePoint
// after the JLS), and its call to morestack returns to the function end,
// which jumps back to the entry. So in the three prologue shapes the
// compiler emits, every PC in (entry, entry+JumpLen) is either inside the
// first instruction or inside the unsafe region, and the jump may be
// written. Anything else (frameless leaf functions, //go:nosplit
// functions) has preemptible boundaries there and is refused.
func Check(code []byte) (shape string, err error) {
	insts, err := decode(code, 4)
	if err != nil {
		return "", err
	}
	i0 := insts[0]
	switch {
	case isStackCmp(i0, x86asm.RSP):
		// small frame: CMPQ SP, 16(R14); JLS
		if i0.Len+insts[1].Len < JumpLen || insts[1].Op != x86asm.JBE {
			return "", fmt.Errorf("stack check without JLS after it: %v; %v", i0, insts[1])
		}
		return "small-frame stack check", nil
	case i0.Op == x86asm.LEA && i0.Args[0] == x86asm.R12 && i0.Len >= JumpLen:
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
		if insts[1].Op != x86asm.SUB || insts[1].Args[0] != x86asm.R12 || i0.Len+insts[1].Len < JumpLen {
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
