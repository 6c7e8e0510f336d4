package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoverageGoHTTPBin: every function of a real service's own packages
// (go-httpbin v2.25.0, built with `hotfix flags`) can be patched, leaves
// included, as `hotfix verify -binary` reports before any incident.
func TestCoverageGoHTTPBin(t *testing.T) {
	f := requireFixture(t)
	src := httpbinSource(t, f, t.TempDir())
	flags, err := runFlags(src, f.hotfix)
	if err != nil {
		t.Fatalf("hotfix flags: %v", err)
	}
	host := filepath.Join(src, "httpbinhost")
	if out, err := run(src, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", host, ".")...); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := run(src, f.hotfix, "verify", "-binary", host)
	if err != nil {
		t.Fatalf("hotfix verify -binary: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.Contains(first, "(100.00%)") || strings.Contains(out, "cannot be patched") {
		t.Errorf("want every function of go-httpbin patchable:\n%s", out)
	}
	if !strings.Contains(out, "github.com/mccutchen/go-httpbin/v2/httpbin/digest") {
		t.Errorf("no digest package in the report (its leaf digestAlgorithm.String was refused before):\n%s", out)
	}
}

// TestCoverageGoCommand: at least 99.5% of the functions outside the Go
// runtime of a large real program, the go command of the toolchain in use
// (its own build, not made with `hotfix flags`), have an entry the
// patcher can redirect.
func TestCoverageGoCommand(t *testing.T) {
	f := requireFixture(t)
	goroot, err := run(".", "go", "env", "GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(".", f.hotfix, "verify", "-binary", filepath.Join(strings.TrimSpace(goroot), "bin", "go"), "-all")
	if err != nil {
		t.Fatalf("hotfix verify -all: %v\n%s", err, out)
	}
	first := strings.SplitN(out, "\n", 3)
	var ok, n int
	var pct float64
	if _, err := fmt.Sscanf(first[0][strings.Index(first[0], ": ")+2:], "%d of %d functions outside the Go runtime can be patched (%f%%)", &ok, &n, &pct); err != nil {
		t.Fatalf("parse %q: %v", first[0], err)
	}
	if n < 5000 || pct < 99.5 {
		t.Errorf("%d of %d functions (%.2f%%), want at least 99.5%% of thousands", ok, n, pct)
	}
	var refused []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "cannot be patched") {
			refused = append(refused, l)
		}
	}
	t.Logf("%s\n%s\n%s", first[0], first[1], strings.Join(refused, "\n"))
}

// httpbinSource writes the go-httpbin host (testdata/httpbinhost) in a
// new directory under root as a module requiring go-httpbin v2.25.0 from
// the module proxy, and returns its directory.
func httpbinSource(t testing.TB, f *fixture, root string) string {
	t.Helper()
	src := filepath.Join(root, "httpbinhost")
	if err := copyTree(filepath.Join("testdata", "httpbinhost"), src); err != nil {
		t.Fatal(err)
	}
	if err := writeModule(src, "example.com/httpbinhost", f.repo); err != nil {
		t.Fatalf("go.mod: %v", err)
	}
	if out, err := run(src, "go", "get", "github.com/mccutchen/go-httpbin/v2@v2.25.0"); err != nil {
		t.Fatalf("go get go-httpbin: %v\n%s", err, out)
	}
	return src
}
