package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shopFixture is the example service (example/shop) built the way
// example/demo.sh builds it, and its fix (example/_fix) as a patch.
type shopFixture struct {
	src   string // the release's module, go.mod replaced to this repository
	bin   string
	patch string
}

var (
	shfx     *shopFixture
	shfxErr  error
	shfxOnce sync.Once
)

func requireShop(t testing.TB) (*fixture, *shopFixture) {
	t.Helper()
	f := requireFixture(t)
	shfxOnce.Do(func() { shfx, shfxErr = buildShop(f) })
	if shfxErr != nil {
		t.Fatalf("build shop fixture: %v", shfxErr)
	}
	return f, shfx
}

func buildShop(f *fixture) (*shopFixture, error) {
	root := filepath.Join(f.root, "shop")
	src := filepath.Join(root, "src")
	if err := copyTree(filepath.Join(f.repo, "example", "shop"), src); err != nil {
		return nil, err
	}
	if _, err := run(src, "go", "mod", "edit", "-replace", "github.com/gohotfix/hotfix="+f.repo, "-replace", "github.com/gohotfix/hotfix/metrics="+filepath.Join(f.repo, "metrics")); err != nil {
		return nil, err
	}
	out, err := runFlags(src, f.hotfix, "-policy", "hotfix.yaml")
	if err != nil {
		return nil, err
	}
	s := &shopFixture{src: src, bin: filepath.Join(root, "bin", "shop"), patch: filepath.Join(root, "fix-1.0.1.so")}
	if _, err := run(src, "go", append(append([]string{"build"}, strings.Fields(out)...), "-o", s.bin, ".")...); err != nil {
		return nil, err
	}
	fix := filepath.Join(root, "fix")
	if err := copyTree(src, fix); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(f.repo, "example", "_fix", "pricing", "pricing.go"), filepath.Join(fix, "pricing", "pricing.go")); err != nil {
		return nil, err
	}
	if _, err := run(fix, f.hotfix, "build", "-binary", s.bin, "-policy", "hotfix.yaml", "-version", "1.0.1",
		"-o", s.patch, "-func", "example.com/shop/pricing.Quote"); err != nil {
		return nil, err
	}
	return s, nil
}

var shopAddrRE = regexp.MustCompile(`msg="shop listening" addr=(127\.0\.0\.1:\d+)`)

// startShop starts the shop on a loopback port with its own policy in a
// fresh directory. Like startHost, it kills the process when the test ends.
func startShop(t *testing.T, s *shopFixture, args ...string) *hostProc {
	t.Helper()
	dir := t.TempDir()
	if err := copyFile(filepath.Join("..", "example", "shop", "hotfix.yaml"), filepath.Join(dir, "hotfix.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "patches"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &hostProc{t: t, dir: dir, logs: &syncBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(s.bin, append([]string{"-addr", "127.0.0.1:0", "-policy", filepath.Join(dir, "hotfix.yaml")}, args...)...)
	h.cmd.Dir = dir
	stderr, err := h.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start shop: %v", err)
	}
	h.pid = h.cmd.Process.Pid
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(h.logs, sc.Text())
			if m := shopAddrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(h.logs, stderr)
	}()
	go func() { h.err = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			h.cmd.Process.Kill()
			<-h.done
		}
	})
	select {
	case h.addr = <-addr:
	case <-h.done:
		t.Fatalf("start shop: exited: %v\n%s", h.err, h.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("start shop: no listening line after 60s\n%s", h.logs)
	}
	return h
}

// loadStats are the requests of one phase.
type loadStats struct {
	lat            []time.Duration
	oldAns, newAns int
	failures       []string
	failed         int
}

func (s *loadStats) add(o *loadStats) {
	s.lat = append(s.lat, o.lat...)
	s.oldAns += o.oldAns
	s.newAns += o.newAns
	s.failed += o.failed
	if len(s.failures) < 10 {
		s.failures = append(s.failures, o.failures...)
	}
}

func (s *loadStats) pct(p int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[(len(s.lat)-1)*p/100]
}

// load sends GET url from workers goroutines over keep-alive connections
// until stop is closed or maxReq requests were sent. An answer is the old
// one (wantOld in the body), the new one (wantNew) or a failure.
func load(client *http.Client, url string, workers, maxReq int, stop <-chan struct{}, wantOld, wantNew string) *loadStats {
	var sent atomic.Int64
	var mu sync.Mutex
	total := &loadStats{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &loadStats{}
			defer func() {
				mu.Lock()
				total.add(st)
				mu.Unlock()
			}()
			for sent.Add(1) <= int64(maxReq) {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				body, err := getBody(client, url)
				st.lat = append(st.lat, time.Since(t0))
				switch {
				case err != nil:
					st.failed++
					if len(st.failures) < 3 {
						st.failures = append(st.failures, err.Error())
					}
				case strings.Contains(body, wantOld):
					st.oldAns++
				case strings.Contains(body, wantNew):
					st.newAns++
				default:
					st.failed++
					if len(st.failures) < 3 {
						st.failures = append(st.failures, fmt.Sprintf("answer %q", body))
					}
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(total.lat, func(i, j int) bool { return total.lat[i] < total.lat[j] })
	return total
}

func getBody(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %q", resp.Status, b)
	}
	return string(b), nil
}

// TestStressHTTPLoad runs a load generator against the example shop on
// loopback, first with no patching, then during 50 apply/revert cycles of
// its real fix dropped and deleted as a file: no request may fail, and
// each answer is the buggy or the fixed price. It reports latencies; it
// asserts none (the machine is shared).
func TestStressHTTPLoad(t *testing.T) {
	_, s := requireShop(t)
	cycles, steady := 50, 3*time.Second
	if longStress() {
		cycles, steady = 200, 10*time.Second
	}
	const workers, maxReq = 8, 2_000_000
	h := startShop(t, s)
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: workers + 1, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	url := "http://" + h.addr + "/quote?item=apple&qty=10"
	const buggy, fixed = "= 5.00 EUR", "= 4.50 EUR"
	if body, err := getBody(client, url); err != nil || !strings.Contains(body, buggy) {
		t.Fatalf("before any patch: %q, %v; want the buggy price", body, err)
	}

	stop := make(chan struct{})
	time.AfterFunc(steady, func() { close(stop) })
	base := load(client, url, workers, maxReq, stop, buggy, fixed)

	waitFor := func(want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			if body, err := getBody(client, url); err == nil && strings.Contains(body, want) {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("shop does not answer %q after 20s\n%s", want, h.logs)
	}
	stop = make(chan struct{})
	res := make(chan *loadStats)
	go func() { res <- load(client, url, workers, maxReq, stop, buggy, fixed) }()
	start := time.Now()
	for c := 0; c < cycles; c++ {
		drop(t, h.dir, s.patch, "fix-1.0.1.so")
		waitFor(fixed)
		remove(t, h.dir, "fix-1.0.1.so")
		waitFor(buggy)
	}
	took := time.Since(start)
	close(stop)
	during := <-res

	for name, st := range map[string]*loadStats{"without patching": base, "during patching": during} {
		if st.failed != 0 {
			t.Errorf("%s: %d of %d requests failed; first: %q", name, st.failed, len(st.lat), st.failures)
		}
	}
	if during.newAns == 0 || during.oldAns == 0 {
		t.Errorf("during patching the load saw %d buggy and %d fixed answers: want both", during.oldAns, during.newAns)
	}
	if base.newAns != 0 {
		t.Errorf("without patching the load saw %d fixed answers", base.newAns)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, `msg="patch applied"`); n != cycles {
		t.Errorf("%d patch applied records, want %d", n, cycles)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("errors logged:\n%s", logs)
	}
	for _, r := range []struct {
		name string
		st   *loadStats
		d    time.Duration
	}{{"without patching", base, steady}, {"during patching", during, took}} {
		t.Logf("%-17s %7d requests (%.0f/s, %d workers): p50 %v, p99 %v, max %v; %d buggy, %d fixed, %d failed",
			r.name, len(r.st.lat), float64(len(r.st.lat))/r.d.Seconds(), workers,
			r.st.pct(50).Round(time.Microsecond), r.st.pct(99).Round(time.Microsecond), r.st.pct(100).Round(time.Microsecond),
			r.st.oldAns, r.st.newAns, r.st.failed)
	}
	t.Logf("%d apply/revert cycles of the shop's fix in %v under load", cycles, took.Round(time.Millisecond))
	h.stop()
}
