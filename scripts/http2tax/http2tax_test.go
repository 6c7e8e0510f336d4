// Package http2tax measures what allowing a third-party package costs: the
// policy builds the packages it allows with -l (no inlining), here
// golang.org/x/net/http2/... as a service would allow it to take its
// security fixes live. scripts/bench.sh runs these benchmarks with and
// without -gcflags=golang.org/x/net/http2/...=-l.
package http2tax

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// BenchmarkGets: one HTTP/2 GET after another over one cleartext
// connection (h2c): both the client and the server side of x/net/http2.
func BenchmarkGets(b *testing.B) {
	url, client := serve(b)
	b.ReportAllocs()
	b.ResetTimer()
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
	b.ResetTimer()
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
	b.Cleanup(func() { ln.Close() })
	srv := &http2.Server{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, http2\n")
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	b.Cleanup(tr.CloseIdleConnections)
	return "http://" + ln.Addr().String() + "/", &http.Client{Transport: tr}
}
