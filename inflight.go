package hotfix

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// A jump changes where the next call of a function goes; a call already
// running finishes in the code it started in. For a function that waits
// (net/http's readRequest waits for a new connection's first request),
// that call can outlive the apply or the revert by minutes, so the agent
// says which replaced functions still had calls in progress in the code
// they left, right after it wrote their jumps (TestStdFixInlinedKeep).

// inflightLimit is how many goroutine stacks the check reads at most, to
// bound its cost in a service with very many goroutines.
const inflightLimit = 100_000

// callsInProgress returns, for each function whose code starts at an
// entry of entries (entry to name), how many goroutines have a frame in
// it. Only the innermost 32 frames of a goroutine are seen
// (runtime.StackRecord).
func callsInProgress(entries map[uintptr]string) map[string]int {
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
	return framesIn(stacks, entries, funcEntry)
}

// funcEntry is the entry of the function whose code holds the return
// address pc (the outermost, where pc is in an inlined body), 0 for none.
func funcEntry(pc uintptr) uintptr {
	if f := runtime.FuncForPC(pc - 1); f != nil {
		return f.Entry()
	}
	return 0
}

// framesIn counts, for each function of entries, the stacks with a
// return address in its code, as entryOf places it.
func framesIn(stacks [][]uintptr, entries map[uintptr]string, entryOf func(pc uintptr) uintptr) map[string]int {
	counts := map[string]int{}
	for _, pcs := range stacks {
		seen := map[string]bool{}
		for _, pc := range pcs {
			if fn, ok := entries[entryOf(pc)]; ok && !seen[fn] {
				seen[fn] = true
				counts[fn]++
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
