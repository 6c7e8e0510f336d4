package main

import (
	"fmt"
	"net/http"

	"example.com/hostapp/guard"
)

// totalOf takes guard.Total as a value, so that the release holds it out
// of line, with stats.SumOf's shape body inlined into it: a holder in a
// package other than the generic's (TestBuildReplacesInlinedGenerics).
var totalOf = guard.Total

func init() {
	http.HandleFunc("/genkeep", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, totalOf([]guard.Count{4, 5}))
	})
}
