package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// TestDependencyFixGoHTTPBin: a fix in a dependency of a real service,
// carried the everyday way, as a local copy of the module (replace =>
// ./third_party/...). go-httpbin v2.25.0 is the service; upstream's CORS
// fix of v2.26.0 (QUERY among the allowed methods, in a closure of
// httpbin.preflight) is made in the copy; `hotfix build` finds it, and the
// running service takes it live and gives it back. The service is built
// with full optimization (no -l): preflight is inlined into
// (*HTTPBin).Handler, which made the closure that serves every request
// (Handler.preflight.funcN) once, at start-up. The patch redirects that
// closure; Handler's own code and its other closures compile to the
// release's and are left out.
func TestDependencyFixGoHTTPBin(t *testing.T) {
	f := requireFixture(t)
	c := buildCORSFix(t, f, t.TempDir())
	t.Logf("hotfix build:\n%s", c.buildOut)
	// Go 1.26 names the closure after the function it was inlined into
	// (Handler.preflight.func2); Go 1.27 keeps its own name
	// (preflight.func1), which the patch redirects as a closure of the
	// changed preflight.
	words := strings.Join(strings.Fields(c.buildOut), " ")
	held := strings.Contains(words, "github.com/mccutchen/go-httpbin/v2/httpbin.(*HTTPBin).Handler.preflight.func") &&
		strings.Contains(words, "closure of httpbin.(*HTTPBin).Handler, which holds an inlined copy of httpbin.preflight: replaced with it")
	own := strings.Contains(words, "github.com/mccutchen/go-httpbin/v2/httpbin.preflight.func1 closure of httpbin.preflight: body changed")
	if !held && !own {
		t.Errorf("the plan does not replace the closure Handler made from the inlined preflight:\n%s", c.buildOut)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hotfix.yaml"), c.policy, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, c.host, dir)
	waitMethods := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if corsMethods(h) == want {
				return
			}
		}
		t.Fatalf("Access-Control-Allow-Methods = %q, want %q\n%s", corsMethods(h), want, h.logs)
	}
	waitMethods(corsBefore)
	drop(t, dir, c.patch, "cors.so")
	waitMethods(corsAfter)
	remove(t, dir, "cors.so")
	waitMethods(corsBefore)

	// The same fix linked against the release (hotfix build's default):
	// the patch carries httpbin and the runtime, not the service's
	// other packages, and binds to the release's code for them.
	slim := filepath.Join(c.src, "cors-slim.so")
	// -binary relative to the module, as an operator writes it: the
	// linker's -toolexec runs elsewhere.
	rel, err := filepath.Rel(c.src, c.host)
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, c.src, f.hotfix, "build", "-binary", "./"+rel, "-version", "2.25.0-cors-slim", "-o", slim)
	if !strings.Contains(out, "slim link: ") {
		t.Fatalf("hotfix build did not link the plugin against the release:\n%s", out)
	}
	// A nosplit method wrapper the patch carries calls a method left to
	// the release: the link takes it to check its stack, which the
	// release's code shows, instead of linking again to carry it.
	if !strings.Contains(lineWith(out, "slim link: "), "links: 1") {
		t.Errorf("the slim link took more than one link:\n%s", out)
	}
	whole, small := fileSize(t, c.patch), fileSize(t, slim)
	t.Logf("patch linked whole: %d bytes; slim: %d bytes; %s", whole, small, strings.TrimSpace(lineWith(out, "slim link: ")))
	if small*2 > whole {
		t.Errorf("slim patch %d bytes, whole %d: want less than half", small, whole)
	}
	drop(t, dir, slim, "cors-slim.so")
	waitMethods(corsAfter)
	remove(t, dir, "cors-slim.so")
	waitMethods(corsBefore)
	drop(t, dir, slim, "cors-slim.so")
	waitMethods(corsAfter)
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The methods go-httpbin v2.25.0 allows in a CORS preflight, and those of
// v2.26.0, whose fix buildCORSFix makes.
const (
	corsBefore = "GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS"
	corsAfter  = "GET, POST, HEAD, PUT, DELETE, PATCH, QUERY, OPTIONS"
)

// buildCORSFix is a real service and a real fix in one of its
// dependencies: go-httpbin v2.25.0 (testdata/httpbinhost), and upstream's
// CORS fix of v2.26.0 (QUERY among the allowed methods, in a closure of
// httpbin.preflight) made in a local copy of the module.
func buildCORSFix(t testing.TB, f *fixture, root string) *service {
	t.Helper()
	src := httpbinSource(t, f, root)
	copy := carryModule(t, src, "github.com/mccutchen/go-httpbin/v2", "go-httpbin")
	s := &service{name: "httpbin", src: src, version: "2.25.0-cors",
		fixed: func(h *hostProc) bool { return corsMethods(h) == corsAfter }}
	return buildService(t, f, s, func() {
		replaceOnce(t, filepath.Join(copy, "httpbin", "middleware.go"), `"`+corsBefore+`"`, `"`+corsAfter+`"`)
	})
}

// corsMethods asks h for a CORS preflight and returns the methods allowed.
func corsMethods(h *hostProc) string {
	h.t.Helper()
	req, _ := http.NewRequest("OPTIONS", "http://"+h.addr+"/get", nil)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Access-Control-Allow-Methods")
}

func mustRun(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out, err := run(dir, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gitRelease commits the tree at dir as the release `hotfix build`
// compares the working tree with.
func gitRelease(t testing.TB, dir string) {
	t.Helper()
	mustRun(t, dir, "git", "init", "-q", ".")
	mustRun(t, dir, "git", "add", "-A")
	mustRun(t, dir, "git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "release")
}

// TestDependencyBump: a dependency's fix shipped as a go.mod version bump.
// Both versions come from the module cache, where the go command takes no
// overlay: the patch is built with a private module cache in which only
// the bumped module's patched files differ (internal/patchbuild/modcache.go).
// The module is served by a file:// proxy the test writes, so that its two
// versions differ by one body.
func TestDependencyBump(t *testing.T) {
	f := requireFixture(t)
	v1 := "package greet\n\n// Hello greets name.\nfunc Hello(name string) string {\n\treturn greet(name)\n}\n\nfunc greet(n string) string {\n\treturn \"hello \" + n\n}\n\nfunc shout(s string) string {\n\treturn s + \"!\"\n}\n"
	// The fix adds a constant, as fixes that bound an input often do, and
	// changes the signature of an unexported function whose only caller
	// it changes too: the new Hello must call the patch's greet, never the
	// release's (which would answer "hello hello, fixed,"). It also calls
	// shout, which the release never called (dead code, not in the
	// binary): the patch's own copy runs.
	v2 := "package greet\n\nconst word = \"hello, fixed,\"\n\n// Hello greets name.\nfunc Hello(name string) string {\n\treturn shout(greet(word, name))\n}\n\nfunc greet(w, n string) string {\n\treturn w + \" \" + n\n}\n\nfunc shout(s string) string {\n\treturn s + \"!!\"\n}\n"
	// The module path carries a hash of both versions: the module cache
	// keeps what it once extracted, and a changed test must not meet it.
	sum := sha256.Sum256([]byte(v1 + v2))
	mod := "example.com/hfdep" + hex.EncodeToString(sum[:4])
	proxy := t.TempDir()
	for v, src := range map[string]string{"v1.0.0": v1, "v1.0.1": v2} {
		writeProxyVersion(t, proxy, mod, v, map[string]string{"go.mod": "module " + mod + "\n\ngo 1.26.0\n", "greet/greet.go": src})
	}
	goproxy := mustRun(t, ".", "go", "env", "GOPROXY")
	t.Setenv("GOPROXY", "file://"+proxy+","+goproxy)
	t.Setenv("GONOSUMDB", mod)
	t.Setenv("GOFLAGS", "-mod=mod")

	src := filepath.Join(t.TempDir(), "dephost")
	main := `package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gohotfix/hotfix"
	"MOD/greet"
)

func main() {
	policy := flag.String("policy", "hotfix.yaml", "policy")
	flag.Parse()
	agent, err := hotfix.Start(context.Background(), hotfix.Config{PolicyPath: *policy})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	defer agent.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	http.HandleFunc("/greet", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, greet.Hello(r.URL.Query().Get("name"))) })
	fmt.Printf("listening %s pid %d variant dep\n", ln.Addr(), os.Getpid())
	http.Serve(ln, nil)
}
`
	files := map[string]string{
		"main.go": strings.ReplaceAll(main, "MOD", mod),
		// main too: the handler's closure holds an inlined copy of Hello.
		"hotfix.yaml": "patch_dir: patches\nstate_dir: state\nallow:\n  packages: [" + mod + "/greet, main]\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeModule(src, "example.com/dephost", f.repo); err != nil {
		t.Fatalf("go.mod: %v", err)
	}
	mustRun(t, src, "go", "get", mod+"@v1.0.0")
	gitRelease(t, src)
	flags := mustFlags(t, src, f.hotfix)
	host := filepath.Join(src, "dephost")
	mustRun(t, src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...)

	mustRun(t, src, "go", "get", mod+"@v1.0.1")
	patch := filepath.Join(src, "bump.so")
	out := mustRun(t, src, f.hotfix, "build", "-binary", host, "-version", "dep-1.0.1", "-o", patch)
	t.Logf("hotfix build:\n%s", out)
	if !strings.Contains(out, mod+"/greet.Hello") || !strings.Contains(out, mod+" v1.0.0 -> v1.0.1") || !strings.Contains(out, "constant added") || !strings.Contains(out, "greet.greet: signature changed") || !strings.Contains(out, "greet.shout: not in the release binary") {
		t.Errorf("the plan does not replace greet.Hello, or does not note the bump and the new constant:\n%s", out)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hotfix.yaml"), []byte(files["hotfix.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, host, dir)
	wait := func(want string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if got = h.mustGet("/greet?name=x"); got == want {
				return
			}
		}
		t.Fatalf("/greet = %q, want %q\n%s", got, want, h.logs)
	}
	wait("hello x")
	drop(t, dir, patch, "bump.so")
	wait("hello, fixed, x!!")
	remove(t, dir, "bump.so")
	wait("hello x")
}

// writeProxyVersion writes one version of a module in the layout of a
// module proxy (the go command's GOPROXY protocol, served from file://).
func writeProxyVersion(t *testing.T, proxy, mod, version string, files map[string]string) {
	t.Helper()
	src := t.TempDir()
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(proxy, mod, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	if err := modzip.CreateFromDir(&zbuf, module.Version{Path: mod, Version: version}, src); err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, version)
	for name, body := range map[string][]byte{version + ".zip": zbuf.Bytes(), version + ".mod": []byte(files["go.mod"]), version + ".info": []byte(info)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := os.ReadFile(filepath.Join(dir, "list"))
	if err := os.WriteFile(filepath.Join(dir, "list"), append(list, version+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustFlags(t testing.TB, dir, hotfix string) string {
	t.Helper()
	out, err := runFlags(dir, hotfix)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
