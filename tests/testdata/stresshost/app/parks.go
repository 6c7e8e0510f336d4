package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"example.com/stresshost/shapes"
)

// parks holds goroutines parked inside shapes.Wait (on a channel) or
// shapes.Nap (asleep), so a test can patch the function under them and
// see which code they return through.
type parks struct {
	mu sync.Mutex
	m  map[string]*parked
}

type parked struct {
	in  chan int    // nil for a nap
	out chan string // the answer, once the call returns
}

// park starts a goroutine in shapes.Wait (?kind=chan) or shapes.Nap
// (?kind=sleep&ms=N) under ?id=, and answers once it is inside.
func (p *parks) park(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("id")
	pk := &parked{out: make(chan string, 1)}
	entered := make(chan struct{})
	switch q.Get("kind") {
	case "chan":
		pk.in = make(chan int)
		go func() { pk.out <- shapes.Wait(entered, pk.in) }()
	case "sleep":
		ms, _ := strconv.Atoi(q.Get("ms"))
		x, _ := strconv.Atoi(q.Get("x"))
		go func() { pk.out <- shapes.Nap(entered, time.Duration(ms)*time.Millisecond, x) }()
	default:
		http.Error(w, "kind is chan or sleep", http.StatusBadRequest)
		return
	}
	<-entered
	p.mu.Lock()
	p.m[id] = pk
	p.mu.Unlock()
	fmt.Fprintf(w, "parked %s\n", id)
}

// release sends ?v= to a goroutine parked on a channel (nothing for a
// nap) and answers what its call returned.
func (p *parks) release(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	pk := p.m[q.Get("id")]
	delete(p.m, q.Get("id"))
	p.mu.Unlock()
	if pk == nil {
		http.Error(w, "no such parked goroutine", http.StatusNotFound)
		return
	}
	if pk.in != nil {
		v, _ := strconv.Atoi(q.Get("v"))
		pk.in <- v
	}
	select {
	case s := <-pk.out:
		fmt.Fprint(w, s)
	case <-time.After(30 * time.Second):
		http.Error(w, "parked call did not return in 30s", http.StatusGatewayTimeout)
	}
}
