package patcher

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/brahma-adshonor/gohook"
	"github.com/gohotfix/hotfix/patcher/internal/stw"
)

// longStress reports whether `make stress` asked for the long versions.
func longStress() bool { return os.Getenv("HOTFIX_STRESS") == "long" }

// engineResult is what one child process running TestEngineChild did.
type engineResult struct {
	Engine   string
	Cycles   int   // apply/revert cycles completed
	Calls    int64 // calls checked
	Wrong    int64
	Examples []string
	Seen     map[string]map[string]int64
	GCs      uint32
	Took     time.Duration
	Err      string // apply or revert returned an error

	Crashed  bool   // the child died
	Deadlock bool   // the watchdog killed it
	Crash    string // how it died: the runtime's first words and frame
}

func (r engineResult) String() string {
	switch {
	case r.Deadlock:
		return fmt.Sprintf("deadlocked after %d cycles (watchdog SIGQUIT)", r.Cycles)
	case r.Crashed:
		return fmt.Sprintf("crashed after %d cycles: %s", r.Cycles, r.Crash)
	case r.Err != "":
		return fmt.Sprintf("failed after %d cycles: %s", r.Cycles, r.Err)
	}
	return fmt.Sprintf("survived %d cycles, %d calls, %d wrong, %d GCs, %v", r.Cycles, r.Calls, r.Wrong, r.GCs, r.Took.Round(time.Millisecond))
}

// TestStressEngines runs the stress workload against two patch engines,
// each in a child process (GOGC=10): 2×GOMAXPROCS goroutines call
// functions of every shape (stChecks) and check every answer, two more
// allocate, and the main goroutine applies and reverts a redirect of all
// of them in a loop.
//
//   - hotfix: this package's Patcher (5-byte JMP rel32 to a near
//     trampoline on amd64, 4-byte B on arm64). It must survive every
//     cycle with no wrong answer.
//   - gohook: github.com/brahma-adshonor/gohook HookByIndirectJmp and
//     UnHook with the world stopped (stw.Do), the 12-byte MOVABS RDX; JMP
//     [RDX] that other Go hot-patch libraries write. It is the baseline:
//     expected to crash, and its cycles-to-crash are reported, not judged.
//     amd64 only.
func TestStressEngines(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("the patch engine runs on linux/amd64 and linux/arm64 only")
	}
	// The short version is bounded in time as well: on a loaded machine a
	// cycle waits long for a P among the busy callers.
	oursCycles, gohookCycles, gohookRuns, limit := 1000, 2000, 1, 5*time.Second
	if runtime.GOARCH == "arm64" {
		// Under qemu-user (make test-arm64) a cycle is some 20 times slower.
		limit = stressArm64Limit
	}
	if longStress() {
		oursCycles, gohookCycles, gohookRuns, limit = 20000, 10000, 5, 0
		if runtime.GOARCH == "arm64" {
			oursCycles = 5000 // issue 16's figure; some 4 minutes under qemu-user
		}
	}
	var summary []string
	t.Run("hotfix", func(t *testing.T) {
		r := runEngine(t, "hotfix", oursCycles, limit)
		jump := "5-byte jump"
		if runtime.GOARCH == "arm64" {
			jump = "4-byte B"
		}
		summary = append(summary, "hotfix ("+jump+"): "+r.String())
		if r.Crashed || r.Deadlock || r.Err != "" || (limit == 0 && r.Cycles != oursCycles) {
			t.Fatalf("hotfix engine %s", r)
		}
		if r.Wrong != 0 {
			t.Fatalf("hotfix engine: %d wrong answers in %d calls, first: %q", r.Wrong, r.Calls, r.Examples)
		}
		checkSeenBoth(t, r.Seen)
	})
	t.Run("gohook", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("gohook writes x86 jumps: the baseline runs on amd64 only")
		}
		for i := 0; i < gohookRuns; i++ {
			r := runEngine(t, "gohook", gohookCycles, limit)
			summary = append(summary, fmt.Sprintf("gohook (12-byte jump) run %d: %s", i+1, r))
			if r.Wrong != 0 {
				summary = append(summary, fmt.Sprintf("gohook run %d: %d wrong answers before the end, first %q", i+1, r.Wrong, r.Examples))
			}
		}
	})
	for _, s := range summary {
		t.Log(s)
	}
	if testing.Verbose() {
		fmt.Printf("cycles per engine (%d callers, GOGC=10):\n  %s\n", 2*runtime.GOMAXPROCS(0), strings.Join(summary, "\n  "))
	}
}

// checkSeenBoth fails unless every call site saw the old and the new
// answer: a run where the patch never showed proves nothing.
func checkSeenBoth(t *testing.T, seen map[string]map[string]int64) {
	t.Helper()
	var names []string
	for _, c := range stChecks {
		names = append(names, c.name)
	}
	for _, h := range stHots {
		names = append(names, h.name)
	}
	for _, n := range names {
		if seen[n]["v0"] == 0 || seen[n]["v1"] == 0 {
			t.Errorf("call site %q saw %v: want both v0 and v1", n, seen[n])
		}
	}
}

// runEngine runs TestEngineChild in a child process for the given cycles,
// or until limit has passed (0: no limit), and reads its progress. A
// watchdog sends SIGQUIT (goroutine dump) when no cycle completes for a
// minute.
func runEngine(t *testing.T, engine string, cycles int, limit time.Duration) engineResult {
	t.Helper()
	cmd := selfCommand("-test.run=^TestEngineChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HOTFIX_ENGINE_CHILD="+engine, "HOTFIX_ENGINE_CYCLES="+strconv.Itoa(cycles),
		"HOTFIX_ENGINE_LIMIT="+limit.String(), "GOGC=10")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s child: %v", engine, err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // a no-op once it has been waited for
	res := engineResult{Engine: engine}
	var progress atomic.Int64
	var mu sync.Mutex
	var result string
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "cycle "):
				n, _ := strconv.Atoi(strings.TrimPrefix(l, "cycle "))
				progress.Store(int64(n))
			case strings.HasPrefix(l, "result "), strings.HasPrefix(l, "error "):
				mu.Lock()
				result = l
				mu.Unlock()
			}
		}
	}()
	var fired atomic.Bool
	stopDog := make(chan struct{})
	go func() {
		last, since := int64(-1), time.Now()
		for {
			select {
			case <-stopDog:
				return
			case <-time.After(time.Second):
			}
			if p := progress.Load(); p != last {
				last, since = p, time.Now()
			} else if time.Since(since) > time.Minute {
				fired.Store(true)
				cmd.Process.Signal(syscall.SIGQUIT)
				time.Sleep(10 * time.Second)
				cmd.Process.Kill()
				return
			}
		}
	}()
	<-lines
	werr := cmd.Wait()
	close(stopDog)
	res.Cycles = int(progress.Load())
	mu.Lock()
	defer mu.Unlock()
	switch {
	case strings.HasPrefix(result, "result "):
		if err := json.Unmarshal([]byte(strings.TrimPrefix(result, "result ")), &res); err != nil {
			t.Fatalf("%s child: bad result line %q: %v", engine, result, err)
		}
	case strings.HasPrefix(result, "error "):
		res.Err = strings.TrimPrefix(result, "error ")
	}
	if fired.Load() {
		res.Deadlock = true
		t.Logf("%s child stopped making progress; its goroutines:\n%s", engine, tail(stderr.String(), 200))
		return res
	}
	if werr != nil && res.Err == "" {
		res.Crashed = true
		res.Crash = crashSummary(stderr.String())
		if engine == "hotfix" {
			t.Logf("%s child: %v\n%s", engine, werr, tail(stderr.String(), 200))
		}
	}
	return res
}

// stressArm64Limit bounds the short arm64 run.
const stressArm64Limit = 30 * time.Second

// selfCommand runs this test binary again. Under emulation it goes through
// the emulator, as `go test -exec` ran this one: HOTFIX_TEST_EXEC holds
// that command line (make test-arm64 sets it; qemu-user does not run a
// foreign child by itself without binfmt_misc).
func selfCommand(args ...string) *exec.Cmd {
	if w := strings.Fields(os.Getenv("HOTFIX_TEST_EXEC")); len(w) > 0 {
		return exec.Command(w[0], append(append(w[1:], os.Args[0]), args...)...)
	}
	return exec.Command(os.Args[0], args...)
}

var (
	fatalRE = regexp.MustCompile(`(?m)^(fatal error: .*|panic: .*|SIG[A-Z]+: .*)$`)
	sigRE   = regexp.MustCompile(`(?m)^\[signal (SIG[A-Z]+)[^\]]*pc=(0x[0-9a-f]+)\]`)
	frameRE = regexp.MustCompile(`(?m)^goroutine \d+ .*\[running\]:\n(\S+)\(.*\)\n\t\S+ (\+0x[0-9a-f]+)`)
	// The frame that faulted is the one below runtime.sigpanic.
	faultRE = regexp.MustCompile(`(?m)^runtime\.sigpanic\(\)\n\t.*\n(\S+)\(.*\)\n\t\S+ (\+0x[0-9a-f]+)`)
)

// crashSummary names how a child died: the runtime's message, the signal
// and the function and offset the faulting goroutine was at.
func crashSummary(stderr string) string {
	var parts []string
	if m := fatalRE.FindString(stderr); m != "" {
		parts = append(parts, m)
	}
	frame := ""
	if m := faultRE.FindStringSubmatch(stderr); m != nil {
		frame = strings.TrimPrefix(m[1], "github.com/gohotfix/hotfix/") + m[2]
	} else if m := frameRE.FindStringSubmatch(stderr); m != nil {
		frame = strings.TrimPrefix(m[1], "github.com/gohotfix/hotfix/") + m[2]
	}
	if m := sigRE.FindStringSubmatch(stderr); m != nil {
		if strings.Contains(stderr, "unexpected fault address "+m[2]+"\n") {
			// The fault is the fetch itself: the goroutine jumped to
			// data, and the frame below is the function that called the
			// hooked one.
			parts = append(parts, fmt.Sprintf("%s: jumped to non-code address %s, called from %s", m[1], m[2], frame))
		} else {
			parts = append(parts, fmt.Sprintf("%s at pc=%s in %s", m[1], m[2], frame))
		}
	} else if frame != "" {
		parts = append(parts, "in "+frame)
	}
	if len(parts) == 0 {
		return "no runtime message: " + tail(stderr, 5)
	}
	return strings.Join(parts, "; ")
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// TestEngineChild is the child process of TestStressEngines; on its own it
// does nothing. It prints "cycle N" after each apply/revert cycle, then
// "result JSON" or "error MESSAGE".
func TestEngineChild(t *testing.T) {
	engine := os.Getenv("HOTFIX_ENGINE_CHILD")
	if engine == "" {
		t.Skip("child process of TestStressEngines")
	}
	cycles, _ := strconv.Atoi(os.Getenv("HOTFIX_ENGINE_CYCLES"))
	limit, _ := time.ParseDuration(os.Getenv("HOTFIX_ENGINE_LIMIT"))
	var apply, revert func() error
	switch engine {
	case "hotfix":
		p, rs := New(), stRedirects()
		apply = func() error { _, err := p.Apply("stress", rs); return err }
		revert = func() error { _, err := p.Revert("stress"); return err }
	case "gohook":
		// As the experiment did it: the whole library call with the
		// world stopped, so no goroutine runs while the 12 bytes are copied.
		apply = func() (err error) {
			stw.Do(func() {
				for _, p := range stPairs {
					if err = gohook.HookByIndirectJmp(p.old, p.new, nil); err != nil {
						return
					}
				}
			})
			return err
		}
		revert = func() (err error) {
			stw.Do(func() {
				for _, p := range stPairs {
					if err = gohook.UnHook(p.old); err != nil {
						return
					}
				}
			})
			return err
		}
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	load := stStartLoad(2 * runtime.GOMAXPROCS(0))
	start := time.Now()
	out := os.Stdout
	done := 0
	for c := 1; c <= cycles && (limit == 0 || time.Since(start) < limit); c++ {
		if err := apply(); err != nil {
			fmt.Fprintf(out, "error cycle %d: apply: %v\n", c, err)
			return
		}
		if err := revert(); err != nil {
			fmt.Fprintf(out, "error cycle %d: revert: %v\n", c, err)
			return
		}
		fmt.Fprintf(out, "cycle %d\n", c)
		done = c
	}
	res := load.finish()
	res.Engine, res.Cycles, res.Took = engine, done, time.Since(start)
	b, _ := json.Marshal(res)
	fmt.Fprintf(out, "result %s\n", b)
}

// stLoad is a set of caller and allocator goroutines.
type stLoad struct {
	stop atomic.Bool
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  engineResult
	gc0  uint32
}

func stStartLoad(callers int) *stLoad {
	l := &stLoad{}
	l.res.Seen = map[string]map[string]int64{}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	l.gc0 = ms.NumGC
	for w := 0; w < callers; w++ {
		l.wg.Add(1)
		go l.caller(w)
	}
	for a := 0; a < 2; a++ {
		l.wg.Add(1)
		go l.allocator(a)
	}
	return l
}

// stHotCalls is how many calls of a hot function follow each checked call:
// enough that callers spend most of their time in and near hot entries.
const stHotCalls = 256

func (l *stLoad) caller(w int) {
	defer l.wg.Done()
	seen := make([]map[string]int64, len(stChecks))
	for i := range seen {
		seen[i] = map[string]int64{}
	}
	hot := make([][2]int64, len(stHots))
	var calls, wrong int64
	var examples []string
	x := w * 1_000_000_000
	for i := 0; ; i++ {
		if i&15 == 0 && l.stop.Load() {
			break
		}
		c := &stChecks[i%len(stChecks)]
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
		seen[i%len(stChecks)][ver]++
		// A tight loop over the hot functions after every checked call.
		h := &stHots[i%len(stHots)]
		for k := 0; k < stHotCalls; k++ {
			switch got := h.call(x + k); got {
			case x + k + 1:
				hot[i%len(stHots)][0]++
			case x + k + 2:
				hot[i%len(stHots)][1]++
			default:
				wrong++
				if len(examples) < 5 {
					examples = append(examples, fmt.Sprintf("%s(%d) = %d", h.name, x+k, got))
				}
			}
		}
		calls += stHotCalls
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Calls += calls
	l.res.Wrong += wrong
	if len(l.res.Examples) < 10 {
		l.res.Examples = append(l.res.Examples, examples...)
	}
	for i, m := range seen {
		dst := l.res.Seen[stChecks[i].name]
		if dst == nil {
			dst = map[string]int64{}
			l.res.Seen[stChecks[i].name] = dst
		}
		for v, n := range m {
			dst[v] += n
		}
	}
	for i, n := range hot {
		dst := l.res.Seen[stHots[i].name]
		if dst == nil {
			dst = map[string]int64{}
			l.res.Seen[stHots[i].name] = dst
		}
		dst["v0"] += n[0]
		dst["v1"] += n[1]
	}
}

// allocator keeps about 8 MiB of small objects alive and replaces them
// without pause: with GOGC=10 the collector runs all the time and scans
// the stacks of callers in old and new code.
func (l *stLoad) allocator(seed int) {
	defer l.wg.Done()
	type node struct {
		next *node
		buf  []byte
	}
	ring := make([]*node, 4096)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	for i := 0; ; i++ {
		if i&255 == 0 && l.stop.Load() {
			return
		}
		k := rng.IntN(len(ring))
		ring[k] = &node{next: ring[(k+1)%len(ring)], buf: make([]byte, 512+rng.IntN(3072))}
	}
}

func (l *stLoad) finish() engineResult {
	l.stop.Store(true)
	l.wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	l.res.GCs = ms.NumGC - l.gc0
	return l.res
}
