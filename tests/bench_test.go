package tests

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/tests/testhost"
)

// BenchmarkDropToLive measures, in a fresh host process per iteration (so
// every patch is opened for the first time), the time from the rename of a
// complete .so into the patch directory to the new behaviour answering over
// HTTP, with the agent's own split, and the host's memory: peak RSS growth
// while applying and lasting RSS growth, both relative to the file size.
func BenchmarkDropToLive(b *testing.B) {
	f := requireFixture(b)
	d := liveDrop{
		host: f.host, patch: f.patches["v1"], policy: readFile(filepath.Join("testdata", "policy.yaml")), gc: "/gc",
		fixed: func(h *hostProc) bool { return h.mustGet("/greet?name=x") == "hello x v1" },
	}
	d.bench(b)
}

// BenchmarkDropToLiveJunk is BenchmarkDropToLive with 3 000 junk files in
// the patch directory from before the host starts (issue 22): refused
// files must cost little, in Start (start-ms) and in the next fix's
// drop-to-live, which must stay within 2 x the quiet figure.
func BenchmarkDropToLiveJunk(b *testing.B) {
	f := requireFixture(b)
	d := liveDrop{
		host: f.host, patch: f.patches["v1"], policy: readFile(filepath.Join("testdata", "policy.yaml")), gc: "/gc",
		fixed: func(h *hostProc) bool { return h.mustGet("/greet?name=x") == "hello x v1" },
		junk:  3000,
	}
	d.bench(b)
}

// BenchmarkServices is BenchmarkDropToLive for the same kind of fix, one
// function, in three real hosts of very different size (services_test.go):
// the example shop, go-httpbin with upstream's CORS fix, and a 40 MB NATS
// server with a fix to its health check; each with the patch linked whole
// and linked against the release (hotfix build -slim). It also times
// `hotfix build` of the fix, warm, with the split it prints, and reports
// the host's size.
func BenchmarkServices(b *testing.B) {
	for _, sv := range []struct {
		name  string
		build func(testing.TB, *fixture, string) *service
	}{{"shop", buildShopFix}, {"httpbin", buildCORSFix}, {"nats", buildNATSFix}} {
		for _, slim := range []bool{false, true} {
			kind := map[bool]string{false: "whole", true: "slim"}[slim]
			b.Run(sv.name+"/"+kind, func(b *testing.B) { serviceBench(b, builtService(b, sv.name, sv.build), slim) })
		}
	}
}

func serviceBench(b *testing.B, s *service, slim bool) {
	f := requireFixture(b)
	build := func(out string) string {
		args := []string{"build", "-slim=" + strconv.FormatBool(slim), "-binary", s.host, "-version", s.version, "-o", out}
		out = mustRun(b, s.src, f.hotfix, args...)
		if slim && !strings.Contains(out, "slim link: ") {
			b.Fatalf("hotfix build -slim linked the plugin whole:\n%s", out)
		}
		return out
	}
	patch := s.patch
	if slim {
		patch = filepath.Join(s.src, s.name+"-slim.so")
		if _, err := os.Stat(patch); err != nil {
			build(patch)
		}
	}
	d := liveDrop{host: s.host, patch: patch, policy: s.policy, gc: testhost.GCPath, fixed: s.fixed}
	d.bench(b)
	var total, release, analysis, patchBuild []float64
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		out := build(filepath.Join(b.TempDir(), "fix.so"))
		total = append(total, time.Since(t0).Seconds())
		var r, a, p float64
		if l := lineWith(out, "took "); l == "" {
			b.Fatalf("hotfix build printed no split:\n%s", out)
		} else if _, err := fmt.Sscanf(l[strings.Index(l, "release "):], "release %fs, analysis %fs, patch build %fs", &r, &a, &p); err != nil {
			b.Fatalf("split %q: %v", l, err)
		}
		release, analysis, patchBuild = append(release, r), append(analysis, a), append(patchBuild, p)
	}
	b.ReportMetric(median(total), "build-s")
	b.ReportMetric(median(release), "build-release-s")
	b.ReportMetric(median(analysis), "build-analysis-s")
	b.ReportMetric(median(patchBuild), "build-patch-s")
	if st, err := os.Stat(s.host); err == nil {
		b.ReportMetric(float64(st.Size())/1e6, "host-MB")
	}
}

var (
	servicesMu sync.Mutex
	services   = map[string]*service{}
)

// builtService builds a service and its fix once per test binary: go test
// calls a benchmark more than once.
func builtService(b *testing.B, name string, build func(testing.TB, *fixture, string) *service) *service {
	servicesMu.Lock()
	defer servicesMu.Unlock()
	if s, ok := services[name]; ok {
		if s == nil {
			b.Fatalf("%s and its fix could not be built", name)
		}
		return s
	}
	services[name] = nil
	f := requireFixture(b)
	root, err := os.MkdirTemp(f.root, name+"-")
	if err != nil {
		b.Fatal(err)
	}
	services[name] = build(b, f, root)
	return services[name]
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// liveDrop is one patch dropped into fresh processes of one host.
type liveDrop struct {
	host, patch string
	policy      []byte
	gc          string               // a path that hands free memory back to the OS
	fixed       func(*hostProc) bool // the fixed behaviour answers
	junk        int                  // files of random bytes in the patch dir from the start
}

func (d liveDrop) bench(b *testing.B) {
	b.Helper()
	st, err := os.Stat(d.patch)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(st.Size())
	names := []string{"start-ms", "live-ms", "settle-ms", "read-ms", "inspect-ms", "open-ms", "apply-ms", "stw-us", "peak-rss/so", "lasting-rss/so", "mapped-rss/so", "lasting-anon-MB"}
	figs := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k, v := range d.once(b, size) {
			figs[k] = append(figs[k], v)
		}
		b.StartTimer()
	}
	b.StopTimer()
	for _, n := range names {
		b.ReportMetric(median(figs[n]), n)
	}
	b.ReportMetric(size/1e6, "so-MB")
}

// once starts the host, drops the patch, and returns every figure of
// that one load.
func (d liveDrop) once(b *testing.B, size float64) map[string]float64 {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hotfix.yaml"), d.policy, 0o644); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "patches"), 0o755)
	writeJunk(b, filepath.Join(dir, "patches"), d.junk)
	t0 := time.Now()
	h := startHost(b, d.host, dir)
	defer h.stop()
	start := float64(time.Since(t0).Microseconds()) / 1000
	if d.junk > 0 {
		h.waitRecordWithin("patch refused", d.junk, 5*time.Minute)
	}
	if d.fixed(h) {
		b.Fatal("the host has the fix before the patch")
	}
	tmp := filepath.Join(dir, "patches", ".fix.so.part")
	if err := copyFile(d.patch, tmp); err != nil {
		b.Fatal(err)
	}
	h.mustGet(d.gc)
	time.Sleep(50 * time.Millisecond) // let the host go idle
	rss0, anon0 := procStatus(b, h.pid, "VmRSS"), procStatus(b, h.pid, "RssAnon")
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", h.pid), []byte("5"), 0) // reset VmHWM
	t0 = time.Now()
	if err := os.Rename(tmp, filepath.Join(dir, "patches", "fix.so")); err != nil {
		b.Fatal(err)
	}
	for !d.fixed(h) {
	}
	live := float64(time.Since(t0).Microseconds()) / 1000
	rec := h.waitRecord("patch applied", 1)
	time.Sleep(100 * time.Millisecond)
	hwm := procStatus(b, h.pid, "VmHWM")
	// Lasting: what the process holds once the loading's garbage is
	// handed back, as the baseline was taken.
	h.mustGet(d.gc)
	time.Sleep(50 * time.Millisecond)
	rss1, anon1 := procStatus(b, h.pid, "VmRSS"), procStatus(b, h.pid, "RssAnon")
	return map[string]float64{
		"start-ms": start, "live-ms": live, "settle-ms": ms(rec["settle"]), "read-ms": ms(rec["read"]), "inspect-ms": ms(rec["inspect"]),
		"open-ms": ms(rec["open"]), "apply-ms": ms(rec["apply"]), "stw-us": ms(rec["stopped_world"]) * 1000,
		"peak-rss/so": (hwm - rss0) / size, "lasting-rss/so": (rss1 - rss0) / size, "mapped-rss/so": mappedRSS(b, h.pid, dir) / size,
		"lasting-anon-MB": (anon1 - anon0) / 1e6,
	}
}

// mappedRSS returns the resident bytes of the process's mappings of files
// under dir: the patch's own pages (the agent opens its private copy in
// state_dir).
func mappedRSS(b *testing.B, pid int, dir string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		b.Fatal(err)
	}
	var kb float64
	under := false
	for _, l := range strings.Split(string(data), "\n") {
		fs := strings.Fields(l)
		switch {
		case len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":"):
			under = len(fs) >= 6 && strings.HasPrefix(fs[5], dir+"/")
		case under && len(fs) == 3 && fs[0] == "Rss:":
			v, _ := strconv.ParseFloat(fs[1], 64)
			kb += v
		}
	}
	return kb * 1024
}

// writeJunk writes n files of random bytes that look like patches by name.
func writeJunk(b *testing.B, dir string, n int) {
	buf := make([]byte, 4096)
	for i := range n {
		rand.Read(buf)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("junk%04d.so", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func ms(v any) float64 {
	f, _ := v.(float64) // slog's JSON handler writes durations as ns
	return f / 1e6
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// procStatus returns a "kB" field of /proc/PID/status in bytes.
func procStatus(b *testing.B, pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb * 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
