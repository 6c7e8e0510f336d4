package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var adminAddrRE = regexp.MustCompile(`msg="admin listening" addr=(127\.0\.0\.1:\d+)`)

// adminGet sends a request to the shop's admin listener and returns the
// status code and body.
func adminGet(t *testing.T, admin, method, path, accept string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// scrape reads /metrics in Prometheus' text exposition format and returns
// the value of every sample of the hotfix_ families, keyed as written
// (name{label="value",...}, labels sorted as the client writes them); a
// histogram gives name_count and name_sum among its samples. The root
// module does not depend on Prometheus (package metrics is a module of its
// own), so the format is read here: one sample per line, "# " comments.
func scrape(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	code, _, body := adminGet(t, admin, "GET", "/metrics", "text/plain")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "hotfix_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("/metrics: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if len(out) == 0 {
		t.Fatalf("/metrics has no hotfix_ sample:\n%s", body)
	}
	return out
}

// waitMetric polls /metrics until the sample has the value.
func waitMetric(t *testing.T, h *hostProc, admin, key string, want float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var m map[string]float64
	for time.Now().Before(deadline) {
		if m = scrape(t, admin); m[key] == want {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s = %v, want %v after 20s\nmetrics: %v\nlogs:\n%s", key, m[key], want, m, h.logs)
	return nil
}

type statusReport struct {
	PID       int              `json:"pid"`
	BuildID   string           `json:"build_id"`
	GoVersion string           `json:"go_version"`
	Patches   []map[string]any `json:"patches"`
}

func status(t *testing.T, admin string) statusReport {
	t.Helper()
	code, hdr, body := adminGet(t, admin, "GET", "/hotfix", "")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /hotfix: %d %s\n%s", code, hdr.Get("Content-Type"), body)
	}
	var r statusReport
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("GET /hotfix: %v\n%s", err, body)
	}
	return r
}

// TestOperatorSurface: the example shop mounts the agent's status handler
// and its Prometheus collector on an admin listener. Both are read from
// outside over HTTP, as an operator's curl and Prometheus would, through a
// fix applied, a policy edit refused, and the fix reverted.
func TestOperatorSurface(t *testing.T) {
	f, s := requireShop(t)
	h := startShop(t, s, "-admin", "127.0.0.1:0")
	var admin string
	for deadline := time.Now().Add(20 * time.Second); admin == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := adminAddrRE.FindStringSubmatch(h.logs.String()); m != nil {
			admin = m[1]
		}
	}
	if admin == "" {
		t.Fatalf("no admin listening line\n%s", h.logs)
	}

	t.Run("before any patch", func(t *testing.T) {
		r := status(t, admin)
		if r.PID != h.pid || r.BuildID == "" || !strings.HasPrefix(r.GoVersion, "go1.") || r.Patches == nil || len(r.Patches) != 0 {
			t.Errorf("status = %+v, want pid %d, a build ID, a Go version and an empty list", r, h.pid)
		}
		m := scrape(t, admin)
		want := map[string]float64{
			`hotfix_info{build_id="` + r.BuildID + `",go_version="` + r.GoVersion + `"}`: 1,
			`hotfix_patches{state="applied"}`:                                            0,
			`hotfix_events_total{event="refused"}`:                                       0,
			`hotfix_plugins_loaded`:                                                      0,
			`hotfix_plugins_max`:                                                         16,
			`hotfix_policy_reload_errors_total`:                                          0,
			`hotfix_drop_to_live_seconds_count`:                                          0,
		}
		for k, v := range want {
			if got, ok := m[k]; !ok || got != v {
				t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
			}
		}
	})
	t.Run("read-only", func(t *testing.T) {
		for _, method := range []string{"POST", "PUT", "DELETE"} {
			code, hdr, _ := adminGet(t, admin, method, "/hotfix", "")
			if code != http.StatusMethodNotAllowed || hdr.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s /hotfix: %d, Allow %q; want 405 and GET, HEAD", method, code, hdr.Get("Allow"))
			}
		}
	})

	drop(t, h.dir, s.patch, "fix-1.0.1.so")
	m := waitMetric(t, h, admin, `hotfix_patches{state="applied"}`, 1)
	if body := h.mustGet("/quote?item=apple&qty=10"); !strings.Contains(body, "4.50 EUR") {
		t.Fatalf("applied, but the shop answers %q", body)
	}
	t.Run("applied", func(t *testing.T) {
		for k, v := range map[string]float64{
			`hotfix_events_total{event="applied"}`: 1,
			`hotfix_plugins_loaded`:                1,
			`hotfix_drop_to_live_seconds_count`:    1,
			`hotfix_stopped_world_seconds_count`:   1,
		} {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		if d := m["hotfix_drop_to_live_seconds_sum"]; d <= 0 || d > 20 {
			t.Errorf("drop to live %v s", d)
		}
		r := status(t, admin)
		if len(r.Patches) != 1 {
			t.Fatalf("patches = %v, want one", r.Patches)
		}
		p := r.Patches[0]
		sum := sha256.Sum256(readFile(s.patch))
		fns, _ := p["functions"].([]any)
		if p["state"] != "applied" || p["sha256"] != hex.EncodeToString(sum[:]) || p["file"] != "fix-1.0.1.so" ||
			p["version"] != "1.0.1" || p["id"] == "" || p["applied_at"] == nil || !slices.Contains(fns, any("example.com/shop/pricing.Quote")) {
			t.Errorf("patch = %v", p)
		}
		// The same names as `hotfix status -json`, which reads the ledger.
		out, err := run(h.dir, f.hotfix, "status", "-json", "-policy", filepath.Join(h.dir, "hotfix.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var cli []map[string]any
		if err := json.Unmarshal([]byte(out), &cli); err != nil || len(cli) != 1 {
			t.Fatalf("hotfix status -json: %v\n%s", err, out)
		}
		for k, v := range p {
			if _, ok := cli[0][k]; !ok {
				t.Errorf("the handler's %q is not in hotfix status -json", k)
			}
			if k != "applied_at" && k != "updated_at" && fmt.Sprint(cli[0][k]) != fmt.Sprint(v) {
				t.Errorf("%s: handler %v, hotfix status -json %v", k, v, cli[0][k])
			}
		}
		code, hdr, table := adminGet(t, admin, "GET", "/hotfix", "text/plain")
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") ||
			!strings.HasPrefix(table, "STATE") || !regexp.MustCompile(`(?m)^applied\s+1\.0\.1\s+fix-1\.0\.1\.so\s+1\s`).MatchString(table) {
			t.Errorf("text/plain: %d %s\n%s", code, hdr.Get("Content-Type"), table)
		}
	})

	t.Run("policy edit refused", func(t *testing.T) {
		pol := filepath.Join(h.dir, "hotfix.yaml")
		good := readFile(pol)
		if err := os.WriteFile(pol, append(good, []byte("\nnot_a_key: 1\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		waitMetric(t, h, admin, "hotfix_policy_reload_errors_total", 1)
		if err := os.WriteFile(pol, good, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	remove(t, h.dir, "fix-1.0.1.so")
	m = waitMetric(t, h, admin, `hotfix_patches{state="reverted"}`, 1)
	t.Run("reverted", func(t *testing.T) {
		for k, v := range map[string]float64{
			`hotfix_patches{state="applied"}`:       0,
			`hotfix_events_total{event="reverted"}`: 1,
			`hotfix_stopped_world_seconds_count`:    2,
			`hotfix_plugins_loaded`:                 1,
		} {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		if body := h.mustGet("/quote?item=apple&qty=10"); !strings.Contains(body, "5.00 EUR") {
			t.Errorf("reverted, but the shop answers %q", body)
		}
	})
}
