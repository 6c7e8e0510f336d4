package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/hostapp/audit"
	"example.com/hostapp/orders"
)

// /order?id=ID&q=QTY checks an order and reports the quantity limit.
func init() {
	http.HandleFunc("/order", func(w http.ResponseWriter, r *http.Request) {
		q, _ := strconv.Atoi(r.URL.Query().Get("q"))
		o := &orders.Order{ID: r.URL.Query().Get("id"), Qty: q}
		fmt.Fprint(w, orders.Check(o), " ", orders.Limit())
	})
	http.HandleFunc("/audit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, audit.Record(&audit.Entry{Name: r.URL.Query().Get("name")}))
	})
	http.HandleFunc("/tag", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, audit.Tag(r.URL.Query().Get("name")))
	})
}
