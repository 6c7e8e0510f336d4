package main

import (
	"fmt"
	"net/http"

	"example.com/hostapp/guard"
)

// levelOf keeps an out-of-line guard.Level in the release, besides the
// copy inlined into guard.Strict.
var levelOf = guard.Level

// /strict?token=T calls guard.Strict, which holds an inlined guard.Level.
func init() {
	http.HandleFunc("/strict", func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		fmt.Fprint(w, guard.Strict(token), levelOf(token))
	})
}
