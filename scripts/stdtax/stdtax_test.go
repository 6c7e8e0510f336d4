// Package stdtax measures what allowing a standard package costs: the
// policy builds the packages it allows with -l (no inlining), here net/http
// alone (net-http.yaml) and net/http with the helpers `hotfix flags
// -explain` names for it (net-http-helpers.yaml: its internal packages and
// the vendored golang.org/x/net packages it imports). scripts/bench.sh runs
// these benchmarks with each policy's flags and with none.
package stdtax

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGets: one HTTP/1.1 GET after another over one keep-alive
// loopback connection: both the client and the server side of net/http.
func BenchmarkGets(b *testing.B) {
	url, client := serve(b)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkPosts: requests with a 16 KiB body, read by the handler.
func BenchmarkPosts(b *testing.B) {
	url, client := serve(b)
	body := strings.Repeat("x", 16<<10)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		resp, err := client.Post(url, "text/plain", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func serve(b *testing.B) (string, *http.Client) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: Handler}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	b.Cleanup(tr.CloseIdleConnections)
	return "http://" + ln.Addr().String() + "/", &http.Client{Transport: tr}
}

// cpuPerOp reports, when the returned function runs after the loop, the
// process's CPU time per request (cpu-ns/op: client, server and
// collector together). On a machine other jobs load, ns/op also counts
// the time the benchmark waited for a CPU; CPU time does not, and is the
// figure the comparison of two builds rests on there.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
