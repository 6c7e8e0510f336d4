package hotfix

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/patcher"
)

// A jump changes where the next call of a function goes; a call already
// running finishes in the code it started in. For a function that waits
// (net/http's readRequest waits for a new connection's first request),
// that call can outlive the apply by minutes, so the agent says which
// replaced functions still had calls in progress in the release's code
// right after it wrote their jumps (TestStdFixInlinedKeep).

// inflightLimit is how many goroutine stacks the check reads at most, to
// bound its cost in a service with very many goroutines.
const inflightLimit = 100_000

// callsInProgress returns, for each function of rs, how many goroutines
// have a frame inside its release code: calls that began before the jump.
// Only the innermost 32 frames of a goroutine are seen
// (runtime.StackRecord).
func callsInProgress(rs []patcher.Redirect) map[string]int {
	n, _ := runtime.GoroutineProfile(nil)
	if n > inflightLimit {
		return nil
	}
	recs := make([]runtime.StackRecord, n+n/4+8)
	n, ok := runtime.GoroutineProfile(recs)
	if !ok {
		return nil
	}
	stacks := make([][]uintptr, n)
	for i := range recs[:n] {
		stacks[i] = recs[i].Stack()
	}
	return framesIn(stacks, rs)
}

// framesIn counts, for each function of rs, the stacks with a return
// address inside its code (after its entry, before its end).
func framesIn(stacks [][]uintptr, rs []patcher.Redirect) map[string]int {
	counts := map[string]int{}
	for _, pcs := range stacks {
		for _, r := range rs {
			end := r.From + uintptr(len(r.AsyncSafe))
			if slices.ContainsFunc(pcs, func(pc uintptr) bool { return pc > r.From && pc < end }) {
				counts[r.Func]++
			}
		}
	}
	return counts
}

// inflightText is counts for a log line: "net/http.readRequest: 1", sorted.
func inflightText(counts map[string]int) string {
	var parts []string
	for fn, n := range counts {
		parts = append(parts, fmt.Sprintf("%s: %d", fn, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
