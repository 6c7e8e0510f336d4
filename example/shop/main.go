// Command shop is the example service: a price quote over HTTP, with a bug
// in package pricing that a hotfix repairs while it runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"example.com/shop/catalog"
	"example.com/shop/pricing"
	"github.com/gohotfix/hotfix"
	"github.com/gohotfix/hotfix/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	policy := flag.String("policy", "hotfix.yaml", "hotfix policy file")
	admin := flag.String("admin", "", "admin listen address for /hotfix and /metrics (off when empty; keep it private)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	agent, err := hotfix.Start(ctx, hotfix.Config{PolicyPath: *policy, Logger: log})
	if err != nil {
		log.Error("hotfix", "err", err)
		os.Exit(1)
	}
	defer agent.Close()
	if *admin != "" {
		if err := serveAdmin(ctx, *admin, agent, log); err != nil {
			log.Error("admin", "err", err)
			os.Exit(1)
		}
	}

	http.HandleFunc("/quote", func(w http.ResponseWriter, r *http.Request) {
		qty, _ := strconv.Atoi(r.URL.Query().Get("qty"))
		q, err := pricing.Quote(r.URL.Query().Get("item"), qty)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s (pid %d)\n", q, os.Getpid())
	})
	products := catalog.Sample(200)
	http.HandleFunc("/catalog", func(w http.ResponseWriter, r *http.Request) {
		_, doc, err := catalog.Listing(products)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("shop listening", "addr", ln.Addr().String(), "pid", os.Getpid())
	srv := &http.Server{}
	go func() { <-ctx.Done(); srv.Close() }()
	srv.Serve(ln)
}

// serveAdmin serves the agent's status and the Prometheus metrics on their
// own listener, apart from the public one: the status names the functions
// that were vulnerable.
func serveAdmin(ctx context.Context, addr string, agent *hotfix.Agent, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(agent), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/hotfix", agent.Handler())
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("admin listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux}
	go func() { <-ctx.Done(); srv.Close() }()
	go srv.Serve(ln)
	return nil
}
