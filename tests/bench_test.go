package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDropToLive measures, in a fresh host process per iteration (so
// every patch is opened for the first time), the time from the rename of a
// complete .so into the patch directory to the new behaviour answering over
// HTTP, with the agent's own split, and the host's memory: peak RSS growth
// while applying and lasting RSS growth, both relative to the file size.
func BenchmarkDropToLive(b *testing.B) {
	f := requireFixture(b)
	patch := f.patches["v1"]
	st, err := os.Stat(patch)
	if err != nil {
		b.Fatal(err)
	}
	size := float64(st.Size())
	var live, settle, inspect, open, apply, stw []float64
	var peak, lasting []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if err := copyFile(filepath.Join("testdata", "policy.yaml"), filepath.Join(dir, "hotfix.yaml")); err != nil {
			b.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "patches"), 0o755)
		h := startHost(b, f.host, dir)
		h.mustGet("/greet?name=x")
		tmp := filepath.Join(dir, "patches", ".v1.so.part")
		if err := copyFile(patch, tmp); err != nil {
			b.Fatal(err)
		}
		h.mustGet("/gc")
		time.Sleep(50 * time.Millisecond) // let the host go idle
		rss0 := procStatus(b, h.pid, "VmRSS")
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", h.pid), []byte("5"), 0) // reset VmHWM
		b.StartTimer()
		t0 := time.Now()
		if err := os.Rename(tmp, filepath.Join(dir, "patches", "v1.so")); err != nil {
			b.Fatal(err)
		}
		for h.mustGet("/greet?name=x") != "hello x v1" {
		}
		live = append(live, float64(time.Since(t0).Microseconds())/1000)
		b.StopTimer()
		rec := h.waitRecord("patch applied", 1)
		settle = append(settle, ms(rec["settle"]))
		inspect = append(inspect, ms(rec["inspect"]))
		open = append(open, ms(rec["open"]))
		apply = append(apply, ms(rec["apply"]))
		stw = append(stw, ms(rec["stopped_world"]))
		time.Sleep(100 * time.Millisecond)
		hwm := procStatus(b, h.pid, "VmHWM")
		rss1 := procStatus(b, h.pid, "VmRSS")
		peak = append(peak, (hwm-rss0)/size)
		lasting = append(lasting, (rss1-rss0)/size)
		h.stop()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(median(live), "live-ms")
	b.ReportMetric(median(settle), "settle-ms")
	b.ReportMetric(median(inspect), "inspect-ms")
	b.ReportMetric(median(open), "open-ms")
	b.ReportMetric(median(apply), "apply-ms")
	b.ReportMetric(median(stw)*1000, "stw-us")
	b.ReportMetric(median(peak), "peak-rss/so")
	b.ReportMetric(median(lasting), "lasting-rss/so")
	b.ReportMetric(size/1e6, "so-MB")
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
