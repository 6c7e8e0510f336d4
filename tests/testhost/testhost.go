// Package testhost is what the end-to-end tests' service hosts
// (testdata/httpbinhost, natshost, shophost) share: the hotfix agent
// started from -policy with JSON logs, the line the tests wait for
// (tests/host_test.go), and a path that hands free memory back to the OS,
// the benchmarks' memory baseline (tests/bench_test.go).
package testhost

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
)

// GCPath is the path that hands free memory back to the OS: none of the
// services' own.
const GCPath = "/hotfix-test/gc"

// A Host is a service host with its agent running.
type Host struct {
	Agent   *hotfix.Agent
	variant string
	addr    string
}

// Start parses the flags (-policy, -addr) and starts the agent; it exits
// the process with code 3 when the agent does not start.
func Start(variant string) *Host {
	policy := flag.String("policy", "hotfix.yaml", "policy")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	agent, err := hotfix.Start(context.Background(), hotfix.Config{PolicyPath: *policy, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	return &Host{Agent: agent, variant: variant, addr: *addr}
}

// Serve serves mux, with GCPath added, on the -addr listener, and prints
// the line the tests wait for.
func (h *Host) Serve(mux *http.ServeMux) {
	defer h.Agent.Close()
	mux.HandleFunc(GCPath, func(http.ResponseWriter, *http.Request) { debug.FreeOSMemory() })
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return
	}
	fmt.Printf("listening %s pid %d variant %s\n", ln.Addr(), os.Getpid(), h.variant)
	fmt.Println(http.Serve(ln, mux))
}
