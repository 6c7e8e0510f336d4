package prologue

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64JumpLen is the size of the B imm26 written at an arm64 function's
// entry: one instruction.
const arm64JumpLen = 4

// planArm64 is PlanFor on arm64. It is built on every architecture, so that
// its table tests run on the build machine too.
//
// Every arm64 instruction is 4 bytes and 4-aligned, and the jump replaces
// exactly the first one. No instruction boundary lies inside the replaced
// bytes, so no goroutine can resume inside them: one parked at the entry
// takes the jump as a new call would, one parked at entry+4 or later
// finishes in the old code, and a call's return address is never inside
// (a BL at the entry returns to entry+4). The amd64 windows (prologue_amd64.go)
// and the guard for them do not exist here, whatever the prologue: stack
// check or none, //go:nosplit or not, and the stack-check load itself
// (MOVD 16(g), R16), which obj7.go stacksplit leaves async-safe, is one
// whole instruction.
//
// What is left is a branch inside the function to its entry. The entry is
// then not only where calls arrive: a goroutine looping back to it (a leaf
// whose loop starts at the entry, as `for p.Load() == 0 {}` compiles) would
// enter the new code with the loop's registers. As on amd64, such a
// function is guarded whole, so that it is patched only while no goroutine
// is inside it, and refused if it also calls out (a goroutine inside it may
// then be parked at any depth). One branch to the entry is harmless and
// exempt: the stack-split tail's `B start` after `BL runtime.morestack`
// (obj7.go stacksplit), taken with the arguments reloaded, as a new call.
// A computed jump (BR, a jump table) in a function without a frame is
// taken as a possible branch to the entry.
//
// Words that do not decode are skipped, except the first: the assembler's
// literal pools lie inside functions, and every branch instruction decodes,
// so a data word cannot hide one. The UDF padding (zero words) after a
// function is never executed.
func planArm64(f Func) (Plan, error) {
	size := len(f.AsyncSafe)
	switch {
	case size == 0:
		return Plan{}, fmt.Errorf("no unsafe-point table: the function's size is not known")
	case len(f.Code) < max(arm64JumpLen, size):
		return Plan{}, fmt.Errorf("%d bytes of code for a function of %d bytes", len(f.Code), size)
	case size%4 != 0:
		return Plan{}, fmt.Errorf("function of %d bytes: not a whole number of 4-byte instructions", size)
	}
	insts := make([]arm64asm.Inst, size/4)
	for i := range insts {
		insts[i], _ = arm64asm.Decode(f.Code[4*i : 4*i+4]) // Op 0: not an instruction
	}
	if insts[0].Op == 0 {
		return Plan{}, fmt.Errorf("first word %#08x is not an instruction", binary.LittleEndian.Uint32(f.Code))
	}
	toEntry, calls := false, false
	framed := isStackCheckLoad(insts[0]) || writesSP(insts[0])
	for i, in := range insts {
		switch in.Op {
		case arm64asm.BL, arm64asm.BLR:
			calls = true
		case arm64asm.BR:
			toEntry = toEntry || !framed
		case arm64asm.B, arm64asm.CBZ, arm64asm.CBNZ, arm64asm.TBZ, arm64asm.TBNZ:
			if t, ok := branchTarget(in, 4*i); ok && t == 0 && !isMorestackRetry(insts, i) {
				toEntry = true
			}
		}
	}
	switch {
	case !toEntry && isStackCheckLoad(insts[0]):
		// Named like the amd64 shapes, for patchbuild's coverage classes.
		return Plan{Shape: "4-byte B over the first instruction of the stack check"}, nil
	case !toEntry:
		return Plan{Shape: fmt.Sprintf("no stack check, 4-byte B over the first instruction, %v", insts[0])}, nil
	}
	parkable := false
	for i := 0; i < size; i += 4 {
		parkable = parkable || f.AsyncSafe[i]
	}
	switch {
	case !parkable:
		return Plan{Shape: "no async safe point, loops back to its entry"}, nil
	case calls:
		return Plan{}, fmt.Errorf("branches back to its entry and calls other functions: a goroutine may be inside it at any depth")
	}
	return Plan{Shape: "leaf that loops back to its entry", Guard: true, Lo: 0, Hi: size}, nil
}

// branchTarget is where a direct branch at offset off goes, as an offset
// from the entry.
func branchTarget(in arm64asm.Inst, off int) (int, bool) {
	for _, a := range in.Args {
		if rel, ok := a.(arm64asm.PCRel); ok {
			return off + int(rel), true
		}
	}
	return 0, false
}

// isStackCheckLoad matches MOVD 16(g), R16 (LDR X16, [X28,#16]): the load
// of g.stackguard0 that starts every stack-split prologue (obj7.go).
func isStackCheckLoad(in arm64asm.Inst) bool {
	return in.Op == arm64asm.LDR && in.Args[0] == arm64asm.X16 && in.Args[1].String() == "[X28,#16]"
}

// writesSP matches the first instruction of a frame set up without a stack
// check: MOVD.W R30, -n(RSP) or SUB $n, RSP.
func writesSP(in arm64asm.Inst) bool {
	if m, ok := in.Args[1].(arm64asm.MemImmediate); ok && in.Op == arm64asm.STR {
		return m.Base == arm64asm.RegSP(arm64asm.SP) && m.Mode == arm64asm.AddrPreIndex
	}
	return in.Op == arm64asm.SUB && in.Args[0] == arm64asm.RegSP(arm64asm.SP)
}

// isMorestackRetry reports whether the branch at insts[i] is the end of the
// stack-split tail: MOVD R30, R3; BL runtime.morestack*; the argument
// registers reloaded from the stack; B start.
func isMorestackRetry(insts []arm64asm.Inst, i int) bool {
	if !isStackCheckLoad(insts[0]) || insts[i].Op != arm64asm.B || insts[i].Args[1] != nil {
		return false
	}
	j := i - 1
	for ; j > 0 && isLoadFromSP(insts[j]); j-- {
	}
	return j > 0 && insts[j].Op == arm64asm.BL && insts[j-1].Op == arm64asm.MOV &&
		insts[j-1].Args[0] == arm64asm.X3 && insts[j-1].Args[1] == arm64asm.X30
}

// isLoadFromSP matches the reload of argument registers (single or in
// pairs, integer or floating point) from their spill slots.
func isLoadFromSP(in arm64asm.Inst) bool {
	mem := 1
	switch in.Op {
	case arm64asm.LDR, arm64asm.LDRB, arm64asm.LDRH, arm64asm.LDRSB, arm64asm.LDRSH, arm64asm.LDRSW:
	case arm64asm.LDP:
		mem = 2
	default:
		return false
	}
	m, ok := in.Args[mem].(arm64asm.MemImmediate)
	return ok && m.Base == arm64asm.RegSP(arm64asm.SP) && m.Mode == arm64asm.AddrOffset
}
