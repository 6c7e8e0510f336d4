package patcher

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"testing"
	"time"
)

//go:noinline
func sink(x int) int { return x }

// BenchmarkPause measures how long the world stands still to install (and
// then remove) 1, 10 and 100 redirects: from our own timer (stopping every
// P plus the copy) and from runtime/metrics, which counts every
// stop-the-world pause that is not the GC's as "other".
func BenchmarkPause(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("funcs=%d", n), func(b *testing.B) {
			rs := make([]Redirect, n)
			for i := range rs {
				rs[i] = redirect(fmt.Sprint("benchOld", i), benchOlds[i], benchNews[i])
			}
			p := New()
			// Warm up: trampolines are mapped once per destination and
			// text pages take their copy-on-write fault on first write.
			if _, err := p.Apply("warm", rs); err != nil {
				b.Fatal(err)
			}
			if _, err := p.Revert("warm"); err != nil {
				b.Fatal(err)
			}
			before := otherPauses()
			var ours []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := p.Apply("bench", rs)
				if err != nil {
					b.Fatal(err)
				}
				ours = append(ours, st.Pause)
				if benchOlds[0](1000) != 1000 {
					b.Fatal("redirect not live")
				}
				st, err = p.Revert("bench")
				if err != nil {
					b.Fatal(err)
				}
				ours = append(ours, st.Pause)
			}
			b.StopTimer()
			after := otherPauses()
			sort.Slice(ours, func(i, j int) bool { return ours[i] < ours[j] })
			b.ReportMetric(float64(ours[len(ours)/2].Nanoseconds()), "pause-p50-ns")
			b.ReportMetric(float64(ours[len(ours)*99/100].Nanoseconds()), "pause-p99-ns")
			if d := after.count - before.count; d > 0 {
				b.ReportMetric(after.quantile(before, 0.5), "metrics-pause-p50-ns")
			}
		})
	}
}

type pauseHist struct {
	count   uint64
	buckets []float64
	counts  []uint64
}

func otherPauses() pauseHist { return pauses("/sched/pauses/total/other:seconds") }

func pauses(name string) pauseHist {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return pauseHistOf(s[0].Value.Float64Histogram())
}

func pauseHistOf(h *metrics.Float64Histogram) pauseHist {
	ph := pauseHist{buckets: h.Buckets, counts: append([]uint64(nil), h.Counts...)}
	for _, c := range h.Counts {
		ph.count += c
	}
	return ph
}

// quantile of the pauses recorded between before and p, in ns: the upper
// bound of the bucket that holds it (the lower one for the last bucket).
func (p pauseHist) quantile(before pauseHist, q float64) float64 {
	var total uint64
	for i := range p.counts {
		total += p.counts[i] - before.counts[i]
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range p.counts {
		seen += p.counts[i] - before.counts[i]
		if seen >= max(want, 1) {
			if math.IsInf(p.buckets[i+1], 1) {
				return p.buckets[i] * 1e9
			}
			return p.buckets[i+1] * 1e9
		}
	}
	return 0
}

var benchSink int

// BenchmarkCall compares a call of a redirected function (entry jump,
// trampoline, new code) with a direct call of the new code, and an
// untouched function with itself.
func BenchmarkCall(b *testing.B) {
	p := New()
	if _, err := p.Apply("call", []Redirect{redirect("benchOld1", benchOlds[1], benchNews[1])}); err != nil {
		b.Fatal(err)
	}
	defer p.Revert("call")
	b.Run("direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			benchSink += benchNew1(i)
		}
	})
	b.Run("redirected", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			benchSink += benchOld1(i)
		}
	})
	b.Run("untouched", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			benchSink += benchOld2(i)
		}
	})
}

// BenchmarkParkedPause measures the stopped-world pause of applying a
// redirect with 100 000 goroutines parked on channels, as in a network
// server: for a leaf whose window must be checked for parked goroutines
// (guarded) and for a function with a stack check (unguarded), next to the
// garbage collector's own stop-the-world pauses in the same process (it
// does not visit every goroutine while the world is stopped, and neither
// does the check: it reads the run queues). Each stop follows a quiet
// millisecond, as patches and collections do in a service: stopping the
// world right after starting it waits for the P still waking up.
func BenchmarkParkedPause(b *testing.B) {
	const parked = 100_000
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < parked; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); <-release }()
	}
	defer func() { close(release); wg.Wait() }()
	for _, c := range []struct {
		name     string
		from, to any
	}{
		{"guarded", lfShort, lfShortNew},
		{"unguarded", oldAnswer, newAnswer},
	} {
		b.Run(c.name, func(b *testing.B) {
			rs := []Redirect{redirect(c.name, c.from, c.to)}
			p := New()
			var ours, stopped []time.Duration
			for i := 0; i < b.N; i++ {
				time.Sleep(time.Millisecond)
				st, err := p.Apply("bench", rs)
				if err != nil {
					b.Fatal(err)
				}
				ours, stopped = append(ours, st.Pause), append(stopped, st.Stopped)
				if _, err := p.Revert("bench"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(median(ours).Nanoseconds()), "pause-p50-ns")
			b.ReportMetric(float64(median(stopped).Nanoseconds()), "stopped-p50-ns")
			before := gcPauses()
			for i := 0; i < 10; i++ {
				time.Sleep(time.Millisecond)
				runtime.GC()
			}
			b.ReportMetric(gcPauses().quantile(before, 0.5), "gc-stw-p50-ns")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func gcPauses() pauseHist { return pauses("/sched/pauses/total/gc:seconds") }
