package stdtax

import (
	"io"
	"net/http"
)

// Handler reads the request's body and answers a short text, as the
// benchmarks' server: in a non-test file, so that `hotfix flags` run here
// sees net/http among the packages the module builds.
var Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "hello, net/http\n")
})
