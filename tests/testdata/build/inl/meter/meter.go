// Package meter rates. Rate is small enough for the compiler to inline
// into every caller; its fix (../../inl/meter) changes the rate.
package meter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Rate is n's rate.
func Rate(n int) int {
	return 3 * n
}

// Cost lists n's costs, each from its rate: too large to be inlined
// itself, it holds a copy of Rate.
func Cost(n int) string {
	var b strings.Builder
	b.WriteString("cost=")
	for i := 1; i <= 2; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(Rate(n) + i))
	}
	return b.String()
}

// NewHandler answers n's rate: a handler made once, when the program
// starts, whose closure holds Rate inlined.
func NewHandler(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "handler=", Rate(n))
	})
}

// keep reads what p points to; never inlined.
//
//go:noinline
func keep(p *int) int {
	return *p
}

// tally is small enough to be inlined into Stock; it hands keep a
// pointer to its own local, on the stack of whatever holds it.
func tally(n int) int {
	x := n + 1
	return keep(&x)
}

// Stock holds tally inlined.
//
//go:noinline
func Stock(n int) string {
	return "stock=" + strconv.Itoa(tally(n))
}
