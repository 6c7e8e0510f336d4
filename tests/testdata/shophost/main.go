// Command shophost serves the example shop's quote (example/shop) with the
// hotfix agent and the shop's metrics, in the end-to-end tests' conventions.
package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/shop/catalog"
	"example.com/shop/pricing"
	"github.com/gohotfix/hotfix/metrics"
	"github.com/gohotfix/hotfix/tests/testhost"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	h := testhost.Start("shop")
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(h.Agent), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/quote", func(w http.ResponseWriter, r *http.Request) {
		qty, _ := strconv.Atoi(r.URL.Query().Get("qty"))
		q, err := pricing.Quote(r.URL.Query().Get("item"), qty)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, q)
	})
	products := catalog.Sample(200)
	mux.HandleFunc("/catalog", func(w http.ResponseWriter, r *http.Request) {
		_, doc, err := catalog.Listing(products)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(doc)
	})
	h.Serve(mux)
}
