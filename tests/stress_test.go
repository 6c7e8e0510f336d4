package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stressFixture is the stress host (testdata/stresshost/app) and its two
// patches, built once on top of the shared fixture's hotfix command.
type stressFixture struct {
	src      string            // the host's module, as built
	host     string            // the binary
	keepHost string            // the binary built under keep.yaml, for the patch "inlined"
	patches  map[string]string // "v1", "v2": every function of package shapes
}

var (
	stfx     *stressFixture
	stfxErr  error
	stfxOnce sync.Once
)

// stressTargets are the functions both stress patches replace: every
// function of package shapes whose body differs between the versions.
var stressTargets = []string{
	"example.com/stresshost/shapes.Hello",
	"example.com/stresshost/shapes.(*Counter).Ptr",
	"example.com/stresshost/shapes.Val.Value",
	"example.com/stresshost/shapes.(*Square).Area",
	"example.com/stresshost/shapes.Plain",
	"example.com/stresshost/shapes.Rec",
	"example.com/stresshost/shapes.Guard",
	"example.com/stresshost/shapes.Guard.func1",
	"example.com/stresshost/shapes.Medium",
	"example.com/stresshost/shapes.Big",
	"example.com/stresshost/shapes.Wait",
	"example.com/stresshost/shapes.Nap",
	"example.com/stresshost/shapes.HotSmall",
	"example.com/stresshost/shapes.HotMedium",
	"example.com/stresshost/shapes.LeafLong",
	"example.com/stresshost/shapes.LeafShort",
	"example.com/stresshost/shapes.LeafFramed",
	"example.com/stresshost/shapes.LeafLoop",
	"example.com/stresshost/shapes.LeafNoSplit",
}

// longStress reports whether `make stress` asked for the long versions.
func longStress() bool { return os.Getenv("HOTFIX_STRESS") == "long" }

func requireStress(t testing.TB) (*fixture, *stressFixture) {
	t.Helper()
	f := requireFixture(t)
	stfxOnce.Do(func() { stfx, stfxErr = buildStress(f) })
	if stfxErr != nil {
		t.Fatalf("build stress fixture: %v", stfxErr)
	}
	return f, stfx
}

func buildStress(f *fixture) (*stressFixture, error) {
	td := filepath.Join(f.repo, "tests", "testdata", "stresshost")
	root := filepath.Join(f.root, "stress")
	s := &stressFixture{src: filepath.Join(root, "src", "base"), host: filepath.Join(root, "bin", "stresshost"),
		keepHost: filepath.Join(root, "bin", "stresshost-keep"), patches: map[string]string{}}
	if err := copyTree(filepath.Join(td, "app"), s.src); err != nil {
		return nil, err
	}
	if err := writeModule(s.src, "example.com/stresshost", f.repo); err != nil {
		return nil, err
	}
	for _, pol := range []string{"policy.yaml", "keep.yaml"} {
		if err := copyFile(filepath.Join(td, pol), filepath.Join(s.src, pol)); err != nil {
			return nil, err
		}
	}
	// The host, and the same program built with the compiler's full
	// optimization for the patch "inlined" (keep.yaml).
	for pol, bin := range map[string]string{"policy.yaml": s.host, "keep.yaml": s.keepHost} {
		out, err := runFlags(s.src, f.hotfix, "-policy", pol)
		if err != nil {
			return nil, err
		}
		args := append(append([]string{"build"}, strings.Fields(out)...), "-o", bin, ".")
		if _, err := run(s.src, "go", args...); err != nil {
			return nil, err
		}
	}
	// v2 is built by comparing the release in git with its tree: it
	// carries new state (a variable initialized by a call, a counter, and
	// a new field of Counter, which the hot callers share).
	for _, args := range [][]string{{"init", "-q", "."}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "release"}} {
		if _, err := run(s.src, "git", args...); err != nil {
			return nil, err
		}
	}
	// One after the other: a patch's sequence is its build time, and v2
	// must be the newer.
	for _, v := range []string{"v1", "v2"} {
		dir := filepath.Join(root, "src", v)
		if err := copyTree(s.src, dir); err != nil {
			return nil, err
		}
		if err := copyTree(filepath.Join(td, "patches", v), dir); err != nil {
			return nil, err
		}
		s.patches[v] = filepath.Join(root, "patches", v+".so")
		args := []string{"build", "-binary", s.host, "-policy", "policy.yaml", "-version", "stress-" + v, "-o", s.patches[v]}
		if v == "v1" {
			for _, fn := range stressTargets {
				args = append(args, "-func", fn)
			}
		}
		if out, err := run(dir, f.hotfix, args...); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, out)
		} else if v == "v2" && (!strings.Contains(out, "shapes.v2Name: package-level variable added") || !strings.Contains(out, "shapes.Counter: field added: field calls")) {
			return nil, fmt.Errorf("v2 carries no new variable or field:\n%s", out)
		}
	}
	if err := buildInlinedPatch(f, s, root); err != nil {
		return nil, err
	}
	// The newest, v3ptr, changes one function of the release, (*Counter).Ptr,
	// which v1 also replaces, and not Hello (TestFaultOverlapOrderFree).
	dir := filepath.Join(root, "src", "v3ptr")
	if err := copyTree(s.src, dir); err != nil {
		return nil, err
	}
	shapes := filepath.Join(dir, "shapes", "shapes.go")
	code, err := os.ReadFile(shapes)
	if err != nil {
		return nil, err
	}
	fixed := strings.Replace(string(code), `"ptr v0 %d"`, `"ptr v3 %d"`, 1)
	if fixed == string(code) {
		return nil, fmt.Errorf("%s: no Ptr answer to change", shapes)
	}
	if err := os.WriteFile(shapes, []byte(fixed), 0o644); err != nil {
		return nil, err
	}
	s.patches["v3ptr"] = filepath.Join(root, "patches", "v3ptr.so")
	if out, err := run(dir, f.hotfix, "build", "-binary", s.host, "-policy", "policy.yaml", "-version", "stress-v3ptr", "-o", s.patches["v3ptr"]); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, out)
	}
	return s, nil
}

// inlinedHolders are the functions of the stress host holding an inlined
// copy of rates.Rate, which the patch "inlined" replaces.
var inlinedHolders = []string{
	"example.com/stresshost/rates.Priced holds an inlined copy of rates.Rate",
	"example.com/stresshost/rates.(*Meter).Read holds an inlined copy of rates.Rate",
	"example.com/stresshost/rates.Looped holds an inlined copy of rates.Rate",
	"example.com/stresshost/rates.Bound.func1 holds an inlined copy of rates.Rate",
}

// buildInlinedPatch builds the patch "inlined" for the host built under
// keep.yaml: rates.Rate answers 4x+1, built from the release in git, so
// that every function holding an inlined copy of Rate is replaced too.
func buildInlinedPatch(f *fixture, s *stressFixture, root string) error {
	dir := filepath.Join(root, "src", "inlined")
	if err := copyTree(s.src, dir); err != nil {
		return err
	}
	file := filepath.Join(dir, "rates", "rates.go")
	code, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	fixed := strings.Replace(string(code), "x*4 + 0 // version", "x*4 + 1 // version", 1)
	if fixed == string(code) {
		return fmt.Errorf("%s: no Rate answer to change", file)
	}
	if err := os.WriteFile(file, []byte(fixed), 0o644); err != nil {
		return err
	}
	s.patches["inlined"] = filepath.Join(root, "patches", "inlined.so")
	out, err := run(dir, f.hotfix, "build", "-binary", s.keepHost, "-policy", "keep.yaml", "-version", "stress-inlined", "-o", s.patches["inlined"])
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	words := strings.Join(strings.Fields(out), " ")
	for _, h := range inlinedHolders {
		if !strings.Contains(words, h) {
			return fmt.Errorf("the inlined patch's plan does not name %q:\n%s", h, out)
		}
	}
	return nil
}

// writeModule writes a go.mod for module mod that uses this repository,
// like writeGoMod does for the host app.
func writeModule(dir, mod, repo string) error {
	gomod := fmt.Sprintf("module %s\n\ngo 1.26.0\n\nrequire github.com/gohotfix/hotfix v0.0.0\n\nreplace github.com/gohotfix/hotfix => %s\n", mod, repo)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(repo, "go.sum"), filepath.Join(dir, "go.sum")); err != nil {
		return err
	}
	_, err := run(dir, "go", "mod", "tidy")
	return err
}

// stressReport mirrors the stress host's Report.
type stressReport struct {
	Workers   int
	Calls     int64
	Wrong     int64
	Examples  []string
	Seen      map[string]map[string]int64
	GCs       uint32
	Took      time.Duration
	Cycles    int
	Redirects int
	MaxPause  time.Duration
	MeanPause time.Duration
	Retries   int
	Err       string
}

// checkSeen fails unless every call site answered with each version in
// want and with no other.
func (r *stressReport) checkSeen(t testing.TB, want ...string) {
	t.Helper()
	r.checkSeenBy(t, func(string) []string { return want })
}

// checkSeenBy fails unless every call site answered with each version
// wantAt(site) names and with no other.
func (r *stressReport) checkSeenBy(t testing.TB, wantAt func(site string) []string) {
	t.Helper()
	if len(r.Seen) == 0 {
		t.Fatalf("no call site reported anything: %+v", r)
	}
	for site, vs := range r.Seen {
		want := wantAt(site)
		for _, v := range want {
			if vs[v] == 0 {
				t.Errorf("call site %q never answered %s: %v", site, v, vs)
			}
		}
		for v := range vs {
			if !contains(want, v) {
				t.Errorf("call site %q answered %s, which was never applied: %v", site, v, vs)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// watchdog fails the test with every goroutine stack of the host when the
// test makes no progress for too long: it sends SIGQUIT, on which the Go
// runtime writes all stacks to stderr (h.logs) and exits.
type watchdog struct {
	kicks atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

// startWatchdog watches progress: calls of kick, plus growth of extra
// (may be nil).
func startWatchdog(t testing.TB, h *hostProc, idle time.Duration, extra func() int) *watchdog {
	w := &watchdog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last, since := int64(-1), time.Now()
		for {
			select {
			case <-w.stop:
				return
			case <-h.done:
				return
			case <-time.After(time.Second):
			}
			p := w.kicks.Load()
			if extra != nil {
				p += int64(extra()) << 32
			}
			if p != last {
				last, since = p, time.Now()
				continue
			}
			if time.Since(since) < idle {
				continue
			}
			h.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
				h.cmd.Process.Kill()
			}
			t.Errorf("watchdog: no progress for %v; the host's goroutines (SIGQUIT):\n%s", idle, lastLines(h.logs.String(), 400))
			return
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

func (w *watchdog) kick() { w.kicks.Add(1) }

// Stop ends the watch; it is idempotent.
func (w *watchdog) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// getJSON GETs path with no client timeout (the watchdog bounds it) and
// decodes the answer into v.
func getJSON(t testing.TB, h *hostProc, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + h.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v\nlogs:\n%s", path, err, lastLines(h.logs.String(), 400))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", path, resp.Status, err, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// TestStressAgentFiles: the whole agent (watcher, loader, policy, patcher,
// ledger) applies and reverts patches of every function shape, dropped
// and deleted as files, while 2×GOMAXPROCS goroutines of the host call
// them and check every answer, with GOGC=10 and two allocating goroutines.
// Every third cycle layers v2 over v1 and takes it off again.
func TestStressAgentFiles(t *testing.T) {
	_, s := requireStress(t)
	cycles := 10
	if longStress() {
		cycles = 200
	}
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir, "GOGC=10")
	dog := startWatchdog(t, h, 90*time.Second, nil)
	prof := filepath.Join(dir, "cpu.pprof")
	h.mustGet("/stress/start?pprof=" + url.QueryEscape(prof))
	start := time.Now()
	layered := 0
	for c := 1; c <= cycles; c++ {
		drop(t, dir, s.patches["v1"], "v1.so")
		h.waitGreet("v1")
		if c%3 == 0 {
			drop(t, dir, s.patches["v2"], "v2.so")
			h.waitGreet("v2")
			remove(t, dir, "v2.so")
			h.waitGreet("v1")
			layered++
		}
		remove(t, dir, "v1.so")
		h.waitGreet("v0")
		dog.kick()
	}
	took := time.Since(start)
	var rep stressReport
	getJSON(t, h, "/stress/stop", &rep)
	dog.Stop()
	leafSamples := profileSamples(t, s.host, prof, "shapes.Leaf")
	if rep.Wrong != 0 {
		t.Fatalf("%d wrong answers in %d calls; first: %q", rep.Wrong, rep.Calls, rep.Examples)
	}
	want := []string{"v0", "v1"}
	if layered > 0 {
		want = append(want, "v2")
	}
	rep.checkSeen(t, want...)
	// The log record follows the switch (the ledger is written first).
	h.waitRecord("patch reverted", cycles+layered)
	if n, want := len(h.records("patch applied")), cycles+layered; n != want {
		t.Errorf("%d patch applied records, want %d", n, want)
	}
	if n, want := len(h.records("patch reverted")), cycles+layered; n != want {
		t.Errorf("%d patch reverted records, want %d", n, want)
	}
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("failures: %v", rs)
	}
	t.Logf("agent through files: %d apply/revert cycles (%d with v2 layered) in %v survived: %d callers, %d calls, 0 wrong, %d GCs; CPU profile on, %d samples in the leaves",
		cycles, layered, took.Round(time.Millisecond), rep.Workers, rep.Calls, rep.GCs, leafSamples)
	h.stop()
}

// TestStressInlinedHotCallers: a fix whose target, rates.Rate, the compiler
// inlined into hot callers (a function, a method, a loop, a closure made
// before the patch) goes live through the agent, by replacing every
// holder, while 2×GOMAXPROCS goroutines call them and check every answer
// with GOGC=10; it is reverted and applied again each cycle. The host is
// built with the compiler's full optimization (keep.yaml).
func TestStressInlinedHotCallers(t *testing.T) {
	_, s := requireStress(t)
	cycles := 5
	if longStress() {
		cycles = 100
	}
	dir := newWorkDir(t, "stresshost/keep.yaml")
	h := startHost(t, s.keepHost, dir, "GOGC=10")
	dog := startWatchdog(t, h, 90*time.Second, nil)
	h.mustGet("/stress/start?inlined=1")
	start := time.Now()
	for c := 1; c <= cycles; c++ {
		drop(t, dir, s.patches["inlined"], "inlined.so")
		h.waitAnswer("/rate", "5")
		remove(t, dir, "inlined.so")
		h.waitAnswer("/rate", "4")
		dog.kick()
	}
	took := time.Since(start)
	var rep stressReport
	getJSON(t, h, "/stress/stop", &rep)
	dog.Stop()
	if rep.Wrong != 0 {
		t.Fatalf("%d wrong answers in %d calls; first: %q", rep.Wrong, rep.Calls, rep.Examples)
	}
	inlinedSites := 0
	rep.checkSeenBy(t, func(site string) []string {
		if strings.HasPrefix(site, "inlined: ") {
			inlinedSites++
			return []string{"v0", "v1"}
		}
		return []string{"v0"}
	})
	if inlinedSites != 5 {
		t.Errorf("%d call sites of inlined copies reported, want 5: %v", inlinedSites, rep.Seen)
	}
	h.waitRecord("patch reverted", cycles)
	if n := len(h.records("patch applied")); n != cycles {
		t.Errorf("%d patch applied records, want %d", n, cycles)
	}
	if rs := h.records("patch failed"); len(rs) != 0 {
		t.Errorf("failures: %v", rs)
	}
	t.Logf("a target inlined into hot callers: %d apply/revert cycles through files in %v survived: %d callers, %d calls, 0 wrong, %d GCs",
		cycles, took.Round(time.Millisecond), rep.Workers, rep.Calls, rep.GCs)
	h.stop()
}

// TestStressPluginLoop drives the real patcher with the code of the two
// real patches, opened by the real loader inside the stress host, for many
// more cycles than files and fsnotify allow: `make stress` runs 20000.
func TestStressPluginLoop(t *testing.T) {
	_, s := requireStress(t)
	cycles := 200
	if longStress() {
		cycles = 20000
	}
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir, "GOGC=10")
	// The host logs a record every 1000 cycles.
	dog := startWatchdog(t, h, 3*time.Minute, func() int { return len(h.records("selfstress progress")) })
	prof := filepath.Join(dir, "cpu.pprof")
	q := url.Values{"patch": {s.patches["v1"], s.patches["v2"]}, "cycles": {strconv.Itoa(cycles)}, "dir": {filepath.Join(dir, "selfloaded")}, "pprof": {prof}}
	var rep stressReport
	getJSON(t, h, "/selfstress?"+q.Encode(), &rep)
	dog.Stop()
	leafSamples := profileSamples(t, s.host, prof, "shapes.Leaf")
	if rep.Err != "" {
		t.Fatalf("after %d cycles: %s", rep.Cycles, rep.Err)
	}
	if rep.Cycles != cycles {
		t.Fatalf("%d cycles, want %d", rep.Cycles, cycles)
	}
	if rep.Wrong != 0 {
		t.Fatalf("%d wrong answers in %d calls; first: %q", rep.Wrong, rep.Calls, rep.Examples)
	}
	rep.checkSeen(t, "v0", "v1", "v2")
	// A short run lasts under a second: at 100 samples a second, the leaves'
	// share of the time may get none. The long run (make stress) must.
	if leafSamples == 0 && longStress() {
		t.Errorf("no CPU profile sample landed in a leaf: the profiler never unwound from one")
	}
	msg := fmt.Sprintf("plugin-loaded patches, %d redirects each: %d apply/revert cycles (v2 layered every 4th) survived in %v: %d callers, %d calls, 0 wrong, %d GCs; world stopped %v mean, %v max; %d stops retried (a goroutine parked in a leaf's window); CPU profile on, %d samples in the leaves",
		rep.Redirects, rep.Cycles, rep.Took.Round(time.Millisecond), rep.Workers, rep.Calls, rep.GCs, rep.MeanPause, rep.MaxPause, rep.Retries, leafSamples)
	t.Log(msg)
	if testing.Verbose() {
		fmt.Println("cycles per engine, hotfix in the stress host:", msg)
	}
	h.stop()
}

// profileSamples counts the samples of a CPU profile whose innermost frame
// is a function whose name contains match, old or new code.
func profileSamples(t testing.TB, bin, prof, match string) int {
	t.Helper()
	out, err := run(filepath.Dir(prof), "go", "tool", "pprof", "-traces", bin, prof)
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	// -traces prints each stack as "<samples> <innermost frame>" then its
	// callers, one per line, between separator lines.
	n := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasSuffix(f[0], "ms") && strings.Contains(f[1], match) {
			d, err := time.ParseDuration(f[0])
			if err == nil {
				n += int(d / (10 * time.Millisecond))
			}
		}
	}
	return n
}

// TestParkedCallsFinishInTheirCode parks goroutines inside patched
// functions of the real host, on a channel and asleep, and applies and
// reverts a real patch under them: each finishes in the code it started
// in, while new calls take the new path.
func TestParkedCallsFinishInTheirCode(t *testing.T) {
	_, s := requireStress(t)
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir, "GOGC=10")
	const nap = 3 * time.Second

	h.mustGet("/park?id=a&kind=chan")
	h.mustGet(fmt.Sprintf("/park?id=b&kind=sleep&ms=%d&x=5", nap.Milliseconds()))
	t0 := time.Now()
	drop(t, dir, s.patches["v1"], "v1.so")
	h.waitGreet("v1")
	if d := time.Since(t0); d > nap*2/3 {
		t.Fatalf("apply took %v: too close to the %v nap to tell old from new", d, nap)
	}
	if got := h.mustGet("/release?id=a&v=1"); got != "wait v0 1" {
		t.Errorf("parked on a channel before apply: %q, want the old code's answer", got)
	}
	if got := h.mustGet("/release?id=b"); got != "nap v0 5" {
		t.Errorf("asleep before apply: %q, want the old code's answer", got)
	}

	h.mustGet("/park?id=c&kind=chan")
	h.mustGet(fmt.Sprintf("/park?id=d&kind=sleep&ms=%d&x=6", nap.Milliseconds()))
	t0 = time.Now()
	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	if d := time.Since(t0); d > nap*2/3 {
		t.Fatalf("revert took %v: too close to the %v nap to tell old from new", d, nap)
	}
	if got := h.mustGet("/release?id=c&v=2"); got != "wait v1 2" {
		t.Errorf("parked on a channel in the patch, released after revert: %q, want the patch's answer", got)
	}
	if got := h.mustGet("/release?id=d"); got != "nap v1 6" {
		t.Errorf("asleep in the patch, woken after revert: %q, want the patch's answer", got)
	}
	h.mustGet("/park?id=e&kind=chan")
	if got := h.mustGet("/release?id=e&v=3"); got != "wait v0 3" {
		t.Errorf("new call after revert: %q, want the old code", got)
	}
	h.stop()
}

// TestHostShapes asks the stress host how the patcher sees the prologue of
// each function of package shapes, compiled with the flags `hotfix flags`
// gives: the list of verified shapes.
func TestHostShapes(t *testing.T) {
	_, s := requireStress(t)
	dir := newWorkDir(t, "stresshost/policy.yaml")
	h := startHost(t, s.host, dir)
	var got map[string]string
	getJSON(t, h, "/shapes", &got)
	h.stop()
	const pkg = "example.com/stresshost/shapes."
	want := map[string]string{
		"Medium":      "medium-frame stack check",
		"HotMedium":   "medium-frame stack check",
		"Big":         "large-frame stack check",
		"LeafLong":    "no stack check, first instruction CMP RAX, -0x75bcd15 (6 bytes) covers the jump",
		"LeafShort":   "no stack check, first instruction SHL RAX, 0x2 (4 of 5 bytes); guarded [1, 5)",
		"LeafFramed":  "no stack check, first instruction PUSH RBP (1 of 5 bytes); guarded [1, 5)",
		"LeafLoop":    "leaf that loops back to its entry; guarded [0, ",
		"LeafNoSplit": "no async safe point in the first 5 bytes (nosplit)",
	}
	var names []string
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		short := strings.TrimPrefix(name, pkg)
		w, ok := want[short]
		switch {
		case ok && !strings.HasPrefix(got[name], w):
			t.Errorf("%s: %q, want %q", short, got[name], w)
		case !ok && strings.HasPrefix(got[name], "refused"):
			t.Errorf("%s: %q, want a stack-check shape", short, got[name])
		}
		t.Logf("%-20s %s", short, got[name])
	}
	if len(got) < 19 {
		t.Errorf("host reported %d functions, want 19", len(got))
	}
}
