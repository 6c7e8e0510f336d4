package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A service is a real host and a one-function fix to it, each built the
// way an operator builds them: the host with `hotfix flags` from a
// release commit; the fix as a change to a local copy of the fixed module
// (replace => ./third_party/...), built with `hotfix build`.
type service struct {
	name             string
	src, host, patch string // patch: linked whole
	version          string // the fix's -version
	policy           []byte
	buildOut         string               // what hotfix build printed
	fixed            func(*hostProc) bool // the fixed behaviour answers
}

// carryModule copies module mod from the module cache into
// src/third_party/dir and replaces mod with the copy; it returns the copy.
func carryModule(t testing.TB, src, mod, dir string) string {
	t.Helper()
	modDir := mustRun(t, src, "go", "list", "-m", "-f", "{{.Dir}}", mod)
	copy := filepath.Join(src, "third_party", dir)
	if err := copyTree(modDir, copy); err != nil {
		t.Fatal(err)
	}
	mustRun(t, src, "chmod", "-R", "u+w", copy)
	mustRun(t, src, "go", "mod", "edit", "-replace", mod+"=./third_party/"+dir)
	mustRun(t, src, "go", "mod", "tidy")
	return copy
}

// buildService commits src as the release, builds its host with the flags
// `hotfix flags` prints (the compiler's full optimization: no -gcflags),
// makes the fix (edit, in the working tree) and builds the patch whole.
func buildService(t testing.TB, f *fixture, s *service, edit func()) *service {
	t.Helper()
	gitRelease(t, s.src)
	flags := mustFlags(t, s.src, f.hotfix)
	if strings.Contains(flags, "-gcflags") {
		t.Fatalf("hotfix flags for %s asks for -gcflags: %s", s.name, flags)
	}
	s.host, s.patch = filepath.Join(s.src, s.name+"host"), filepath.Join(s.src, s.name+".so")
	mustRun(t, s.src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", s.host, ".")...)
	edit()
	s.buildOut = mustRun(t, s.src, f.hotfix, "build", "-slim=false", "-binary", s.host, "-version", s.version, "-o", s.patch)
	s.policy = readFile(filepath.Join(s.src, "hotfix.yaml"))
	return s
}

// replaceOnce replaces old with new in the file at path, once.
func replaceOnce(t testing.TB, path, old, new string) {
	t.Helper()
	b := readFile(path)
	if bytes.Count(b, []byte(old)) != 1 {
		t.Fatalf("%s: %q is not there once", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildShopFix is the example shop's packages in testdata/shophost, and
// the example's own fix (example/_fix/pricing: the bulk discount from
// exactly BulkQuantity).
func buildShopFix(t testing.TB, f *fixture, root string) *service {
	t.Helper()
	src := filepath.Join(root, "shophost")
	if err := copyTree(filepath.Join("testdata", "shophost"), src); err != nil {
		t.Fatal(err)
	}
	shop := filepath.Join(src, "third_party", "shop")
	if err := copyTree(filepath.Join(f.repo, "example", "shop"), shop); err != nil {
		t.Fatal(err)
	}
	gomod := fmt.Sprintf("module example.com/shophost\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/gohotfix/hotfix v0.0.0\n\tgithub.com/gohotfix/hotfix/metrics v0.0.0\n\texample.com/shop v0.0.0\n)\n\n"+
		"replace github.com/gohotfix/hotfix => %s\n\nreplace github.com/gohotfix/hotfix/metrics => %s\n\nreplace example.com/shop => ./third_party/shop\n",
		f.repo, filepath.Join(f.repo, "metrics"))
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(shop, "go.sum"), filepath.Join(src, "go.sum")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, src, "go", "mod", "tidy")
	s := &service{name: "shop", src: src, version: "1.0.1",
		fixed: func(h *hostProc) bool { return h.mustGet("/quote?item=apple&qty=10") == "10 x apple = 4.50 EUR\n" }}
	return buildService(t, f, s, func() {
		fix := readFile(filepath.Join(f.repo, "example", "_fix", "pricing", "pricing.go"))
		if err := os.WriteFile(filepath.Join(shop, "pricing", "pricing.go"), fix, 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

// buildNATSFix is a NATS server (testdata/natshost, a 40 MB host), and a
// one-line fix to its health check: the answer must not be cached.
func buildNATSFix(t testing.TB, f *fixture, root string) *service {
	t.Helper()
	src := filepath.Join(root, "natshost")
	if err := copyTree(filepath.Join("testdata", "natshost"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeModule(src, "example.com/natshost", f.repo); err != nil {
		t.Fatalf("go.mod: %v", err)
	}
	mustRun(t, src, "go", "get", "github.com/nats-io/nats-server/v2@v2.15.3")
	nats := carryModule(t, src, "github.com/nats-io/nats-server/v2", "nats-server")
	s := &service{name: "nats", src: src, version: "2.15.3-nostore", fixed: func(h *hostProc) bool {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + h.addr + "/healthz")
		if err != nil {
			h.t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Cache-Control") == "no-store"
	}}
	return buildService(t, f, s, func() {
		replaceOnce(t, filepath.Join(nats, "server", "monitor.go"), "\ths.StatusCode = 0\n\tb, err := json.Marshal(hs)",
			"\ths.StatusCode = 0\n\tw.Header().Set(\"Cache-Control\", \"no-store\")\n\tb, err := json.Marshal(hs)")
	})
}
