package main

import (
	"fmt"
	"net/http"

	"example.com/hostapp/board"
)

// /board?name=N answers N's line of the score board.
func init() {
	http.HandleFunc("/board", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, board.Line(r.URL.Query().Get("name")))
	})
	http.HandleFunc("/width", width)
}

func width(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, board.Width(len(r.URL.Query().Get("name"))))
}
