//go:build !amd64

package prologue

import "errors"

// JumpLen is the size of the jump written at a function's entry.
const JumpLen = 5

// Check refuses everything on architectures without a patch engine.
func Check(f Func) (Plan, error) {
	return Plan{}, errors.New("no patch engine for this architecture")
}
