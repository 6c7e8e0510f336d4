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
// patcher can redirect, among those that no other function inlined; and
// the functions it inlined are counted as not patchable, since a build
// without -l inlines thousands (issue 26).
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
	first := strings.SplitN(out, "\n", 4)
	var ok, n, inlined, refused int
	var pct float64
	if _, err := fmt.Sscanf(first[0][strings.Index(first[0], ": ")+2:], "%d of %d functions outside the Go runtime can be patched (%f%%)", &ok, &n, &pct); err != nil {
		t.Fatalf("parse %q: %v", first[0], err)
	}
	if _, err := fmt.Sscanf(first[1], "not patchable: %d inlined into other functions", &inlined); err != nil {
		t.Fatalf("parse %q: %v", first[1], err)
	}
	if i := strings.Index(first[1], "), "); i < 0 {
		t.Fatalf("parse %q: no count of refused entries", first[1])
	} else if _, err := fmt.Sscanf(first[1][i+3:], "%d with an entry", &refused); err != nil {
		t.Fatalf("parse %q: %v", first[1], err)
	}
	if ok+inlined+refused != n {
		t.Errorf("%d patchable + %d inlined + %d refused != %d functions", ok, inlined, refused, n)
	}
	entries := 100 * float64(ok) / float64(ok+refused)
	if n < 5000 || entries < 99.5 || inlined < 1000 {
		t.Errorf("%d of %d functions, %d inlined elsewhere: %.2f%% of the others redirectable, want at least 99.5%% of thousands, and thousands inlined (no -l)", ok, n, inlined, entries)
	}
	var refusedLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "cannot be patched") {
			refusedLines = append(refusedLines, l)
		}
	}
	t.Logf("%s\n%s\n%s\n%.2f%% of the functions not inlined elsewhere are redirectable\n%s", first[0], first[1], first[2], entries, strings.Join(refusedLines, "\n"))
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
