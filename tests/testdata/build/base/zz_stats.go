package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"example.com/hostapp/stats"
)

// /stats?xs=1,2,3 sums the numbers (stats.SumOf[int]), joins them as text
// (stats.SumOf[string], through stats.Join) and answers the last one
// (stats.(*Ring[int]).Last).
func init() {
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		words := strings.Split(r.URL.Query().Get("xs"), ",")
		ring := &stats.Ring[int]{}
		for _, s := range words {
			n, _ := strconv.Atoi(s)
			ring.Items = append(ring.Items, n)
		}
		fmt.Fprint(w, stats.SumOf(ring.Items), " ", stats.Join(words), " ", ring.Last())
	})
}
