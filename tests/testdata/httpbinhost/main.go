// Command httpbinhost serves go-httpbin with the hotfix agent running.
package main

import (
	"net/http"

	"github.com/gohotfix/hotfix/tests/testhost"
	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

func main() {
	h := testhost.Start("httpbin")
	mux := http.NewServeMux()
	mux.Handle("/", httpbin.New())
	h.Serve(mux)
}
