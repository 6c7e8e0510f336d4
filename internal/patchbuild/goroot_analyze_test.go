package patchbuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gohotfix/hotfix/policy"
)

// stdEdit is one change of a synthetic point release: in the file (under
// GOROOT/src), old becomes new.
type stdEdit struct{ file, old, new string }

// The realistic security-style fix the tests ship: a bound on the length of
// a header line in net/textproto, returning an error, as Go's own fixes of
// readMIMEHeader did (CVE-2023-24534 and others).
var textprotoBound = stdEdit{
	file: "net/textproto/reader.go",
	old:  "\t\tkv, err := r.readContinuedLineSlice(maxMemory, mustHaveFieldNameColon)\n\t\tif len(kv) == 0 {\n\t\t\treturn m, err\n\t\t}\n",
	new:  "\t\tkv, err := r.readContinuedLineSlice(maxMemory, mustHaveFieldNameColon)\n\t\tif len(kv) == 0 {\n\t\t\treturn m, err\n\t\t}\n\t\tif len(kv) > 1024 {\n\t\t\treturn m, ProtocolError(\"header line too long\")\n\t\t}\n",
}

// TestAnalyzeGoRoot compares the release's standard library with a
// synthetic point release: a hard-linked copy of the Go root the tests run
// with, one file rewritten (so its link is broken). A body change of a
// standard function is a target and nothing else is; the vendored
// golang.org/x/net keeps its import mapping; what the standard library
// cannot ship yet, and what the policy denies, is refused by rule. Each
// changed package's spliced files are compiled in a private copy of the
// root, as the patch build does.
func TestAnalyzeGoRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and type-checks the standard library with the go command")
	}
	pol, err := policy.Parse([]byte("patch_dir: p\nstate_dir: s\nallow:\n  packages: [example.com/stdapp/..., net/textproto, vendor/golang.org/x/net/http/httpguts, math]\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		edits    []stdEdit
		greet    bool // the application's fix too
		targets  []string
		refusals []string // rules, sorted
		detail   string   // in every refusal's detail
		reason   string
	}{
		{name: "bound", edits: []stdEdit{textprotoBound}, targets: []string{"net/textproto.readMIMEHeader"},
			reason: "a new bound in a standard function's body: that function, nothing else"},
		{name: "with-app", edits: []stdEdit{textprotoBound}, greet: true, targets: []string{"example.com/stdapp/greet.Hello", "net/textproto.readMIMEHeader"},
			reason: "one patch carries the standard library's fix and the application's"},
		{name: "vendored", edits: []stdEdit{{file: "vendor/golang.org/x/net/http/httpguts/httplex.go",
			old: "func ValidHeaderFieldValue(v string) bool {\n", new: "func ValidHeaderFieldValue(v string) bool {\n\tif len(v) > 1<<16 {\n\t\treturn false\n\t}\n"}},
			targets: []string{"vendor/golang.org/x/net/http/httpguts.ValidHeaderFieldValue"},
			reason:  "a vendored package is named vendor/golang.org/x/... by the linker; its file keeps importing golang.org/x/net/idna"},
		{name: "helper", edits: []stdEdit{textprotoBound, {file: "net/textproto/reader.go",
			old: "func (r *Reader) ReadLine() (string, error) {", new: "func lineTooLong(kv []byte) bool { return len(kv) > 1024 }\n\nfunc (r *Reader) ReadLine() (string, error) {"}},
			targets: []string{"net/textproto.readMIMEHeader"}, refusals: []string{"new package-level object"}, detail: "standard library",
			reason: "a new function would need the package rebuilt from the new release's files, not done for the standard library"},
		{name: "intrinsic", edits: []stdEdit{{file: "math/floor.go",
			old: "func Floor(x float64) float64 {\n", new: "func Floor(x float64) float64 {\n\tif x != x {\n\t\treturn x\n\t}\n"}},
			targets: []string{"math.Floor"}, refusals: []string{"not allowed by policy"}, detail: "compiler intrinsic",
			reason: "a built-in denial holds whatever the policy allows: calls to math.Floor never reach a patch"},
	}
	root := goEnv(t, "GOROOT")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fixRoot := pointRelease(t, root, tt.edits...)
			base, fix := stdApp(t, tt.greet)
			plan, err := analyze(context.Background(), analyzeInput{Base: base, Fix: fix, GoRoot: fixRoot, Flags: []string{"-tags=hotfix"}})
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			plan.check(nil, pol)
			var got []string
			for _, tg := range plan.Targets {
				got = append(got, tg.Name)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.targets, got); diff != "" {
				t.Errorf("targets (-want +got), %s:\n%s", tt.reason, diff)
			}
			if diff := cmp.Diff(tt.refusals, rules(plan.Refusals)); diff != "" {
				t.Errorf("refusals (-want +got), %s:\n%s", tt.reason, diff)
			}
			for _, r := range plan.Refusals {
				if !strings.Contains(r.Detail, tt.detail) {
					t.Errorf("refusal %s does not say %q", r, tt.detail)
				}
			}
			if len(plan.Notes) > 0 {
				t.Errorf("notes: %v", plan.Notes)
			}
			if plan.goroot != root {
				t.Errorf("plan.goroot = %q, want the release's root %s", plan.goroot, root)
			}
			if len(tt.refusals) == 0 {
				compileSpliced(t, plan, fix)
			}
		})
	}
}

// pointRelease makes a synthetic point release of the Go root root: a
// hard-linked copy with each edit made in a new file in place of the link.
func pointRelease(t *testing.T, root string, edits ...stdEdit) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "go")
	if err := linkTree(root, dir); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		f := filepath.Join(dir, "src", filepath.FromSlash(e.file))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(b), e.old) != 1 {
			t.Fatalf("%s: the text to change is not there once", e.file)
		}
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(strings.Replace(string(b), e.old, e.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// stdApp writes the release source and the working tree of a module whose
// program links net/http (and so net/textproto and the vendored httpguts),
// math and a package of its own; the working tree fixes greet.Hello when
// greet is set.
func stdApp(t *testing.T, greet bool) (base, fix string) {
	t.Helper()
	files := map[string]string{
		"go.mod": "module example.com/stdapp\n\ngo 1.26\n",
		"main.go": `package main

import (
	"fmt"
	"math"
	"net/http"

	"example.com/stdapp/greet"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, greet.Hello(r.URL.Query().Get("name")), math.Floor(1.5))
	})
	http.ListenAndServe("127.0.0.1:0", nil)
}
`,
		"greet/greet.go": "package greet\n\nfunc Hello(name string) string {\n\treturn \"hello \" + name\n}\n",
	}
	base, fix = filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "fix")
	for _, dir := range []string{base, fix} {
		for name, src := range files {
			if dir == fix && greet && name == "greet/greet.go" {
				src = strings.Replace(src, `"hello "`, `"hello, "`, 1)
			}
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return base, fix
}

// compileSpliced compiles each standard package the plan changes, from
// its spliced files given as an overlay in a private copy of the release's
// root, with -l as an allowed package is built: the files compile, their
// imports (vendored ones too) intact.
func compileSpliced(t *testing.T, plan *Plan, dir string) {
	t.Helper()
	b := &pluginBuild{plan: plan, tmp: t.TempDir(), files: plan.overlays}
	files, err := b.privateRoot(Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile, err := writeOverlay(b.tmp, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range plan.pkgs {
		if !stdPackage(pkg) {
			continue
		}
		args := []string{"build", "-trimpath", "-gcflags=" + pkg + "=-l", "-overlay", overlayFile, "-o", os.DevNull, pkg}
		if out, err := runAll(context.Background(), dir, shadowEnv(b.tmp), args...); err != nil {
			t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
