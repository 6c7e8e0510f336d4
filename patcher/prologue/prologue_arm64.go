package prologue

// JumpLen is the size of the B imm26 written at a function's entry.
const JumpLen = arm64JumpLen

// PlanFor says how a Go function's first instruction can be replaced by a
// branch, or why it cannot (see planArm64).
func PlanFor(f Func) (Plan, error) { return planArm64(f) }
