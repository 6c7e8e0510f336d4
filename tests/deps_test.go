package tests

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDependencyFixGoHTTPBin: a fix in a dependency of a real service,
// carried the everyday way, as a local copy of the module (replace =>
// ./third_party/...). go-httpbin v2.25.0 is the service; upstream's CORS
// fix of v2.26.0 (QUERY among the allowed methods, in a closure of
// httpbin.preflight) is made in the copy; `hotfix build` finds it, and the
// running service takes it live and gives it back.
func TestDependencyFixGoHTTPBin(t *testing.T) {
	f := requireFixture(t)
	src := filepath.Join(t.TempDir(), "httpbinhost")
	if err := copyTree(filepath.Join("testdata", "httpbinhost"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeModule(src, "example.com/httpbinhost", f.repo); err != nil {
		t.Fatalf("go.mod: %v", err)
	}
	mustRun(t, src, "go", "get", "github.com/mccutchen/go-httpbin/v2@v2.25.0")
	modDir := mustRun(t, src, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/mccutchen/go-httpbin/v2")
	copy := filepath.Join(src, "third_party", "go-httpbin")
	if err := copyTree(modDir, copy); err != nil {
		t.Fatal(err)
	}
	mustRun(t, src, "chmod", "-R", "u+w", copy)
	mustRun(t, src, "go", "mod", "edit", "-replace", "github.com/mccutchen/go-httpbin/v2=./third_party/go-httpbin")
	mustRun(t, src, "go", "mod", "tidy")
	gitRelease(t, src)
	flags := mustRun(t, src, f.hotfix, "flags")
	host := filepath.Join(src, "httpbinhost")
	mustRun(t, src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...)

	mw := filepath.Join(copy, "httpbin", "middleware.go")
	old := []byte(`"GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS"`)
	b := readFile(mw)
	if !bytes.Contains(b, old) {
		t.Fatalf("%s: no CORS methods line to fix", mw)
	}
	if err := os.WriteFile(mw, bytes.Replace(b, old, []byte(`"GET, POST, HEAD, PUT, DELETE, PATCH, QUERY, OPTIONS"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(src, "cors.so")
	out := mustRun(t, src, f.hotfix, "build", "-binary", host, "-version", "2.25.0-cors", "-o", patch)
	t.Logf("hotfix build:\n%s", out)
	if !strings.Contains(out, "github.com/mccutchen/go-httpbin/v2/httpbin.preflight.func1") {
		t.Errorf("the plan does not replace the closure of preflight:\n%s", out)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hotfix.yaml"), readFile(filepath.Join(src, "hotfix.yaml")), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, host, dir)
	methods := func() string {
		req, _ := http.NewRequest("OPTIONS", "http://"+h.addr+"/get", nil)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Methods")
	}
	waitMethods := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if methods() == want {
				return
			}
		}
		t.Fatalf("Access-Control-Allow-Methods = %q, want %q\n%s", methods(), want, h.logs)
	}
	waitMethods("GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS")
	drop(t, dir, patch, "cors.so")
	waitMethods("GET, POST, HEAD, PUT, DELETE, PATCH, QUERY, OPTIONS")
	remove(t, dir, "cors.so")
	waitMethods("GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS")
}

func mustRun(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := run(dir, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gitRelease commits the tree at dir as the release `hotfix build`
// compares the working tree with.
func gitRelease(t *testing.T, dir string) {
	t.Helper()
	mustRun(t, dir, "git", "init", "-q", ".")
	mustRun(t, dir, "git", "add", "-A")
	mustRun(t, dir, "git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "release")
}
