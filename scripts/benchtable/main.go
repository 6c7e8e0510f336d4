// Command benchtable reads `go test -bench` output and prints hotfix's
// performance table: each figure (median over runs), its target, and the
// go-hotfix/hotfix baseline where the issue measured one.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// values maps "benchmark name/unit" to every value seen.
type values map[string][]float64

func main() {
	v := values{}
	for _, f := range os.Args[1:] {
		if err := v.read(f); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\thotfix (median)\ttarget\tgo-hotfix baseline")
	row := func(name, ours, target, base string) { fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, ours, target, base) }
	v.liveRows(row, "BenchmarkDropToLive", "example patch", "≤ 50 ms", "~1.5 s")
	v.memRows(row, "BenchmarkDropToLive", "≤ 1.5 × .so", "≤ 1.2 × .so", "~110 MB per hotfix")
	if _, ok := v["BenchmarkDropToLiveJunk live-ms"]; ok {
		quiet, junk := v.med("BenchmarkDropToLive", "live-ms"), v.med("BenchmarkDropToLiveJunk", "live-ms")
		row("drop to live, 3 000 junk files in patch_dir", fmt.Sprintf("%.1f ms, %.2f × quiet", junk, junk/quiet), "≤ 2 × quiet", "")
		row("  start (Start to serving), quiet / 3 000 junk files", fmt.Sprintf("%.0f / %.0f ms", v.med("BenchmarkDropToLive", "start-ms"), v.med("BenchmarkDropToLiveJunk", "start-ms")), "not held by junk", "")
	}
	for _, n := range []string{"1", "10", "100"} {
		b := "BenchmarkPause/funcs=" + n
		row("stopped world, "+n+" function(s)", fmt.Sprintf("%.1f µs (runtime/metrics ≤ %.1f µs)", v.med(b, "pause-p50-ns")/1e3, v.med(b, "metrics-pause-p50-ns")/1e3),
			map[string]string{"100": "≤ 20 µs"}[n], map[string]string{"1": "~150 µs"}[n])
	}
	for _, c := range []string{"guarded", "unguarded"} {
		b := "BenchmarkParkedPause/" + c
		row("stopped world, 100 000 parked goroutines, "+c, fmt.Sprintf("%.1f µs, of which stopped %.2f µs (GC's own STW %.1f µs)",
			v.med(b, "pause-p50-ns")/1e3, v.med(b, "stopped-p50-ns")/1e3, v.med(b, "gc-stw-p50-ns")/1e3),
			map[string]string{"guarded": "check: within the GC's STW"}[c], "")
	}
	for _, c := range []string{"servers", "saturated"} {
		v.loadRows(row, c)
	}
	v.serviceRows(row)
	direct, redirected, untouched := v.med("BenchmarkCall/direct", "ns/op"), v.med("BenchmarkCall/redirected", "ns/op"), v.med("BenchmarkCall/untouched", "ns/op")
	row("call of a redirected function", fmt.Sprintf("+%.2f ns (%.2f vs %.2f direct)", redirected-direct, redirected, direct), "≤ +2 ns", "")
	row("call of an unpatched function", fmt.Sprintf("%.2f ns", untouched), "unchanged", "")
	if _, ok := v["BenchmarkShadowGet ns/op"]; ok {
		row("use of a new struct field (shadow state)", fmt.Sprintf("%.1f ns", v.med("BenchmarkShadowGet", "ns/op")), "", "")
	}
	def, hf, all := v.med("BenchmarkListing/default", "ns/op"), v.med("BenchmarkListing/hotfix-flags", "ns/op"), v.med("BenchmarkListing/all=-l", "ns/op")
	row("hot path, hotfix flags (inlining: keep) vs default build", fmt.Sprintf("%+.1f%% (%.0f vs %.0f µs)", (hf/def-1)*100, hf/1e3, def/1e3), "1.00× by construction", "")
	row("hot path, -gcflags=all=-l vs default", fmt.Sprintf("%.2f×", all/def), "(shown for comparison)", "all=-l: 1.5–1.95×; with -N: 2.2–3.7×")
	for _, b := range []string{"Gets", "Posts"} {
		def, al, off := v.med("BenchmarkHTTP2"+b+"/default", "ns/op"), v.med("BenchmarkHTTP2"+b+"/allowed", "ns/op"), v.med("BenchmarkHTTP2"+b+"/allowed-l", "ns/op")
		row("x/net/http2 allowed, hotfix flags (inlining: keep), "+strings.ToLower(b), fmt.Sprintf("%+.1f%% (%.1f vs %.1f µs per request)", (al/def-1)*100, al/1e3, def/1e3), "1.00× by construction", "")
		row("x/net/http2 allowed, -l on it (inlining: off), "+strings.ToLower(b), fmt.Sprintf("%+.1f%% (%.1f vs %.1f µs per request)", (off/def-1)*100, off/1e3, def/1e3), "within 3%", "")
	}
	for _, b := range []string{"Gets", "Posts"} {
		for _, unit := range []string{"ns/op", "cpu-ns/op"} {
			def, alone, helpers := "BenchmarkStd"+b+"/default", "BenchmarkStd"+b+"/net-http", "BenchmarkStd"+b+"/helpers"
			if v.med(def, unit) == 0 {
				continue
			}
			row("net/http allowed, -l on it (inlining: off) / with its helpers, HTTP/1.1 "+strings.ToLower(b)+", "+unit, fmt.Sprintf("%.3f× / %.3f× (medians %.1f / %.1f vs %.1f µs per request)",
				v.ratio(alone, def, unit), v.ratio(helpers, def, unit), v.med(alone, unit)/1e3, v.med(helpers, unit)/1e3, v.med(def, unit)/1e3), "within 3%", "")
		}
	}
	tw.Flush()
}

// liveRows are the drop-to-live figure of benchmark b and its split.
// services are BenchmarkServices' hosts, each with a one-function fix.
var services = []struct{ name, title string }{
	{"shop", "the example shop, its pricing fix"},
	{"httpbin", "go-httpbin, upstream's CORS fix"},
	{"nats", "a NATS server, a fix to its health check"},
}

// serviceRows are BenchmarkServices' rows: first how the patch's size
// follows the program's or the fix's, then each host's figures.
func (v values) serviceRows(row func(name, ours, target, base string)) {
	for _, s := range services {
		whole, slim := "BenchmarkServices/"+s.name+"/whole", "BenchmarkServices/"+s.name+"/slim"
		if _, ok := v[whole+" live-ms"]; !ok {
			continue
		}
		row(fmt.Sprintf("patch size, %s (host %.1f MB): whole / -slim", s.title, v.med(whole, "host-MB")),
			fmt.Sprintf("%.1f / %.1f MB, live in %.1f / %.1f ms", v.med(whole, "so-MB"), v.med(slim, "so-MB"), v.med(whole, "live-ms"), v.med(slim, "live-ms")),
			"grows with the fix", "")
	}
	for _, s := range services {
		v.realRows(row, "BenchmarkServices/"+s.name+"/whole", s.title+", the patch linked whole", "", "")
		v.realRows(row, "BenchmarkServices/"+s.name+"/slim", s.title+", hotfix build -slim", "≤ 15 ms, ≤ 3 MB", "≤ 1.5 s")
	}
}

// realRows are one BenchmarkServices host's rows.
func (v values) realRows(row func(name, ours, target, base string), b, title, liveTarget, buildTarget string) {
	if _, ok := v[b+" live-ms"]; !ok {
		return
	}
	row(title, "", "", "")
	v.liveRows(row, b, fmt.Sprintf("%.1f MB patch", v.med(b, "so-MB")), liveTarget, "")
	v.memRows(row, b, "≤ 1.2 × .so", "≤ 1.0 × .so", "")
	row("  stopped world", fmt.Sprintf("%.1f µs", v.med(b, "stw-us")), "", "")
	row("  hotfix build, warm cache", fmt.Sprintf("%.2f s: release %.2f, analysis %.2f, patch build %.2f s", v.med(b, "build-s"),
		v.med(b, "build-release-s"), v.med(b, "build-analysis-s"), v.med(b, "build-patch-s")), buildTarget, "")
}

func (v values) liveRows(row func(name, ours, target, base string), b, what, target, base string) {
	row("drop to live ("+what+")", fmt.Sprintf("%.1f ms", v.med(b, "live-ms")), target, base)
	row("  split: settle / read / inspect / open / apply", fmt.Sprintf("%.2f / %.1f / %.1f / %.1f / %.2f ms",
		v.med(b, "settle-ms"), v.med(b, "read-ms"), v.med(b, "inspect-ms"), v.med(b, "open-ms"), v.med(b, "apply-ms")), "", "")
}

// loadRows are the apply and revert pauses of BenchmarkPauseUnderLoad
// under one load, next to the collector's own stop-the-world pauses in
// the same process, all by runtime/metrics (which counts the start of the
// world too).
func (v values) loadRows(row func(name, ours, target, base string), load string) {
	b := "BenchmarkPauseUnderLoad/" + load
	if _, ok := v[b+" apply-p50-ns"]; !ok {
		return
	}
	us := func(unit string) float64 { return v.med(b, unit) / 1e3 }
	row("stopped world under load ("+load+"), apply / revert", fmt.Sprintf("%.1f / %.1f µs, p99 %.0f / %.0f µs (waited before, world running: %.1f / %.1f µs)",
		us("apply-p50-ns"), us("revert-p50-ns"), us("apply-p99-ns"), us("revert-p99-ns"), us("apply-settle-p50-ns"), us("revert-settle-p50-ns")), "revert ≈ apply", "")
	gc := "no GC ran"
	if _, ok := v[b+" rt-gc-p50-ns"]; ok {
		gc = fmt.Sprintf("GC's own %.1f µs, p99 %.0f µs, stopping %.1f µs", us("rt-gc-p50-ns"), us("rt-gc-p99-ns"), us("rt-gc-stopping-p50-ns"))
	}
	row("  by runtime/metrics: apply / revert; the GC's", fmt.Sprintf("%.1f / %.1f µs; %s", us("rt-apply-p50-ns"), us("rt-revert-p50-ns"), gc), "within the GC's STW", "")
}

// memRows are the memory figures of benchmark b.
func (v values) memRows(row func(name, ours, target, base string), b, peak, lasting, base string) {
	mb := func(unit string) float64 { return v.med(b, unit) * v.med(b, "so-MB") }
	row("  peak RSS growth while applying", fmt.Sprintf("%.2f × .so (%.1f MB of a %.1f MB .so)", v.med(b, "peak-rss/so"), mb("peak-rss/so"), v.med(b, "so-MB")), peak, "")
	row("  lasting RSS growth (after a GC)", fmt.Sprintf("%.2f × .so (%.1f MB)", v.med(b, "lasting-rss/so"), mb("lasting-rss/so")), lasting, base)
	if _, ok := v[b+" mapped-rss/so"]; ok {
		row("    of which the patch's mapped pages / the heap and other anonymous memory", fmt.Sprintf("%.2f × .so / %.2f MB", v.med(b, "mapped-rss/so"), v.med(b, "lasting-anon-MB")), "", "")
	}
}

func (v values) read(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		name := fs[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // drop -GOMAXPROCS, absent when it is 1
			}
		}
		for i := 2; i+1 < len(fs); i += 2 {
			x, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				continue
			}
			v[name+" "+fs[i+1]] = append(v[name+" "+fs[i+1]], x)
		}
	}
	return sc.Err()
}

// ratio is the median, over the runs, of a's value over b's in the same
// run: benchmarks run in turn (scripts/bench.sh) meet the same state of a
// loaded machine, which the ratio of the two medians would mix up.
func (v values) ratio(a, b, unit string) float64 {
	xs, ys := v[a+" "+unit], v[b+" "+unit]
	var rs []float64
	for i := range min(len(xs), len(ys)) {
		rs = append(rs, xs[i]/ys[i])
	}
	if len(rs) == 0 {
		return 0
	}
	sort.Float64s(rs)
	return rs[len(rs)/2]
}

func (v values) med(name, unit string) float64 {
	xs := append([]float64(nil), v[name+" "+unit]...)
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
