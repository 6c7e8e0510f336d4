// Command httpbinhost serves go-httpbin with the hotfix agent running.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/gohotfix/hotfix"
	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

func main() {
	policy := flag.String("policy", "hotfix.yaml", "policy")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	agent, err := hotfix.Start(context.Background(), hotfix.Config{PolicyPath: *policy, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	defer agent.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	// The line the end-to-end tests wait for (tests/host_test.go).
	fmt.Printf("listening %s pid %d variant httpbin\n", ln.Addr(), os.Getpid())
	mux := http.NewServeMux()
	mux.Handle("/", httpbin.New())
	// A memory baseline without start-up garbage, for the benchmarks
	// (tests/bench_test.go): the path is none of httpbin's.
	mux.HandleFunc("/hotfix-test/gc", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
	})
	fmt.Println(http.Serve(ln, mux))
}
