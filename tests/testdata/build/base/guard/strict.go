package guard

// Level is small enough to inline, and guard is not allowed by
// ../policy.yaml, so it is built without -l: the release's Strict holds a
// copy of Level (TestInlinedTargetRefused).
func Level(token string) int { return len(token) % 3 }

// Strict accepts admin tokens of a level above zero.
func Strict(token string) bool {
	return Check(token) && Level(token) > 0
}
