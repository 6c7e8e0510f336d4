package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/stresshost/rates"
	"example.com/stresshost/shapes"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher"
)

// Taken before main runs, so before any patch: calls through them must
// follow the patches all the same.
var (
	counter                    = &shapes.Counter{Base: 7}
	val                        = shapes.Val{A: 3, B: 1}
	square        shapes.Shape = &shapes.Square{Side: 5}
	valuer                     = interface{ Value(int) string }(val)
	stored                     = shapes.Plain
	bound                      = counter.Ptr
	versionsKnown              = []string{"v0", "v1", "v2"}
)

// check is one call site: an answer is right when it is prefix, a space,
// one of versionsKnown, then suffix(x).
type check struct {
	name   string
	prefix string
	call   func(x int) string
	suffix func(x int) string
}

func num(n int) string { return " " + strconv.Itoa(n) }

var checks = []check{
	{"pointer method", "ptr", func(x int) string { return counter.Ptr(x) }, func(x int) string { return num(7 + x) }},
	{"method value bound before the patch", "ptr", func(x int) string { return bound(x) }, func(x int) string { return num(7 + x) }},
	{"value method", "value", func(x int) string { return val.Value(x) }, func(x int) string { return num(3*x + 1) }},
	{"value method through an interface (wrapper)", "value", func(x int) string { return valuer.Value(x) }, func(x int) string { return num(3*x + 1) }},
	{"method through an interface", "area", func(x int) string { return square.Area(x) }, func(x int) string { return num(25 + x) }},
	{"func value stored before the patch", "plain", func(x int) string { return stored(x) }, func(x int) string { return num(x) }},
	{"recursive", "rec", func(x int) string { return shapes.Rec(x%32, 0) }, func(x int) string { n := x % 32; return num(n * (n + 1) / 2) }},
	{"defer/recover", "guard", shapes.Guard, func(x int) string {
		if x%4 == 0 {
			return " recovered" + num(x)
		}
		return num(x)
	}},
	{"medium frame", "medium", shapes.Medium, func(x int) string { return num(int(byte(x+x%512)) + int(byte(x+(x+7)%512))) }},
	{"large frame (> 4 KiB)", "big", shapes.Big, func(x int) string { return num(int(byte(x^(x%8192))) + int(byte(x^((x*31)%8192)))) }},
	{"plain function", "hello w", func(int) string { return shapes.Hello("w") }, func(int) string { return "" }},
}

// hotSite is a call site of a cheap function answering 4x plus the version.
type hotSite struct {
	name string
	call func(int) int
}

// hots are call sites of the cheap functions, called hotCalls times after
// each checked call; their answers are 4x plus the version number.
var hots = []hotSite{
	{"hot small frame", shapes.HotSmall},
	{"hot medium frame", shapes.HotMedium},
	{"leaf, long first instruction", shapes.LeafLong},
	{"leaf, short first instruction", shapes.LeafShort},
	{"leaf with a small frame (PUSHQ BP)", shapes.LeafFramed},
	{"leaf looping at its entry (NOP)", func(x int) int { return shapes.LeafLoop(&notBusy, x) }},
	{"leaf, //go:nosplit", shapes.LeafNoSplit},
}

// inlinedHots are call sites of functions holding inlined copies of
// rates.Rate, and of Rate itself through a func value; a run started with
// ?inlined=1 calls them too. Their answers are 4x plus the version number.
var inlinedHots = []hotSite{
	{"inlined: Rate through a func value", rates.Rate},
	{"inlined: in a plain function", rates.Priced},
	{"inlined: in a method", meter.Read},
	{"inlined: twice in a loop", rates.Looped},
	{"inlined: in a closure made before the patch", boundRate},
}

var (
	meter     = &rates.Meter{Unit: 1}
	boundRate = rates.Bound()
)

// notBusy is zero: LeafLoop's loop runs once.
var notBusy int32

const hotCalls = 256

// verify returns the version that answered, and whether the answer is
// exactly what that version computes.
func (c *check) verify(got string, x int) (string, bool) {
	rest, ok := strings.CutPrefix(got, c.prefix+" ")
	if !ok || len(rest) < 2 {
		return "", false
	}
	ver := rest[:2]
	known := false
	for _, v := range versionsKnown {
		known = known || v == ver
	}
	return ver, known && rest[2:] == c.suffix(x)
}

// Report is what a stress run saw.
type Report struct {
	Workers  int
	Calls    int64
	Wrong    int64
	Examples []string                    // the first wrong answers
	Seen     map[string]map[string]int64 // check -> version -> answers
	GCs      uint32                      // garbage collections during the run
	Took     time.Duration

	// Set by /selfstress only.
	Cycles    int
	Redirects int
	MaxPause  time.Duration
	MeanPause time.Duration
	Retries   int // stops given up: a goroutine was parked inside a window
	Err       string
}

// run is one set of caller and allocator goroutines.
type run struct {
	hots    []hotSite // hots, then inlinedHots with ?inlined=1
	stop    atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	rep     Report
	gc0     uint32
	started time.Time
}

func startRun(workers int, inlined bool) *run {
	if workers <= 0 {
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	r := &run{started: time.Now(), hots: hots}
	if inlined {
		r.hots = append(slices.Clip(hots), inlinedHots...)
	}
	r.rep.Workers = workers
	r.rep.Seen = map[string]map[string]int64{}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.gc0 = ms.NumGC
	for w := 0; w < workers; w++ {
		r.wg.Add(1)
		go r.caller(w)
	}
	for a := 0; a < 2; a++ {
		r.wg.Add(1)
		go r.allocator(a)
	}
	return r
}

func (r *run) caller(w int) {
	defer r.wg.Done()
	seen := make([]map[string]int64, len(checks))
	for i := range seen {
		seen[i] = map[string]int64{}
	}
	hot := make([][3]int64, len(r.hots))
	var calls, wrong int64
	var examples []string
	x := w * 1_000_000_000
	for i := 0; ; i++ {
		if i&15 == 0 && r.stop.Load() {
			break
		}
		c := &checks[i%len(checks)]
		x++
		got := c.call(x)
		ver, ok := c.verify(got, x)
		calls++
		if !ok {
			wrong++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("%s(%d) = %q", c.name, x, got))
			}
			continue
		}
		seen[i%len(checks)][ver]++
		h := &r.hots[i%len(r.hots)]
		for k := 0; k < hotCalls; k++ {
			got := h.call(x+k) - 4*(x+k)
			if got < 0 || got >= len(versionsKnown) {
				wrong++
				if len(examples) < 5 {
					examples = append(examples, fmt.Sprintf("%s(%d) = 4x%+d", h.name, x+k, got))
				}
				continue
			}
			hot[i%len(r.hots)][got]++
		}
		calls += hotCalls
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Calls += calls
	r.rep.Wrong += wrong
	if len(r.rep.Examples) < 10 {
		r.rep.Examples = append(r.rep.Examples, examples...)
	}
	for i, m := range seen {
		dst := r.rep.Seen[checks[i].name]
		if dst == nil {
			dst = map[string]int64{}
			r.rep.Seen[checks[i].name] = dst
		}
		for v, n := range m {
			dst[v] += n
		}
	}
	for i, ns := range hot {
		dst := r.rep.Seen[r.hots[i].name]
		if dst == nil {
			dst = map[string]int64{}
			r.rep.Seen[r.hots[i].name] = dst
		}
		for v, n := range ns {
			if n > 0 {
				dst[versionsKnown[v]] += n
			}
		}
	}
}

// allocator keeps about 8 MiB of small objects alive and replaces them
// without pause: with GOGC=10 the collector runs all the time, scanning the
// stacks of callers that are inside old, new and trampolined code.
func (r *run) allocator(seed int) {
	defer r.wg.Done()
	type node struct {
		next *node
		buf  []byte
	}
	ring := make([]*node, 4096)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	for i := 0; ; i++ {
		if i&255 == 0 && r.stop.Load() {
			return
		}
		k := rng.IntN(len(ring))
		ring[k] = &node{next: ring[(k+1)%len(ring)], buf: make([]byte, 512+rng.IntN(3072))}
	}
}

func (r *run) finish() Report {
	r.stop.Store(true)
	r.wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.rep.GCs = ms.NumGC - r.gc0
	r.rep.Took = time.Since(r.started)
	return r.rep
}

type stress struct {
	log         *slog.Logger
	mu          sync.Mutex
	cur         *run
	stopProfile func()
}

// startProfile starts a CPU profile written to path ("" for none), so that
// SIGPROF lands in old, new and trampolined code and the runtime unwinds
// from every such PC; the func returned stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// startHandler starts callers (?g=N, default 2×GOMAXPROCS; ?inlined=1 adds
// inlinedHots) and allocators, and a CPU profile with ?pprof=FILE, and returns at once; /stress/stop
// stops them and reports.
func (s *stress) startHandler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		http.Error(w, "already running", http.StatusConflict)
		return
	}
	g, _ := strconv.Atoi(r.URL.Query().Get("g"))
	stop, err := startProfile(r.URL.Query().Get("pprof"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.stopProfile = stop
	s.cur = startRun(g, r.URL.Query().Get("inlined") == "1")
	fmt.Fprintf(w, "started %d callers\n", s.cur.rep.Workers)
}

func (s *stress) stopHandler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cur, stopProfile := s.cur, s.stopProfile
	s.cur, s.stopProfile = nil, nil
	s.mu.Unlock()
	if cur == nil {
		http.Error(w, "not running", http.StatusConflict)
		return
	}
	defer stopProfile()
	json.NewEncoder(w).Encode(cur.finish())
}

// selfHandler drives the real patcher in a loop with the code of real
// patches, opened by the real loader: ?patch=FILE (one or two; the second
// is layered over the first every fourth cycle), ?cycles=N, ?dir=DIR for
// the private copies. Callers and allocators run all along. It exists
// because thousands of cycles through files and fsnotify take too long;
// the agent's own path is stressed through files by the tests.
func (s *stress) selfHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cycles, _ := strconv.Atoi(q.Get("cycles"))
	g, _ := strconv.Atoi(q.Get("g"))
	stop, err := startProfile(q.Get("pprof"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer stop()
	rep, err := s.self(q["patch"], q.Get("dir"), cycles, g)
	if err != nil {
		rep.Err = err.Error()
	}
	json.NewEncoder(w).Encode(rep)
}

func (s *stress) self(files []string, dir string, cycles, g int) (Report, error) {
	if len(files) == 0 || len(files) > 2 || dir == "" {
		return Report{}, fmt.Errorf("want one or two ?patch= and a ?dir=")
	}
	self, err := loader.Self()
	if err != nil {
		return Report{}, err
	}
	var patches [][]patcher.Redirect
	for _, f := range files {
		p, err := loader.Inspect(f, self, 0)
		if err != nil {
			return Report{}, fmt.Errorf("inspect %s: %w", filepath.Base(f), err)
		}
		l, err := loader.Open(p, dir)
		if err != nil {
			return Report{}, fmt.Errorf("open %s: %w", filepath.Base(f), err)
		}
		var rs []patcher.Redirect
		for _, fn := range l.Funcs {
			rs = append(rs, patcher.Redirect{Func: fn.Name, From: fn.From, To: fn.To, AsyncSafe: fn.AsyncSafe})
		}
		patches = append(patches, rs)
	}
	pt := patcher.New()
	cur := startRun(g, false)
	var total time.Duration
	var maxPause time.Duration
	done := 0
	var failed error
	retries := 0
	pause := func(st patcher.Stats) {
		retries += st.Retries
		total += st.Pause
		maxPause = max(maxPause, st.Pause)
	}
	for c := 0; c < cycles && failed == nil; c++ {
		st, err := pt.Apply("v1", patches[0])
		if err != nil {
			failed = fmt.Errorf("cycle %d: apply: %w", c, err)
			break
		}
		pause(st)
		if len(patches) > 1 && c%4 == 3 {
			if st, err = pt.Apply("v2", patches[1]); err != nil {
				failed = fmt.Errorf("cycle %d: apply v2: %w", c, err)
				break
			}
			pause(st)
			if st, err = pt.Revert("v2"); err != nil {
				failed = fmt.Errorf("cycle %d: revert v2: %w", c, err)
				break
			}
			pause(st)
		}
		if st, err = pt.Revert("v1"); err != nil {
			failed = fmt.Errorf("cycle %d: revert: %w", c, err)
			break
		}
		pause(st)
		done++
		if done%1000 == 0 {
			s.log.Info("selfstress progress", "cycles", done)
		}
	}
	rep := cur.finish()
	rep.Cycles = done
	rep.Redirects = len(patches[0])
	rep.MaxPause = maxPause
	rep.Retries = retries
	if done > 0 {
		rep.MeanPause = total / time.Duration(done*2)
	}
	return rep, failed
}
