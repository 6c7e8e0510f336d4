package prologue

import (
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// amd64JumpLen is the size of the JMP rel32 written at an amd64 function's
// entry.
const amd64JumpLen = 5

// planAmd64 is PlanFor on amd64. Like planArm64 it is built on every
// architecture: offline checks (`hotfix verify`, `hotfix build`) decide by
// the binary's ELF machine, not the build machine's (PlanForMachine).
//
// It decodes a Go function and says how its first amd64JumpLen bytes can be
// replaced with no goroutine ever resuming inside them, or why they cannot.
//
// A goroutine stopped by the scheduler resumes at a call's return address,
// at an entry (morestack returns there), or, when it was preempted
// asynchronously, at any instruction the compiler did not mark unsafe.
//  1. The three stack-check prologues: the compiler marks the check
//     async-unsafe (cmd/internal/obj/x86/obj6.go, stacksplit), so every
//     boundary inside the jump is unsafe. Nothing to check.
//  2. No boundary inside the jump is async-safe: the first instruction is
//     amd64JumpLen bytes or longer, or the function is //go:nosplit (every
//     instruction unsafe, cmd/compile/internal/liveness IsUnsafe), or it is
//     shorter than the jump and padding follows. Nothing to check.
//  3. Otherwise (frameless leaves, and leaves the assembler made nosplit
//     that start with PUSHQ BP) a goroutine may be parked at entry+1..4:
//     Guard [1, amd64JumpLen).
//
// A frameless function whose branches lead back into its first amd64JumpLen
// bytes (a loop starting at the entry, a jump table) would take any
// goroutine still inside it onto the rewritten bytes, or into the new code
// with the loop's registers: Guard the whole function, so that it is
// patched only when no goroutine is inside it. Such a function that also
// calls out is refused: a goroutine inside it may be parked at any depth.
func planAmd64(f Func) (Plan, error) {
	switch {
	case len(f.AsyncSafe) == 0:
		return Plan{}, fmt.Errorf("no unsafe-point table: the function's size is not known")
	case len(f.Code) < max(amd64JumpLen, len(f.AsyncSafe)):
		return Plan{}, fmt.Errorf("%d bytes of code for a function of %d bytes", len(f.Code), len(f.AsyncSafe))
	}
	if shape, ok, err := stackCheck(f.Code); ok || err != nil {
		return Plan{Shape: shape}, err
	}
	b, err := scan(f)
	if err != nil {
		return Plan{}, err
	}
	return b.plan(f)
}

// stackCheck recognizes the three prologues that start with the stack
// bound check (obj6.go stacksplit).
func stackCheck(code []byte) (shape string, ok bool, err error) {
	insts, err := decode(code, 4)
	if err != nil {
		return "", false, nil // not a prologue; the full scan reports bad code
	}
	i0 := insts[0]
	switch {
	case isStackCmp(i0, x86asm.RSP):
		// small frame: CMPQ SP, 16(R14); JLS
		if i0.Len+insts[1].Len < amd64JumpLen || insts[1].Op != x86asm.JBE {
			return "", true, fmt.Errorf("stack check without JLS after it: %v; %v", i0, insts[1])
		}
		return "small-frame stack check", true, nil
	case i0.Op == x86asm.LEA && i0.Args[0] == x86asm.R12 && i0.Len >= amd64JumpLen:
		// medium frame: LEAQ -n(SP), R12; CMPQ R12, 16(R14); JLS
		if m, ok := i0.Args[1].(x86asm.Mem); !ok || m.Base != x86asm.RSP {
			return "", false, nil
		}
		if !isStackCmp(insts[1], x86asm.R12) || insts[2].Op != x86asm.JBE {
			return "", true, fmt.Errorf("LEAQ without stack check after it: %v; %v", insts[1], insts[2])
		}
		return "medium-frame stack check", true, nil
	case i0.Op == x86asm.MOV && i0.Args[0] == x86asm.R12 && i0.Args[1] == x86asm.RSP:
		// large frame: MOVQ SP, R12; SUBQ $n, R12; JCS; CMPQ R12, 16(R14); JLS.
		// The unsafe region starts at the SUBQ, which ends past the jump.
		if insts[1].Op != x86asm.SUB || insts[1].Args[0] != x86asm.R12 || i0.Len+insts[1].Len < amd64JumpLen {
			return "", true, fmt.Errorf("MOVQ SP, R12 without SUBQ after it: %v", insts[1])
		}
		return "large-frame stack check", true, nil
	}
	return "", false, nil
}

// body is what a scan of a whole function found.
type body struct {
	first     x86asm.Inst
	bounds    []int // instruction boundaries, offsets from the entry
	backEdge  bool  // a branch inside the function targets [0, amd64JumpLen)
	indirect  bool  // a computed jump (jump table) whose targets are unknown
	calls     bool
	callInJmp bool // a call returns to a boundary inside the jump
}

func scan(f Func) (body, error) {
	size := len(f.AsyncSafe)
	var b body
	for off := 0; off < size; {
		inst, err := x86asm.Decode(f.Code[off:size], 64)
		if err != nil {
			return body{}, fmt.Errorf("decode at +%d: %w", off, err)
		}
		if off == 0 {
			b.first = inst
		}
		b.bounds = append(b.bounds, off)
		end := off + inst.Len
		switch {
		case inst.Op == x86asm.CALL:
			b.calls = true
			b.callInJmp = b.callInJmp || (end > 0 && end < amd64JumpLen)
		case isBranch(inst.Op):
			if rel, ok := inst.Args[0].(x86asm.Rel); ok {
				t := end + int(rel)
				b.backEdge = b.backEdge || (t >= 0 && t < amd64JumpLen)
			} else {
				b.indirect = true
			}
		}
		off = end
	}
	return b, nil
}

func (b body) plan(f Func) (Plan, error) {
	size := len(f.AsyncSafe)
	for i := size; i < amd64JumpLen; i++ {
		if f.Code[i] != 0xCC {
			return Plan{}, fmt.Errorf("function of %d bytes followed by %#x at +%d, not padding: no room for the jump", size, f.Code[i], i)
		}
	}
	if b.callInJmp {
		return Plan{}, fmt.Errorf("a call returns inside the first %d bytes (first instruction %v)", amd64JumpLen, b.first)
	}
	framed := b.first.Op == x86asm.PUSH && b.first.Args[0] == x86asm.RBP
	parkable := func(lo, hi int) bool {
		for _, o := range b.bounds {
			if o >= lo && o < hi && f.AsyncSafe[o] {
				return true
			}
		}
		return false
	}
	if b.backEdge || (b.indirect && !framed) {
		switch {
		case !parkable(0, size):
			return Plan{Shape: "no async safe point, loops back to its entry"}, nil
		case b.calls:
			return Plan{}, fmt.Errorf("branches back into its first %d bytes and calls other functions: a goroutine may be inside it at any depth", amd64JumpLen)
		}
		return Plan{Shape: "leaf that loops back to its entry", Guard: true, Lo: 0, Hi: size}, nil
	}
	switch {
	case parkable(1, amd64JumpLen):
		return Plan{Shape: fmt.Sprintf("no stack check, first instruction %v (%d of %d bytes)", b.first, b.first.Len, amd64JumpLen), Guard: true, Lo: 1, Hi: min(amd64JumpLen, size)}, nil
	case size < amd64JumpLen:
		return Plan{Shape: fmt.Sprintf("%d-byte function, padding after it", size)}, nil
	case b.first.Len >= amd64JumpLen:
		return Plan{Shape: fmt.Sprintf("no stack check, first instruction %v (%d bytes) covers the jump", b.first, b.first.Len)}, nil
	}
	return Plan{Shape: "no async safe point in the first 5 bytes (nosplit)"}, nil
}

func isBranch(op x86asm.Op) bool {
	switch op {
	case x86asm.JMP, x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JNE,
		x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.JO, x86asm.JNO, x86asm.JP,
		x86asm.JNP, x86asm.JS, x86asm.JNS, x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ,
		x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
		return true
	}
	return false
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
