package prologue

import (
	"debug/elf"
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
)

// PlanForMachine is PlanFor for code of the given ELF machine, whatever
// the build machine is: `hotfix verify` and `hotfix build` check an arm64
// binary on an amd64 machine and the other way round. It refuses a machine
// without a patch engine.
func PlanForMachine(m elf.Machine, f Func) (Plan, error) {
	switch m {
	case elf.EM_X86_64:
		return planAmd64(f)
	case elf.EM_AARCH64:
		return planArm64(f)
	}
	return Plan{}, fmt.Errorf("no patch engine for %v code", m)
}

// JumpLenFor is the size of the jump written at a function's entry on the
// given ELF machine (0 for a machine without a patch engine).
func JumpLenFor(m elf.Machine) int {
	switch m {
	case elf.EM_X86_64:
		return amd64JumpLen
	case elf.EM_AARCH64:
		return arm64JumpLen
	}
	return 0
}

// StackChecked reports whether code, a function's bytes from its entry
// (16 at least), starts with the stack-bound check the compiler writes
// into every function it does not make //go:nosplit (obj6.go and obj7.go,
// stacksplit): such a function grows its own stack, whoever calls it.
func StackChecked(m elf.Machine, code []byte) bool {
	switch m {
	case elf.EM_X86_64:
		_, ok, err := stackCheck(code)
		return ok && err == nil
	case elf.EM_AARCH64:
		if len(code) < 4 {
			return false
		}
		in, err := arm64asm.Decode(code[:4])
		return err == nil && isStackCheckLoad(in)
	}
	return false
}
