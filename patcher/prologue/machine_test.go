package prologue

import (
	"debug/elf"
	"strings"
	"testing"
)

// TestPlanForMachine: the same bytes are judged as the machine whose code
// they are, on whatever machine the check runs.
func TestPlanForMachine(t *testing.T) {
	// CMPQ SP, 16(R14); JLS; PUSHQ BP: amd64's small-frame stack check.
	amd64Code := pad(0x49, 0x3b, 0x66, 0x10, 0x76, 0x27, 0x55)
	// MOVD 16(g), R16; CMP R16, RSP; BLS: arm64's stack check (stSmallArm64).
	arm64Code := a64(stSmallArm64...)
	tests := []struct {
		name    string
		machine elf.Machine
		f       Func
		want    string // shape, or the refusal's substring after "!"
		reason  string
	}{
		{"amd64 code as amd64", elf.EM_X86_64, Func{Code: amd64Code, AsyncSafe: safe(7)}, "small-frame stack check", "verify of an amd64 binary"},
		{"arm64 code as arm64", elf.EM_AARCH64, Func{Code: arm64Code, AsyncSafe: allSafe(4 * len(stSmallArm64))}, "4-byte B over the first instruction of the stack check", "verify of an arm64 binary, on any build machine"},
		{"other machine", elf.EM_RISCV, Func{Code: amd64Code, AsyncSafe: safe(7)}, "!no patch engine for EM_RISCV code", "a binary hotfix cannot patch is refused, not decoded as the build machine's code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanForMachine(tt.machine, tt.f)
			if want, ok := strings.CutPrefix(tt.want, "!"); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("PlanForMachine = %+v, %v; want refusal %q (%s)", plan, err, want, tt.reason)
				}
				return
			}
			if err != nil || plan.Shape != tt.want {
				t.Fatalf("PlanForMachine = %+v, %v; want shape %q (%s)", plan, err, tt.want, tt.reason)
			}
		})
	}
	if JumpLenFor(elf.EM_X86_64) != 5 || JumpLenFor(elf.EM_AARCH64) != 4 || JumpLenFor(elf.EM_RISCV) != 0 {
		t.Fatalf("JumpLenFor: amd64 %d, arm64 %d, riscv %d; want 5, 4, 0", JumpLenFor(elf.EM_X86_64), JumpLenFor(elf.EM_AARCH64), JumpLenFor(elf.EM_RISCV))
	}
}

// TestStackChecked: only the compiler's stack-bound check at the entry
// counts, on the machine whose code it is.
func TestStackChecked(t *testing.T) {
	tests := []struct {
		name    string
		machine elf.Machine
		code    []byte
		want    bool
	}{
		{"amd64 small frame", elf.EM_X86_64, pad(0x49, 0x3b, 0x66, 0x10, 0x76, 0x27, 0x55), true},
		{"amd64 frameless leaf", elf.EM_X86_64, pad(0x48, 0x01, 0xd8, 0xc3, 0x90, 0x90, 0x90, 0x90), false},
		{"amd64 CMPQ SP without JLS", elf.EM_X86_64, pad(0x49, 0x3b, 0x66, 0x10, 0x90, 0x90, 0x90, 0x90), false},
		{"amd64 too short to decode", elf.EM_X86_64, []byte{0x49, 0x3b}, false},
		{"arm64 stack check", elf.EM_AARCH64, a64(stSmallArm64...), true},
		{"arm64 frame without check", elf.EM_AARCH64, a64(0xf81c0ffe, 0xd65f03c0), false},
		{"amd64 code as arm64", elf.EM_AARCH64, pad(0x49, 0x3b, 0x66, 0x10, 0x76, 0x27, 0x55), false},
		{"other machine", elf.EM_RISCV, a64(stSmallArm64...), false},
	}
	for _, tt := range tests {
		if got := StackChecked(tt.machine, tt.code); got != tt.want {
			t.Errorf("%s: StackChecked = %v, want %v", tt.name, got, tt.want)
		}
	}
}
