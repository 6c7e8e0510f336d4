// Command stresshost is the service the stress and fault tests patch under
// load. Package shapes holds one function of each shape; the endpoints
// call them from many goroutines and check every answer (stress.go), park
// goroutines inside them (parks.go), or report how the patcher sees each
// one's prologue.
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
	"reflect"
	"runtime"
	"syscall"

	"example.com/stresshost/rates"
	"example.com/stresshost/shapes"
	"github.com/gohotfix/hotfix"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/patcher"
	"github.com/gohotfix/hotfix/patcher/prologue"
)

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

	st := &stress{log: log}
	pk := &parks{m: map[string]*parked{}}
	http.HandleFunc("/greet", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, shapes.Hello(r.URL.Query().Get("name")))
	})
	// 4 plus the version of rates.Rate, through a caller holding an inlined copy.
	http.HandleFunc("/rate", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, rates.Priced(1))
	})
	http.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(agent.Status())
	})
	http.HandleFunc("/stress/start", st.startHandler)
	http.HandleFunc("/stress/stop", st.stopHandler)
	http.HandleFunc("/selfstress", st.selfHandler)
	http.HandleFunc("/park", pk.park)
	http.HandleFunc("/release", pk.release)
	http.HandleFunc("/shapes", shapesHandler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(3)
	}
	fmt.Printf("listening %s pid %d variant %s\n", ln.Addr(), os.Getpid(), "stress")
	srv := &http.Server{}
	go func() { <-ctx.Done(); srv.Close() }()
	srv.Serve(ln)
}

// shapesHandler reports, for every function of package shapes, the
// prologue shape the patcher finds in the live code, or why it refuses it.
// Call it before any patch is applied.
func shapesHandler(w http.ResponseWriter, r *http.Request) {
	fns := []any{
		shapes.Hello, (*shapes.Counter).Ptr, shapes.Val.Value, (*shapes.Val).Value,
		(*shapes.Square).Area, shapes.Plain, shapes.Rec, shapes.Guard, shapes.Medium,
		shapes.Big, shapes.Wait, shapes.Nap, shapes.HotSmall, shapes.HotMedium,
		shapes.LeafLong, shapes.LeafShort, shapes.LeafFramed, shapes.LeafLoop, shapes.LeafNoSplit,
	}
	p := patcher.New()
	self, err := loader.Self()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := map[string]string{}
	for _, f := range fns {
		pc := reflect.ValueOf(f).Pointer()
		name := runtime.FuncForPC(pc).Name()
		fi, err := self.FuncInfo(name)
		var plan prologue.Plan
		if err == nil {
			plan, err = p.Plan(name, pc, fi.AsyncSafe)
		}
		switch {
		case err != nil:
			out[name] = "refused: " + err.Error()
		case plan.Guard:
			out[name] = fmt.Sprintf("%s; guarded [%d, %d)", plan.Shape, plan.Lo, plan.Hi)
		default:
			out[name] = plan.Shape
		}
	}
	json.NewEncoder(w).Encode(out)
}
