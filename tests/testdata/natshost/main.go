// Command natshost runs a NATS server (github.com/nats-io/nats-server/v2)
// with the hotfix agent, and serves the server's health check over HTTP.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/gohotfix/hotfix/tests/testhost"
	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	h := testhost.Start("nats")
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		os.Exit(1)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "nats: not ready")
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", ns.HandleHealthz)
	mux.HandleFunc("/varz", ns.HandleVarz)
	h.Serve(mux)
}
