package prologue

// JumpLen is the size of the JMP rel32 written at a function's entry.
const JumpLen = amd64JumpLen

// PlanFor decodes a Go function and says how its first JumpLen bytes can be
// replaced with no goroutine ever resuming inside them, or why they cannot
// (see planAmd64).
func PlanFor(f Func) (Plan, error) { return planAmd64(f) }
