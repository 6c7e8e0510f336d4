package hotfix

import (
	"maps"
	"runtime"
	"slices"
	"time"
)

// Metrics is a snapshot of what the agent has done in this process, for
// monitoring. Package metrics exports it to Prometheus; the names there
// are the contract, these fields are their source.
type Metrics struct {
	GoVersion string // of this binary
	BuildID   string // of this binary, as patches are built for it
	// Patches counts the patches of this process by their state now.
	Patches map[State]int
	// Events counts the decisions recorded, by the state each recorded.
	Events map[State]uint64
	// DropToLive is, for each patch applied from a file event, the time
	// from the first event of the file to the jump written.
	DropToLive Histogram
	// StoppedWorld is how long the world was stopped, per apply and revert.
	StoppedWorld Histogram
	// PluginsLoaded is how many plugins this process has opened; they stay
	// mapped until it exits. PluginsMax is limits.max_patches.
	PluginsLoaded, PluginsMax int
	// PolicyReloadErrors counts edits of the policy file that were refused
	// (the previous policy stayed in force).
	PolicyReloadErrors uint64
	// Revoked counts the applied patches whose signer the policy in force
	// no longer trusts (PatchStatus.Revoked): code running on a key that
	// was taken back.
	Revoked int
}

// Histogram is a distribution of durations in seconds, as Prometheus
// keeps one: Counts[i] is the number of observations at most Bounds[i].
type Histogram struct {
	Bounds []float64
	Counts []uint64 // cumulative
	Count  uint64
	Sum    float64
}

// Bucket bounds, in seconds: drop to live spans the quiet period of a
// copy (hundreds of milliseconds) down to a renamed file taken at once;
// the stopped world spans microseconds.
var (
	dropToLiveBounds   = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	stoppedWorldBounds = []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2}
)

// observations are the counters behind Metrics, guarded by Agent.mu.
type observations struct {
	events       map[State]uint64
	dropToLive   histogram
	stoppedWorld histogram
	plugins      int
	reloadErrors uint64
}

func newObservations() observations {
	return observations{
		events:       map[State]uint64{},
		dropToLive:   histogram{bounds: dropToLiveBounds, counts: make([]uint64, len(dropToLiveBounds))},
		stoppedWorld: histogram{bounds: stoppedWorldBounds, counts: make([]uint64, len(stoppedWorldBounds))},
	}
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

func (h *histogram) observe(d time.Duration) {
	v := d.Seconds()
	if i, _ := slices.BinarySearch(h.bounds, v); i < len(h.counts) {
		h.counts[i]++
	}
	h.count++
	h.sum += v
}

func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: slices.Clone(h.bounds), Counts: make([]uint64, len(h.counts)), Count: h.count, Sum: h.sum}
	var n uint64
	for i, c := range h.counts {
		n += c
		s.Counts[i] = n
	}
	return s
}

// Metrics returns a snapshot of the agent's counters.
func (a *Agent) Metrics() Metrics {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := Metrics{
		GoVersion:          runtime.Version(),
		Patches:            map[State]int{StateApplied: 0, StateReverted: 0, StateRefused: 0, StateFailed: 0},
		Events:             maps.Clone(a.obs.events),
		DropToLive:         a.obs.dropToLive.snapshot(),
		StoppedWorld:       a.obs.stoppedWorld.snapshot(),
		PluginsLoaded:      a.obs.plugins,
		PluginsMax:         a.pol.Limits.MaxPatches,
		PolicyReloadErrors: a.obs.reloadErrors,
	}
	if a.self != nil {
		m.BuildID = a.self.BuildID()
	}
	for _, s := range a.status {
		m.Patches[s.State]++
		if s.Revoked != "" { // kept only while its code runs (record)
			m.Revoked++
		}
	}
	return m
}
