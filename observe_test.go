package hotfix

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHistogram(t *testing.T) {
	h := histogram{bounds: []float64{0.01, 0.1, 1}, counts: make([]uint64, 3)}
	for _, d := range []time.Duration{
		5 * time.Millisecond,  // first bucket
		10 * time.Millisecond, // on a bound: counted in it (le)
		50 * time.Millisecond, // second
		2 * time.Second,       // above every bound: only in the count (+Inf)
	} {
		h.observe(d)
	}
	want := Histogram{Bounds: []float64{0.01, 0.1, 1}, Counts: []uint64{2, 3, 3}, Count: 4, Sum: 2.065}
	got := h.snapshot()
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("snapshot (-want +got), buckets are cumulative as Prometheus keeps them:\n%s", diff)
	}
}

func TestWantsText(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
		reason string
	}{
		{nil, false, "no Accept: JSON"},
		{[]string{"*/*"}, false, "curl's default: JSON"},
		{[]string{"text/plain"}, true, "the table, as hotfix status prints it"},
		{[]string{"text/plain;q=0.9, application/json"}, false, "a client that takes JSON gets JSON"},
		{[]string{"text/html", "text/plain"}, true, "several Accept headers"},
	}
	for _, tt := range tests {
		if got := wantsText(tt.accept); got != tt.want {
			t.Errorf("wantsText(%q) = %v, want %v (%s)", tt.accept, got, tt.want, tt.reason)
		}
	}
}
