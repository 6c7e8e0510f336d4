package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/hostapp/report"
)

// /report?x=5 answers report.Line(5).
func init() {
	http.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		x, _ := strconv.ParseUint(r.URL.Query().Get("x"), 10, 64)
		fmt.Fprint(w, report.Line(x))
	})
}
