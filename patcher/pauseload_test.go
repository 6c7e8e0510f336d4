package patcher

import (
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPauseUnderLoad puts the apply pause, the revert pause and the
// garbage collector's own stop-the-world pauses side by side, in one
// process under one load. Each apply and revert runs as the agent's do: on
// the goroutine woken by an event (here a channel receive every
// millisecond), with nothing in between. The load is servers: goroutines
// woken by short timers, calling the redirected functions and allocating,
// so the collector runs on its own and Ps keep going idle and being woken;
// "saturated" adds a goroutine per P that computes and allocates without
// pause, so no P is ever idle.
//
// Reported: Stats.Pause of apply and revert (what the agent exports as
// hotfix_stopped_world_seconds), the same pauses as runtime/metrics
// measures them ("rt-": the histogram bucket, which also counts the start
// of the world), the collector's pauses by that same instrument (in all,
// and the part spent stopping), and Stats.Settle, the wait before each
// stop with the world running.
func BenchmarkPauseUnderLoad(b *testing.B) {
	for _, c := range []struct {
		name string
		hogs int
	}{
		{"servers", 0},
		{"saturated", runtime.GOMAXPROCS(0)},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := startPauseLoad(2*runtime.GOMAXPROCS(0), c.hogs)
			defer l.finish()
			rs := []Redirect{redirect("benchOld0", benchOld0, benchNew0), redirect("benchOld1", benchOld1, benchNew1)}
			p := New()
			// Warm up: trampolines are mapped once per destination and
			// text pages take their copy-on-write fault on first write.
			if _, err := p.Apply("warm", rs); err != nil {
				b.Fatal(err)
			}
			if _, err := p.Revert("warm"); err != nil {
				b.Fatal(err)
			}
			r := runPauseLoad(b, p, rs)
			b.StopTimer()
			r.report(b)
		})
	}
}

// pauseRun is what one run of BenchmarkPauseUnderLoad saw.
type pauseRun struct {
	ours, rt, settle [2][]float64 // ns; [0] apply, [1] revert
	gc0, gc1         pauseHist    // /sched/pauses/total/gc:seconds
	gcStop0, gcStop1 pauseHist    // /sched/pauses/stopping/gc:seconds
}

// runPauseLoad applies and reverts rs b.N times each, every one on the
// goroutine a channel receive just woke, as the agent's loop does.
func runPauseLoad(b *testing.B, p *Patcher, rs []Redirect) *pauseRun {
	r := &pauseRun{gc0: gcPauses(), gcStop0: pauses("/sched/pauses/stopping/gc:seconds")}
	events := make(chan int)
	go func() {
		defer close(events)
		for i := 0; i < 2*b.N; i++ {
			time.Sleep(time.Millisecond)
			events <- i
		}
	}()
	other := []metrics.Sample{{Name: "/sched/pauses/total/other:seconds"}}
	b.ResetTimer()
	for i := range events {
		metrics.Read(other)
		before := pauseHistOf(other[0].Value.Float64Histogram())
		var st Stats
		var err error
		if i%2 == 0 {
			st, err = p.Apply("bench", rs)
		} else {
			st, err = p.Revert("bench")
		}
		if err != nil {
			b.Fatal(err)
		}
		metrics.Read(other)
		after := pauseHistOf(other[0].Value.Float64Histogram())
		r.ours[i%2] = append(r.ours[i%2], float64(st.Pause))
		r.rt[i%2] = append(r.rt[i%2], after.quantile(before, 0.5))
		r.settle[i%2] = append(r.settle[i%2], float64(st.Settle))
	}
	r.gc1, r.gcStop1 = gcPauses(), pauses("/sched/pauses/stopping/gc:seconds")
	return r
}

func (r *pauseRun) report(b *testing.B) {
	for i, op := range []string{"apply", "revert"} {
		b.ReportMetric(quantile(r.ours[i], 0.5), op+"-p50-ns")
		b.ReportMetric(quantile(r.ours[i], 0.99), op+"-p99-ns")
		b.ReportMetric(quantile(r.rt[i], 0.5), "rt-"+op+"-p50-ns")
		b.ReportMetric(quantile(r.settle[i], 0.5), op+"-settle-p50-ns")
	}
	if r.gc1.count > r.gc0.count {
		b.ReportMetric(r.gc1.quantile(r.gc0, 0.5), "rt-gc-p50-ns")
		b.ReportMetric(r.gc1.quantile(r.gc0, 0.99), "rt-gc-p99-ns")
		b.ReportMetric(r.gcStop1.quantile(r.gcStop0, 0.5), "rt-gc-stopping-p50-ns")
		b.ReportMetric(float64(r.gc1.count-r.gc0.count), "gc-stws")
	}
}

func quantile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// pauseLoad is the load of BenchmarkPauseUnderLoad.
type pauseLoad struct {
	stop atomic.Bool
	wg   sync.WaitGroup
	sink atomic.Int64
}

func startPauseLoad(servers, hogs int) *pauseLoad {
	l := &pauseLoad{}
	for i := 0; i < servers; i++ {
		l.wg.Add(1)
		go l.server(uint64(i))
	}
	for i := 0; i < hogs; i++ {
		l.wg.Add(1)
		go l.hog()
	}
	return l
}

// server wakes on a short timer, as a request would wake it, calls the
// redirected functions and keeps some of what it allocates.
func (l *pauseLoad) server(seed uint64) {
	defer l.wg.Done()
	rng := rand.New(rand.NewPCG(seed, 7))
	keep := make([][]byte, 512)
	s := 0
	for i := 0; !l.stop.Load(); i++ {
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Microsecond)
		for k := 0; k < 200; k++ {
			s += benchOld0(k) + benchOld1(k)
		}
		keep[i%len(keep)] = make([]byte, 1024+rng.IntN(16384))
	}
	l.sink.Add(int64(s))
}

// hog computes and allocates without ever waiting.
func (l *pauseLoad) hog() {
	defer l.wg.Done()
	keep := make([][]byte, 1024)
	s := 0
	for i := 0; !l.stop.Load(); i++ {
		for k := 0; k < 1000; k++ {
			s += k
		}
		if i%16 == 0 {
			keep[i/16%len(keep)] = make([]byte, 4096)
		}
	}
	l.sink.Add(int64(s))
}

func (l *pauseLoad) finish() {
	l.stop.Store(true)
	l.wg.Wait()
}
