package patcher

import (
	"debug/elf"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// TestScratchRegisterDeadAtEntry records why the trampoline may clobber
// X16 (jump_arm64.go): in every function of this test binary (the runtime,
// the standard library, this package, assembly and cgo's C code alike), X16
// is written before it is read on the straight line from the entry to the
// first branch. No entry expects a value in it. The only exceptions are
// the runtime's injected calls (injected), which no call reaches.
func TestScratchRegisterDeadAtEntry(t *testing.T) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text := f.Section(".text")
	code, err := text.Data()
	if err != nil {
		t.Fatalf("read .text: %v", err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("symbols (test binaries here are linked with -s=false): %v", err)
	}
	var funcs, written, branched, ctxReads int
	var reads []string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size || s.Size < 4 {
			continue
		}
		funcs++
		fn := code[s.Value-text.Addr : s.Value-text.Addr+s.Size]
		if regAtEntry(fn, x26RE) == regRead {
			ctxReads++
		}
		switch regAtEntry(fn, x16RE) {
		case regWritten:
			written++
		case regRead:
			if !injected[strings.TrimPrefix(s.Name, "local.")] {
				reads = append(reads, s.Name)
			}
		default:
			branched++
		}
	}
	if funcs < 1000 {
		t.Fatalf("only %d functions found in .text", funcs)
	}
	if len(reads) > 0 {
		t.Errorf("%d functions read X16 before writing it: %s", len(reads), strings.Join(reads[:min(len(reads), 20)], ", "))
	}
	// The control: the same scan finds the closure context register, R26,
	// read at the entry of closures.
	if ctxReads == 0 {
		t.Errorf("no function reads R26 (the closure context) at its entry: the scan sees no reads")
	}
	t.Logf("control: %d functions read R26 (closure context) first", ctxReads)
	t.Logf("%d functions: X16 written first in %d, untouched up to the first branch in %d, read first in %d", funcs, written, branched, len(reads))
}

// injected are the functions the runtime enters without a call, at any
// instruction of the interrupted code (the signal handler's pushCall), so
// they save every register, X16 included: runtime/preempt_arm64.s and
// runtime/asm_arm64.s debugCallV2. No trampoline leads to them.
var injected = map[string]bool{"runtime.asyncPreempt.abi0": true, "runtime.debugCallV2": true}

const (
	regUntouched = iota
	regWritten
	regRead
)

var (
	x16RE = regexp.MustCompile(`\b[XW]16\b`)
	x26RE = regexp.MustCompile(`\b[XW]26\b`)
)

// readsFirstArg lists the instructions whose first operand is read, not
// (only) written.
var readsFirstArg = map[arm64asm.Op]bool{
	arm64asm.STR: true, arm64asm.STRB: true, arm64asm.STRH: true, arm64asm.STUR: true, arm64asm.STURB: true,
	arm64asm.STURH: true, arm64asm.STP: true, arm64asm.STNP: true, arm64asm.STLR: true, arm64asm.STLRB: true,
	arm64asm.STLRH: true, arm64asm.CMP: true, arm64asm.CMN: true, arm64asm.TST: true, arm64asm.CCMP: true,
	arm64asm.CCMN: true, arm64asm.CBZ: true, arm64asm.CBNZ: true, arm64asm.TBZ: true, arm64asm.TBNZ: true,
	arm64asm.BR: true, arm64asm.BLR: true, arm64asm.RET: true, arm64asm.MSR: true, arm64asm.MOVK: true,
	arm64asm.BFI: true, arm64asm.BFM: true, arm64asm.BFXIL: true, arm64asm.PRFM: true, arm64asm.SYS: true,
	arm64asm.DC: true, arm64asm.IC: true,
}

// regAtEntry follows code from its first instruction to the first
// branch, call or return and says what happened first to the register
// whose names reg matches.
func regAtEntry(code []byte, reg *regexp.Regexp) int {
	for off := 0; off+4 <= len(code); off += 4 {
		in, err := arm64asm.Decode(code[off : off+4])
		if err != nil {
			return regUntouched // data or padding: not executed straight on
		}
		read, wrote := false, false
		for i, a := range in.Args {
			if a == nil || !reg.MatchString(a.String()) {
				continue
			}
			dest := i == 0 || (i == 1 && (in.Op == arm64asm.LDP || in.Op == arm64asm.LDNP || in.Op == arm64asm.LDAXP || in.Op == arm64asm.LDXP))
			if !dest || readsFirstArg[in.Op] || isWriteback(a) {
				read = true
			} else {
				wrote = true
			}
		}
		switch {
		case read:
			return regRead
		case wrote:
			return regWritten
		}
		switch in.Op {
		case arm64asm.B, arm64asm.BL, arm64asm.BR, arm64asm.BLR, arm64asm.RET, arm64asm.CBZ, arm64asm.CBNZ,
			arm64asm.TBZ, arm64asm.TBNZ, arm64asm.ERET, arm64asm.SVC:
			return regUntouched
		}
	}
	return regUntouched
}

// isWriteback: a memory operand's base is read even when updated.
func isWriteback(a arm64asm.Arg) bool {
	_, mem := a.(arm64asm.MemImmediate)
	return mem
}
