// Command hostapp is the service the end-to-end tests patch.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"example.com/hostapp/greet"
	"example.com/hostapp/guard"
	"github.com/gohotfix/hotfix"
)

// variant differs between builds made with -X, to get another build ID.
var variant = "a"

func main() {
	policy := flag.String("policy", "hotfix.yaml", "policy")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	agent, err := hotfix.Start(ctx, hotfix.Config{PolicyPath: *policy, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	defer agent.Close()

	http.HandleFunc("/greet", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, greet.Hello(r.URL.Query().Get("name")))
	})
	http.HandleFunc("/guard", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, guard.Check(r.URL.Query().Get("token")))
	})
	http.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory() // a memory baseline without start-up garbage
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "heap_alloc=%d heap_sys=%d heap_released=%d stack_sys=%d other_sys=%d gc_sys=%d sys=%d", m.HeapAlloc, m.HeapSys, m.HeapReleased, m.StackSys, m.OtherSys, m.GCSys, m.Sys)
	})
	http.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(agent.Status())
	})
	http.HandleFunc("/spin", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("g"))
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
		var mu sync.Mutex
		answers := map[string]int{}
		var calls atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := map[string]int{}
				for time.Now().Before(deadline) {
					local[greet.Hello("spin")]++
					calls.Add(1)
				}
				mu.Lock()
				for k, v := range local {
					answers[k] += v
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		json.NewEncoder(w).Encode(map[string]any{"calls": calls.Load(), "answers": answers})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(3)
	}
	fmt.Printf("listening %s pid %d variant %s\n", ln.Addr(), os.Getpid(), variant)
	srv := &http.Server{}
	go func() { <-ctx.Done(); srv.Close() }()
	srv.Serve(ln)
}
