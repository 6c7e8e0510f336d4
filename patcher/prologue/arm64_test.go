package prologue

import (
	"encoding/binary"
	"strings"
	"testing"
)

// a64 assembles arm64 instruction words (as `go tool objdump` prints them
// for the test binary built with GOARCH=arm64) and the zero (UDF) padding
// the linker puts after a function.
func a64(words ...uint32) []byte {
	b := make([]byte, 4*len(words)+16)
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func allSafe(n int) []bool {
	s := make([]bool, n)
	for i := range s {
		s[i] = true
	}
	return s
}

// stSmallArm64 is patcher.stSmall compiled for arm64 by Go 1.26: the
// stack-split prologue, two calls, and the tail MOVD R30, R3; BL
// runtime.morestack_noctxt; MOVD 8(RSP), R0; B start.
var stSmallArm64 = []uint32{
	0xf9400b90, 0xeb3063ff, 0x54000229, 0xf81c0ffe, 0xf81f83fd, 0xd10023fd,
	0xd503201f, 0xd2800141, 0x97f6e5a4, 0xd2800122, 0xaa0003e3, 0xaa0103e4,
	0xaa1f03e0, 0x900005e1, 0x91384421, 0x97f880c5, 0xf85f83fd, 0xf84407fe,
	0xd65f03c0, 0xf90007e0, 0xaa1e03e3, 0x97f8feef, 0xf94007e0, 0x17ffffe9,
}

func with(ws []uint32, i int, w uint32) []uint32 {
	c := append([]uint32(nil), ws...)
	c[i] = w
	return c
}

func TestPlanArm64(t *testing.T) {
	const nop, ret = 0xd503201f, 0xd65f03c0
	const split = "4-byte B over the first instruction of the stack check"
	loop := []uint32{nop, 0x88dffc01, 0x34ffffc1, 0xb24003e0, ret} // lfWait: NOP; LDARW (R0), R1; CBZW R1, entry
	tests := []struct {
		name      string
		code      []byte
		asyncSafe []bool
		want      Plan   // when err is ""
		err       string // substring of the refusal
		reason    string
	}{
		{"stack-split prologue", a64(stSmallArm64...), allSafe(96), Plan{Shape: split}, "",
			"the async-safe stack-check load is one whole instruction; the morestack tail's B start is a new call"},
		{"stack-split prologue, two arguments reloaded as a pair", a64(0xf9400b90, 0xeb3063ff, 0x54000069, 0xd65f03c0, 0xa90087e0, 0xaa1e03e3, 0x97f8d1ce, 0xa94087e0, 0x17fffff8), allSafe(36),
			Plan{Shape: split}, "",
			"pkWait's tail: STP (R0, R1), 8(RSP) ... LDP 8(RSP), (R0, R1); B start"},
		{"frameless leaf", a64(0x8b010000, ret), allSafe(8), Plan{Shape: "no stack check, 4-byte B over the first instruction, ADD X0, X0, X1"}, "",
			"a goroutine parked at entry+4 resumes in the old code, past the jump: no guard (amd64 guards this shape)"},
		{"nosplit leaf", a64(0x9b017c01, 0x91000420, ret), make([]bool, 12), Plan{Shape: "no stack check, 4-byte B over the first instruction, MUL X1, X0, X1"}, "",
			"nothing to check either"},
		{"leaf with a frame, no stack check", a64(0xf81b0ffe, 0xf81f83fd, 0xd10023fd, 0x910143ff, ret), allSafe(20), Plan{Shape: "no stack check, 4-byte B over the first instruction, STR X30, [SP,#-80]!"}, "",
			"lfFramed: the assembler made it nosplit"},
		{"recursive call to its own entry", a64(0xf9400b90, 0x97ffffff, ret), allSafe(12), Plan{Shape: split}, "",
			"a BL to the entry is a call: it takes the new code as every caller does"},
		{"literal pool word inside", a64(0x58000040, ret, 0, 0x12345678), allSafe(16), Plan{Shape: "no stack check, 4-byte B over the first instruction, LDR X0, .+0x8"}, "",
			"data words are skipped; they cannot hide a branch"},
		{"undecodable first word", a64(0, ret), allSafe(8), Plan{}, "is not an instruction",
			"a Go function starts with code: never guess at what we cannot read"},
		{"loop at the entry", a64(loop...), allSafe(20), Plan{Shape: "leaf that loops back to its entry", Guard: true, Lo: 0, Hi: 20}, "",
			"lfWait: a goroutine still in the loop would branch onto the jump with the loop's registers"},
		{"loop at the entry, nosplit", a64(loop...), make([]bool, 20), Plan{Shape: "no async safe point, loops back to its entry"}, "",
			"no goroutine can be stopped inside it"},
		{"loop at the entry with a call", a64(nop, 0x97ffff00, 0x34ffffc1, ret), allSafe(16), Plan{}, "calls other functions",
			"a goroutine inside it may be parked at any depth"},
		{"B start without the morestack call before it", a64(with(stSmallArm64, 20, nop)...), allSafe(96), Plan{}, "branches back to its entry",
			"only the stack-split tail is exempt"},
		{"jump table in a frameless leaf", a64(0xd61f0020, ret), allSafe(8), Plan{Shape: "leaf that loops back to its entry", Guard: true, Lo: 0, Hi: 8}, "",
			"BR X1: its targets are not known"},
		{"jump table behind a frame", a64(0xf81b0ffe, 0xd61f0020, ret), allSafe(12), Plan{Shape: "no stack check, 4-byte B over the first instruction, STR X30, [SP,#-80]!"}, "",
			"no target can be the entry, which opens the frame"},
		{"no table", a64(ret), nil, Plan{}, "no unsafe-point table", "the size comes with the table"},
		{"code shorter than the function", a64(ret)[:4], allSafe(8), Plan{}, "4 bytes of code for a function of 8 bytes", "never decode past what was read"},
		{"size not a multiple of 4", a64(ret), allSafe(6), Plan{}, "not a whole number", "a symbol size no arm64 function has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planArm64(Func{Code: tt.code, AsyncSafe: tt.asyncSafe})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("planArm64 = %+v, %v; want an error with %q (%s)", got, err, tt.err, tt.reason)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("planArm64 = %+v, %v\nwant %+v (%s)", got, err, tt.want, tt.reason)
			}
		})
	}
}

// FuzzPlanArm64: no bytes make the arm64 classifier panic, and a guarded
// window lies in the function.
func FuzzPlanArm64(f *testing.F) {
	f.Add(a64(stSmallArm64...), uint8(96), uint8(0xff))
	f.Add(a64(0xd503201f, 0x88dffc01, 0x34ffffc1, 0xb24003e0, 0xd65f03c0), uint8(20), uint8(0xff))
	f.Fuzz(func(t *testing.T, code []byte, size, safeBits uint8) {
		as := make([]bool, int(size))
		for i := range as {
			as[i] = safeBits&(1<<(i%8)) != 0
		}
		plan, err := planArm64(Func{Code: code, AsyncSafe: as})
		if err == nil && plan.Guard && (plan.Lo < 0 || plan.Hi > len(as) || plan.Lo >= plan.Hi) {
			t.Fatalf("window [%d, %d) of a %d-byte function", plan.Lo, plan.Hi, len(as))
		}
	})
}
