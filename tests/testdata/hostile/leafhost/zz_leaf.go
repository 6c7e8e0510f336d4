package main

import (
	"fmt"
	"net/http"

	"example.com/hostapp/leaf"
)

// Keeps leaf.Add in the host binary, reachable from an init function.
func init() {
	http.HandleFunc("/leaf", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, leaf.Add(1, 2)) })
}
