package main

import (
	"fmt"
	"net/http"

	"example.com/hostapp/guard"
	"example.com/hostapp/stats"
)

// /geninline calls guard's callers of stats' generic code, so that the
// release links them (TestBuildRefusesInlinedGeneric).
func init() {
	http.HandleFunc("/geninline", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, guard.Total([]guard.Count{1, 2}), guard.Newest(&stats.Ring[float64]{Items: []float64{1, 2}}))
	})
}
