package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hostProc is one running host process. Every process started goes through
// startHost, which kills it when the test ends and fails the test if it
// was still running then without the test having stopped it.
type hostProc struct {
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
	addr string
	pid  int
	logs *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newWorkDir makes a directory holding hotfix.yaml (a copy of the named
// policy from testdata) and an empty patches/ directory.
func newWorkDir(t testing.TB, policy string) string {
	t.Helper()
	dir := t.TempDir()
	if err := copyFile(filepath.Join("testdata", policy), filepath.Join(dir, "hotfix.yaml")); err != nil {
		t.Fatalf("write policy: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "patches"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startHost(t testing.TB, bin, dir string, env ...string) *hostProc {
	t.Helper()
	return startHostVia(t, nil, bin, dir, env...)
}

// startHostVia runs the host through the command line via (an emulator,
// `qemu-aarch64 -L /usr/aarch64-linux-gnu` for an arm64 host) when set.
func startHostVia(t testing.TB, via []string, bin, dir string, env ...string) *hostProc {
	t.Helper()
	h := &hostProc{t: t, dir: dir, logs: &syncBuffer{}, done: make(chan struct{})}
	argv := append(append(via[:len(via):len(via)], bin), "-policy", filepath.Join(dir, "hotfix.yaml"))
	h.cmd = exec.Command(argv[0], argv[1:]...)
	h.cmd.Dir = dir
	h.cmd.Env = append(os.Environ(), env...)
	h.cmd.Stderr = h.logs
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start host: %v", err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { h.err = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		select {
		case <-h.done:
			return
		default:
		}
		h.cmd.Process.Kill()
		<-h.done
	})
	select {
	case l := <-lines:
		var pid int
		var variant string
		if _, err := fmt.Sscanf(l, "listening %s pid %d variant %s", &h.addr, &pid, &variant); err != nil {
			t.Fatalf("start host: unexpected first line %q: %v", l, err)
		}
		h.pid = pid
	case <-h.done:
		t.Fatalf("start host: exited: %v\n%s", h.err, h.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("start host: no listening line after 60s\n%s", h.logs)
	}
	return h
}

func (h *hostProc) get(path string) (string, error) {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + h.addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

func (h *hostProc) mustGet(path string) string {
	h.t.Helper()
	s, err := h.get(path)
	if err != nil {
		h.t.Fatalf("host: %v\nlogs:\n%s", err, h.logs)
	}
	return s
}

// waitGreet polls /greet until it answers "hello x VERSION".
func (h *hostProc) waitGreet(version string) {
	h.t.Helper()
	want := "hello x " + version
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = h.mustGet("/greet?name=x")
		if got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("host answers %q, want %q after 20s\nlogs:\n%s", got, want, h.logs)
}

// waitAnswer gets path until the host answers answer, for 10 s at most
// (a patch is applied or reverted in the background meanwhile).
func (h *hostProc) waitAnswer(path, answer string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	got := ""
	for got != answer && time.Now().Before(deadline) {
		got = h.mustGet(path)
	}
	if got != answer {
		h.t.Fatalf("GET %s = %q, want %q\nlogs:\n%s", path, got, answer, h.logs)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (h *hostProc) stop() {
	h.t.Helper()
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		h.cmd.Process.Kill()
		h.t.Fatalf("host did not exit on SIGTERM\n%s", h.logs)
	}
}

// records returns the host's log records with the given message.
func (h *hostProc) records(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(h.logs.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(l), &r) == nil && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// waitRecord waits for the n-th log record with msg and returns it.
func (h *hostProc) waitRecord(msg string, n int) map[string]any {
	h.t.Helper()
	return h.waitRecordWithin(msg, n, 20*time.Second)
}

func (h *hostProc) waitRecordWithin(msg string, n int, d time.Duration) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if rs := h.records(msg); len(rs) >= n {
			return rs[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("no log record %q #%d after %v\nlogs:\n%s", msg, n, d, h.logs)
	return nil
}

// mapped reports whether the host's memory maps a file whose path contains s.
func (h *hostProc) mapped(s string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", h.pid))
	if err != nil {
		h.t.Fatalf("read maps: %v", err)
	}
	return strings.Contains(string(b), s)
}

// drop copies a patch into the patch directory the way scp plus rename
// does: a hidden temporary name, then a rename into place.
func drop(t testing.TB, dir, patch, name string) {
	t.Helper()
	tmp := filepath.Join(dir, "patches", "."+name+".part")
	if err := copyFile(patch, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "patches", name)); err != nil {
		t.Fatal(err)
	}
}

func remove(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "patches", name)); err != nil {
		t.Fatal(err)
	}
}

// fieldLoad calls path from 4 goroutines until stopped, and counts the
// answers whose space-separated fields are not, each, the old or the new
// value (fields[i][0] or fields[i][1]): whichever code ran, a call must
// see one whole version of each function.
type fieldLoad struct {
	stop       atomic.Bool
	calls, bad atomic.Int64
	example    atomic.Value
	wg         sync.WaitGroup
}

func startFieldLoad(h *hostProc, path string, fields [][2]string) *fieldLoad {
	l := &fieldLoad{}
	for g := 0; g < 4; g++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stop.Load() {
				got := strings.Fields(h.mustGet(path))
				l.calls.Add(1)
				for i, want := range fields {
					if len(got) != len(fields) || (got[i] != want[0] && got[i] != want[1]) {
						l.bad.Add(1)
						l.example.Store(strings.Join(got, " "))
						break
					}
				}
			}
		}()
	}
	return l
}

// finish stops the callers and fails the test on any wrong answer; it
// returns the number of calls made.
func (l *fieldLoad) finish(t testing.TB) int64 {
	t.Helper()
	l.stop.Store(true)
	l.wg.Wait()
	if l.bad.Load() != 0 {
		t.Fatalf("%d wrong answers in %d calls, e.g. %q", l.bad.Load(), l.calls.Load(), l.example.Load())
	}
	return l.calls.Load()
}
