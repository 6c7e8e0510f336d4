package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/hostapp/meter"
	"example.com/hostapp/shelf"
)

// /meter?n=N answers meter.Rate of N three ways, each through a copy the
// compiler inlined: meterPage's own, meter.Cost's and shelf.Price's. Those
// two are called through function values, which nothing inlines.
func init() {
	http.HandleFunc("/meter", meterPage)
	http.Handle("/meterh", meter.NewHandler(5))
}

var lists = []func(int) string{meter.Cost, shelf.Price, meter.Stock}

func meterPage(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	fmt.Fprint(w, "rate=", meter.Rate(n), " ", lists[0](n), " ", lists[1](n))
}
