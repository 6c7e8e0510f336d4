package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/hostapp/pricing"
)

// /price?q=QTY&c=CENTS calls each leaf of package pricing: directly, through
// an interface (a value method) and through a func value.
func init() {
	http.HandleFunc("/price", func(w http.ResponseWriter, r *http.Request) {
		q, _ := strconv.Atoi(r.URL.Query().Get("q"))
		c, _ := strconv.Atoi(r.URL.Query().Get("c"))
		var p pricing.Pricer = pricing.Cents(c)
		fmt.Fprint(w, pricing.FreeShipping(c), pricing.LineTotal(q, c), p.Euros(), pricing.Round(c))
	})
}
