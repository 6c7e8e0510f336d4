// Command httpbinhost serves go-httpbin with the hotfix agent running.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/gohotfix/hotfix"
	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

func main() {
	policy := flag.String("policy", "hotfix.yaml", "policy")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	agent, err := hotfix.Start(context.Background(), hotfix.Config{PolicyPath: *policy, Logger: slog.Default()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	defer agent.Close()
	fmt.Println(http.ListenAndServe(*addr, httpbin.New()))
}
