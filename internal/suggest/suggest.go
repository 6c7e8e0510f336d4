// Package suggest finds the "did you mean" for a misspelled name.
package suggest

// Closest returns the name of known nearest to s by edit distance, if it
// is under limit edits away, or "".
func Closest(s string, known []string, limit int) string {
	best, bestDist := "", limit
	for _, k := range known {
		if dist := editDistance(s, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
