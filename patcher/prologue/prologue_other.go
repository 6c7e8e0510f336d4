//go:build !amd64 && !arm64

package prologue

import "errors"

// JumpLen is the size of the jump written at a function's entry.
const JumpLen = 5

// PlanFor refuses everything on architectures without a patch engine.
func PlanFor(f Func) (Plan, error) {
	return Plan{}, errors.New("no patch engine for this architecture")
}
