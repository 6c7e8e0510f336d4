package main

import (
	"fmt"
	"net/http"
	"strconv"

	"example.com/hostapp/desk"
)

// mainDesk is made when the service starts, before any patch.
var mainDesk = desk.New("main")

// /desk?n=N takes N from the main desk; /newdesk?n=N from a new one;
// /churn?n=N from each of 200 new desks, answering "ok" when each took
// N from nothing, or the first other answer.
func init() {
	qty := func(r *http.Request) int {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		return n
	}
	http.HandleFunc("/desk", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, mainDesk.Take(qty(r)))
	})
	http.HandleFunc("/receipt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, desk.Receipt(qty(r)))
	})
	http.HandleFunc("/newdesk", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, desk.New("new").Take(qty(r)))
	})
	http.HandleFunc("/churn", func(w http.ResponseWriter, r *http.Request) {
		n := qty(r)
		for i := 0; i < 200; i++ {
			d := desk.New(strconv.Itoa(i))
			if got, want := d.Take(n), fmt.Sprintf("%d took %d/10", i, n); got != want {
				fmt.Fprint(w, got)
				return
			}
		}
		fmt.Fprint(w, "ok")
	})
}
