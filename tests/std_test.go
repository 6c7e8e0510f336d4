package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/loader"
)

// TestStdFixGoRoot: a standard-library fix from a Go point release, live in
// a net/http service built by the release before it. The point release is
// made here: a hard-linked copy of the Go root of the toolchain the tests
// run with (Go 1.27's lives in the module cache), with a new bound in
// net/textproto's readMIMEHeader (a header line longer than 1024 bytes is
// a protocol error), written as a new file so the link to the release's is
// broken. The host allows net/textproto, so `hotfix flags` builds it with
// -gcflags=net/textproto=-l, and no function of it is inlined into the
// binary (the fixture's host, whose policy does not allow it, has some;
// on a host with full optimization: TestStdFixInlinedKeep).
// One patch, built with `hotfix build -goroot`, carries the standard
// library's fix and the application's (greet.Hello answers v1): under
// load, a request with a 2000-byte header that the release answers is
// refused with 400 once the file is dropped, and answered again once it
// is deleted.
func TestStdFixGoRoot(t *testing.T) {
	f := requireFixture(t)
	root := stdPointRelease(t)
	src, flags := stdRelease(t, f, "stdpolicy.yaml")
	if !strings.Contains(flags, "-gcflags=net/textproto=-l") {
		t.Fatalf("hotfix flags for a policy allowing net/textproto: %s", flags)
	}
	host := filepath.Join(t.TempDir(), "host")
	mustRun(t, src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...)
	if got := inlinedFrom(t, host, "net/textproto."); len(got) != 0 {
		t.Errorf("built with -gcflags=net/textproto=-l, the host still has net/textproto inlined: %v", got)
	}
	if got := inlinedFrom(t, f.host, "net/textproto."); len(got) == 0 {
		t.Errorf("the fixture's host, built without -l on net/textproto, has none of its functions inlined: the check above proves nothing")
	}

	if err := copyTree(filepath.Join("testdata", "patches", "v1"), src); err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "std.so")
	out := mustRun(t, src, f.hotfix, "build", "-binary", host, "-goroot", root, "-version", "std1", "-o", patch)
	t.Logf("hotfix build -goroot:\n%s", out)
	for _, fn := range []string{"net/textproto.readMIMEHeader", "example.com/hostapp/greet.Hello"} {
		if !strings.Contains(out, fn) {
			t.Errorf("the plan does not replace %s", fn)
		}
	}

	dir := newWorkDir(t, "stdpolicy.yaml")
	h := startHost(t, host, dir)
	long := strings.Repeat("a", 2000)
	wantStatus(t, h, long, http.StatusOK, "the release accepts a 2000-byte header line")
	h.waitGreet("v0")
	load := startFieldLoad(h, "/greet?name=x", [][2]string{{"hello", "hello"}, {"x", "x"}, {"v0", "v1"}})
	drop(t, dir, patch, "std.so")
	h.waitRecord("patch applied", 1)
	h.waitGreet("v1")
	wantStatus(t, h, long, http.StatusBadRequest, "the fix refuses a header line over 1024 bytes")
	wantStatus(t, h, strings.Repeat("a", 1000), http.StatusOK, "and accepts one under the bound")
	remove(t, dir, "std.so")
	h.waitRecord("patch reverted", 1)
	h.waitGreet("v0")
	wantStatus(t, h, long, http.StatusOK, "reverted: the release's code accepts it again")
	t.Logf("%d calls under load, each answered by one whole version", load.finish(t))
}

// stdRelease is the fixture's source with the policy testdata/policy as
// its hotfix.yaml, committed as the release, and the flags `hotfix flags`
// prints for it.
func stdRelease(t *testing.T, f *fixture, policy string) (src, flags string) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join("testdata", policy), filepath.Join(src, "hotfix.yaml")); err != nil {
		t.Fatal(err)
	}
	gitRelease(t, src)
	return src, mustFlags(t, src, f.hotfix)
}

// stdPointRelease makes a Go point release of the toolchain the tests run
// with: `cp -al` of its root, and net/textproto/reader.go rewritten with a
// bound on a header line's length.
func stdPointRelease(t *testing.T) string {
	old := "\t\tkv, err := r.readContinuedLineSlice(maxMemory, mustHaveFieldNameColon)\n\t\tif len(kv) == 0 {\n\t\t\treturn m, err\n\t\t}\n"
	return pointRelease(t, "net/textproto/reader.go", old, old+"\t\tif len(kv) > 1024 {\n\t\t\treturn m, ProtocolError(\"header line too long\")\n\t\t}\n")
}

// pointRelease makes a Go point release of the toolchain the tests run
// with: `cp -al` of its root, and the one occurrence of old in the file
// (a path under src) replaced by new, written as a new file so that the
// link to the release's is broken.
func pointRelease(t *testing.T, file, old, new string) string {
	t.Helper()
	goroot := mustRun(t, ".", "go", "env", "GOROOT")
	dir := filepath.Join(t.TempDir(), "go")
	mustRun(t, ".", "cp", "-al", goroot, dir)
	// A module cache's directories are read-only: let the test write
	// one file, and remove the copy afterwards.
	t.Cleanup(func() { run(".", "chmod", "-R", "u+w", dir) })
	file = filepath.Join(dir, "src", filepath.FromSlash(file))
	mustRun(t, ".", "chmod", "u+w", filepath.Dir(file))
	b := readFile(file)
	if strings.Count(string(b), old) != 1 {
		t.Fatalf("%s: %q is not there once", file, old)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inlinedFrom returns the functions whose names start with prefix that the
// binary has inlined somewhere.
func inlinedFrom(t *testing.T, bin, prefix string) []string {
	t.Helper()
	b, err := loader.ReadBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	names, err := b.InlinedWithPrefix(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// wantStatus sends a GET with an X-Long header of value v and fails the
// test unless h answers with the status want.
func wantStatus(t *testing.T, h *hostProc, v string, want int, why string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+h.addr+"/greet?name=x", nil)
	req.Header.Set("X-Long", v)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET with a %d-byte header: %v", len(v), err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET with a %d-byte header: %s, want %d: %s\n%s", len(v), resp.Status, want, why, h.logs)
	}
}

// TestStdGoFlag: `hotfix build -go goX.Y.Z` takes the root of that Go
// release as the go command fetches it (GOTOOLCHAIN=goX.Y.Z go env
// GOROOT), with the releases this machine has only: GOPROXY=off makes any
// download an error. The release's own Go names its own root, whose
// standard library is the release's: nothing to patch. The other Go
// (1.27 for a 1.26 release, or the reverse) is refused naming both
// versions, before the go command is asked for it; a malformed version is
// a usage error naming the flag.
func TestStdGoFlag(t *testing.T) {
	f := requireFixture(t)
	t.Setenv("GOPROXY", "off")
	src := filepath.Join(t.TempDir(), "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	gitRelease(t, src)
	local := mustRun(t, ".", "go", "env", "GOVERSION")
	root := mustRun(t, ".", "go", "env", "GOROOT")
	build := func(v string) (string, error) {
		return run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-go", v, "-o", filepath.Join(t.TempDir(), "std.so"))
	}

	t0 := time.Now()
	out, err := build(local)
	t.Logf("hotfix build -go %s (%s):\n%s", local, time.Since(t0).Round(time.Millisecond), out)
	if err == nil || !strings.Contains(out, "-go "+local+": its Go root is "+root) || !strings.Contains(out, "nothing to patch") {
		t.Errorf("hotfix build -go %s for a release of %s: %v; want its root %s and nothing to patch:\n%s", local, local, err, root, out)
	}
	other := "go1.27.3"
	if strings.HasPrefix(local, "go1.27") {
		other = "go1.26.8"
	}
	out, err = build(other)
	if err == nil || !strings.Contains(out, "refused: -go "+other+": it is "+other+" and the release "+local) || strings.Contains(out, "its Go root is") {
		t.Errorf("hotfix build -go %s for a release of %s: %v; want a refusal naming both, before the root is looked up:\n%s", other, local, err, out)
	}
	out, err = build("go1.26.x")
	if err == nil || !strings.Contains(out, `usage: -go "go1.26.x": not a Go release`) {
		t.Errorf("hotfix build -go go1.26.x: %v; want a usage error naming -go:\n%s", err, out)
	}
}

// TestStdFixInlinedKeep: a standard-library fix on a host built with the
// compiler's full optimization (inlining: keep, no -l anywhere). The point
// release bounds the line textproto.(*Reader).ReadLine reads to 1024
// bytes; the compiler inlined that small method into net/http's
// readRequest (and, in a client, ReadResponse), and into textproto's own
// functions and the promoted (*Conn).ReadLine, which hold the old code.
// The plan replaces each holder the release has, named with the inline
// site, and the host, under load, answers a request line of 2000 bytes
// 400 once the patch is dropped, 200 again once it is deleted.
func TestStdFixInlinedKeep(t *testing.T) {
	f := requireFixture(t)
	root := pointRelease(t, "net/textproto/reader.go",
		"func (r *Reader) ReadLine() (string, error) {\n\tline, err := r.readLineSlice(-1)\n",
		"func (r *Reader) ReadLine() (string, error) {\n\tline, err := r.readLineSlice(1024)\n")
	src, flags := stdRelease(t, f, "stdkeep.yaml")
	if strings.Contains(flags, "-gcflags") {
		t.Fatalf("hotfix flags under inlining: keep asks for -gcflags: %s", flags)
	}
	host := filepath.Join(t.TempDir(), "host")
	mustRun(t, src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...)
	// A holder in a package the policy does not allow is refused, naming
	// it, the inline site and the line that would allow it; the host
	// needs no rebuild for that line.
	narrow := strings.Replace(string(readFile(filepath.Join(src, "hotfix.yaml"))), ", net/http]", "]", 1)
	if err := os.WriteFile(filepath.Join(src, "narrow.yaml"), []byte(narrow), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host, "-goroot", root, "-policy", "narrow.yaml")
	// (Go 1.27 calls net/http's readRequest readRequestLimit.)
	refusal := regexp.MustCompile(`net/http\.readRequest(Limit)?: not allowed by policy: not in allow \(packages, types, functions\); the fix does not change it, but it holds a copy of textproto\.\(\*Reader\)\.ReadLine that the release's compiler inlined at net/http/request\.go:\d+, and must be replaced with it: allow it \(allow\.packages: \[net/http\]\)`)
	if err == nil || !refusal.MatchString(out) {
		t.Errorf("a holder outside the policy: %v, want a refusal matching %s\n%s", err, refusal, out)
	}
	patch := filepath.Join(t.TempDir(), "std.so")
	out = mustRun(t, src, f.hotfix, "build", "-binary", host, "-goroot", root, "-version", "stdkeep", "-o", patch)
	t.Logf("hotfix build -goroot:\n%s", out)
	holder := regexp.MustCompile(`net/http\.readRequest(Limit)? +holds an inlined copy of textproto\.\(\*Reader\)\.ReadLine \(at net/http/request\.go:\d+\)`)
	if !holder.MatchString(out) {
		t.Errorf("the plan does not match %s", holder)
	}
	// Places in the standard library are named from its src directory,
	// as the target's are.
	if goroot := mustRun(t, ".", "go", "env", "GOROOT"); strings.Contains(out, strings.TrimSpace(goroot)+"/src/net/http") {
		t.Errorf("the plan names net/http's places by the Go root's absolute path")
	}

	dir := newWorkDir(t, "stdkeep.yaml")
	h := startHost(t, host, dir)
	wantLine(t, h, 2000, http.StatusOK, "the release reads a 2000-byte request line")
	load := startFieldLoad(h, "/greet?name=x", [][2]string{{"hello", "hello"}, {"x", "x"}, {"v0", "v0"}})
	// A call in progress finishes in the code it started in. The server's
	// goroutine for a new connection waits for its first request inside
	// readRequest: opened before the patch, this connection's first
	// request is read by the release's code, its next by the fix's.
	early := dialEarly(t, h)
	drop(t, dir, patch, "std.so")
	h.waitRecord("patch applied", 1)
	inflightLogged(t, h, "calls in progress finish in the release's code")
	wantLine(t, h, 2000, http.StatusBadRequest, "the fix reads 1024 bytes of a line at most")
	early.want(2000, http.StatusOK, "a connection opened before the patch: its first request is read by the call that was waiting")
	early.want(2000, http.StatusBadRequest, "and its next by the fix")
	wantLine(t, h, 500, http.StatusOK, "and a shorter line whole")
	// The same, the other way: opened before the revert, a connection's
	// first request is read by the fix.
	early = dialEarly(t, h)
	remove(t, dir, "std.so")
	h.waitRecord("patch reverted", 1)
	inflightLogged(t, h, "calls in progress finish in the patch's code")
	wantLine(t, h, 2000, http.StatusOK, "reverted: the release's code reads it again")
	// (The server closes a connection after a 400: no next request.)
	early.want(2000, http.StatusBadRequest, "a connection opened before the revert: its first request is read by the call that was waiting, in the fix")
	t.Logf("%d calls under load, each answered by one whole version", load.finish(t))
}

// inflightLogged waits for the agent's record msg and checks that it
// counts a call of net/http's readRequest (readRequestLimit on Go 1.27):
// the one waiting on an early connection, at least.
func inflightLogged(t *testing.T, h *hostProc, msg string) {
	t.Helper()
	r := h.waitRecord(msg, 1)
	if g, _ := r["goroutines"].(string); !regexp.MustCompile(`net/http\.readRequest(Limit)?: [1-9]`).MatchString(g) {
		t.Errorf("%s: %q, want net/http.readRequest's", msg, g)
	}
}

// earlyConn is a connection to a host, opened before its code changes.
type earlyConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialEarly connects to h and gives the server's goroutine time to start
// reading the connection's first request.
func dialEarly(t *testing.T, h *hostProc) *earlyConn {
	t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	time.Sleep(500 * time.Millisecond)
	return &earlyConn{t: t, c: c, r: bufio.NewReader(c)}
}

// want sends a GET whose request line is about n bytes long on the
// connection and fails the test unless the status is want.
func (e *earlyConn) want(n, want int, why string) {
	e.t.Helper()
	e.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(e.c, "GET /greet?name=x&pad=%s HTTP/1.1\r\nHost: x\r\n\r\n", strings.Repeat("a", n)); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(e.r, nil)
	if err != nil {
		e.t.Fatalf("GET with a %d-byte request line: %v", n, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		e.t.Fatalf("GET with a %d-byte request line: %s, want %d: %s", n, resp.Status, want, why)
	}
}

// wantLine sends a GET whose request line is about n bytes long, on a
// connection of its own, and fails the test unless h answers with the
// status want.
func wantLine(t *testing.T, h *hostProc, n, want int, why string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + h.addr + "/greet?name=x&pad=" + strings.Repeat("a", n))
	if err != nil {
		t.Fatalf("GET with a %d-byte request line: %v", n, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET with a %d-byte request line: %s, want %d: %s\n%s", n, resp.Status, want, why, h.logs)
	}
}
