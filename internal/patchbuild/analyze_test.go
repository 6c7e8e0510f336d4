package patchbuild

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/gohotfix/hotfix/policy"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/cases")

// TestAnalyze runs every base/fix pair of testdata/cases (see
// testdata/README.md) through the comparison and checks the exact target
// set, the exact refusals by rule, and the printed plan against its golden
// file.
func TestAnalyze(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and type-checks two trees per case with the go command")
	}
	tests := []struct {
		name     string
		targets  []string
		refusals []string // rules, sorted
		notes    []string // rules, sorted
		reason   string
		goVer    string // the release's toolchain; "" for the one in use
	}{
		// Accepted.
		{name: "body", targets: []string{"example.com/app/greet.Hello"}, reason: "a body change, same lines"},
		{name: "body-longer", targets: []string{"example.com/app/greet.Hello"}, reason: "a longer body before other declarations is collapsed"},
		{name: "body-shorter", targets: []string{"example.com/app/greet.Hello"}, reason: "a shorter body is padded"},
		{name: "one-line", targets: []string{"example.com/app/greet.Last"}, reason: "a one-line body stays on its line"},
		{name: "private", targets: []string{"example.com/app/greet.polite"}, reason: "unexported functions are replaced like exported ones"},
		{name: "methods", targets: []string{"example.com/app/shop.(*Cart).Add", "example.com/app/shop.Cart.Total"}, reason: "pointer and value receivers, spelled as the linker does"},
		{name: "closure-body", targets: []string{"example.com/app/greet.Wrap", "example.com/app/greet.Wrap.func1"}, reason: "a closure with the same captures is replaced with its function"},
		{name: "closure-count", targets: []string{"example.com/app/greet.Wrap"}, notes: []string{"closures not replaced"}, reason: "renumbered closures: only the function"},
		{name: "closure-captures", targets: []string{"example.com/app/greet.Wrap"}, notes: []string{"closures not replaced"}, reason: "another context layout: only the function"},
		{name: "deep", targets: []string{"example.com/app/internal/deep/a/b/c.Depth"}, reason: "a package five directories down"},
		{name: "main-func", targets: []string{"main.label"}, reason: "functions of main are patchable"},
		{name: "params-renamed", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"parameters renamed"}, reason: "a renamed parameter is not a new signature"},
		{name: "main-helper", targets: []string{"main.label"}, refusals: []string{"package-level variable added"}, notes: []string{"constant added", "constant added", "import added", "new package-level object"}, reason: "main's copy carries a new helper, constants and an import; a new variable is refused"},
		{name: "main-closure", targets: []string{"main.main", "main.main.func1", "main.main.func2"}, reason: "closures of main.main (handlers registered at start-up)"},
		{name: "format-only", reason: "comments and formatting are not changes"},
		{name: "import-moved", targets: []string{"example.com/app/greet.Hello"}, reason: "an import the package already has, added to one more file"},
		{name: "import-dropped", targets: []string{"example.com/app/greet.Hello"}, reason: "a dropped import is kept blank"},
		{name: "gomod-comment", targets: []string{"example.com/app/greet.Hello"}, reason: "a comment in go.mod changes no build"},
		{name: "dep-replaced", targets: []string{"example.com/dep/parse.Field"}, reason: "a dependency carried as a local copy is compared like the module"},
		{name: "dep-vendor", targets: []string{"example.com/dep/parse.Field"}, reason: "a vendored dependency is compared like the module"},
		{name: "dep-added", targets: []string{"example.com/app/greet.Header"}, notes: []string{"import added", "requirement changed", "requirement changed"}, reason: "a new module's package imported by a changed function: its requirement is added for the patch's build (TestAddRequirements)"},
		{name: "dep-bump", targets: []string{"example.com/dep/parse.Field"}, notes: []string{"requirement changed", "requirement changed"}, reason: "a bumped dependency: go.mod noted, its changed package compared"},
		{name: "new-helper", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"new package-level object"}, reason: "a new unexported helper, called by a changed body: the package is rebuilt, on Go 1.26 too", goVer: "go1.26.8"},
		{name: "const-foreign-type", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"constant added"}, reason: "a new constant of time.Duration cannot be written into the release's file: the package is rebuilt"},
		{name: "const-added", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"constant added"}, reason: "a new unexported constant is declared at the end of the package"},
		{name: "not-in-release", notes: []string{"not in the release"}, reason: "packages the binary does not link are ignored"},
		// Refused.
		{name: "signature", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"signature changed"}, reason: "an unexported function whose every caller is replaced"},
		{name: "signature-exported", refusals: []string{"signature changed", "signature changed"}, reason: "an exported signature: callers elsewhere; and so polite, which only it calls, cannot change either"},
		{name: "signature-exported-caller", targets: []string{"example.com/app/internal/deep/a/b/c.Depth"}, notes: []string{"signature changed", "signature changed"}, reason: "an exported signature whose only caller, in another allowed package, is replaced with it"},
		{name: "signature-exported-caller-changed", targets: []string{"example.com/app/internal/deep/a/b/c.Depth"}, notes: []string{"signature changed", "signature changed"}, reason: "the caller in another package changes with the signature: a target of its own"},
		{name: "signature-exported-main", targets: []string{"main.main"}, notes: []string{"signature changed", "signature changed"}, reason: "the only caller is in main, unchanged: the patch copies main from the release's files"},
		{name: "signature-exported-method", targets: []string{"main.main"}, notes: []string{"signature changed", "signature changed"}, reason: "a method's caller in main is replaced like a function's"},
		{name: "signature-exported-method-iface", refusals: []string{"signature changed"}, reason: "an interface elsewhere in the program has the method's name: values converted to it keep the old method"},
		{name: "signature-exported-value", refusals: []string{"signature changed"}, reason: "the caller in another package takes it as a value: the release's function value keeps the old one"},
		{name: "struct-layout", targets: []string{"example.com/app/shop.(*Cart).Add", "example.com/app/shop.Cart.Total"}, refusals: []string{"type changed"}, reason: "struct layout: a field retyped"},
		{name: "field-added", targets: []string{"example.com/app/shop.(*Cart).Add"}, notes: []string{"field added", "field added", "new package-level object"}, reason: "new fields: shadow state beside each object; a constructor sets one, with a default for older objects"},
		{name: "field-removed", targets: []string{"example.com/app/shop.(*Cart).Add", "example.com/app/shop.Cart.Total"}, notes: []string{"field added", "field removed"}, reason: "a field removed stays in the patch's struct; the one added is shadow state"},
		{name: "field-inferred", targets: []string{"example.com/app/shop.(*Cart).Add"}, notes: []string{"constant added", "field added", "field added", "field added", "field added", "field added", "field added", "field added", "field added", "function literals added or removed", "import added", "import added", "new package-level object"}, reason: "every literal sets the fields alike, with the package's own names and its imports' (a function literal that captures nothing among them): those are the defaults", goVer: "go1.26.8"},
		{name: "field-tagged", targets: []string{"example.com/app/shop.(*Cart).Add"}, refusals: []string{"field added"}, reason: "a tagged field: reflection reads the release's type"},
		{name: "field-no-default", targets: []string{"example.com/app/shop.(*Cart).Add"}, refusals: []string{"field added", "field added", "field added"}, notes: []string{"field added", "field added", "field added", "function literals added or removed", "new package-level object"}, reason: "a constructor sets the fields from its parameter (a function literal capturing it too, one naming a new field), older objects would read zero: the fix must say what they read", goVer: "go1.26.8"},
		{name: "field-value-literal", targets: []string{"example.com/app/shop.(*Cart).Add"}, refusals: []string{"field added"}, notes: []string{"field added"}, reason: "a value literal sets the field: its copy would not carry it"},
		{name: "interface", refusals: []string{"type changed"}, reason: "interface method set"},
		{name: "any-spelling", targets: []string{"example.com/app/shop.Wrap"}, notes: []string{"types respelled", "types respelled"}, reason: "interface{} written as any changes no type; the export data spells it, so the package is rebuilt"},
		{name: "method-added", notes: []string{"method added"}, reason: "a method no interface of the program has: carried, called directly"},
		{name: "method-added-stringer", refusals: []string{"method added"}, reason: "fmt.Stringer would not see it"},
		{name: "var-added", notes: []string{"package-level variable added"}, reason: "new variable"},
		{name: "var-removed", targets: []string{"example.com/app/greet.Hello", "example.com/app/greet.Last"}, notes: []string{"package-level variable removed"}, reason: "removed variable: the release's code keeps its own"},
		{name: "var-retyped", targets: []string{"example.com/app/greet.Last"}, refusals: []string{"package-level variable changed"}, reason: "variable type"},
		{name: "blank-var-pure", targets: []string{"example.com/app/greet.Hello"}, reason: "blank variables that do nothing when they run: ignored"},
		{name: "blank-var-effect", refusals: []string{"package-level variable added"}, reason: "a blank variable that calls a function when the program starts"},
		{name: "var-init", refusals: []string{"package-level variable changed"}, reason: "variable initializer"},
		{name: "const", targets: []string{"example.com/app/greet.Hello"}, refusals: []string{"constant changed"}, reason: "an exported constant's value that main names: main was compiled with it"},
		{name: "const-exported", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"constant changed"}, reason: "an exported constant no other package names: its users are replaced"},
		{name: "init-added", refusals: []string{"init changed"}, reason: "new init"},
		{name: "init-changed", refusals: []string{"init changed"}, reason: "changed init"},
		{name: "generic", notes: []string{"generic body changed"}, reason: "a generic function: a copy in the patch's main package, per shape of the release binary"},
		{name: "generic-unexported", refusals: []string{"generic function changed"}, reason: "a generic body using an unexported field cannot be compiled outside its package"},
		{name: "new-func", notes: []string{"new package-level object"}, reason: "new exported function"},
		{name: "removed-func", notes: []string{"package-level object removed"}, reason: "removed function: the release's code keeps its own"},
		{name: "import-added", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"import added"}, reason: "new import of the package"},
		{name: "dep-not-allowed", targets: []string{"example.com/dep/other.Name"}, refusals: []string{"not allowed by policy"}, reason: "a dependency package outside allow.packages"},
		{name: "closure-added-typed", targets: []string{"example.com/app/shop.Cart.Total"}, notes: []string{"function literals added or removed"}, reason: "a closure more in a package with types, for a release of Go 1.26: rebuilt", goVer: "go1.26.8"},
		{name: "closure-added-typed-127", targets: []string{"example.com/app/shop.Cart.Total"}, reason: "the same for Go 1.27, whose closures are local symbols", goVer: "go1.27.3"},
		{name: "new-helper-127", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"new package-level object"}, reason: "Go 1.27: the same", goVer: "go1.27.3"},
		{name: "helper-chain-127", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"new package-level object", "new package-level object"}, reason: "a helper calling a helper", goVer: "go1.27.3"},
		{name: "helper-recursive-127", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"new package-level object"}, reason: "a recursive helper", goVer: "go1.27.3"},
		{name: "helper-value-127", targets: []string{"example.com/app/greet.Hello"}, notes: []string{"new package-level object"}, reason: "a helper used as a value", goVer: "go1.27.3"},
		{name: "policy", targets: []string{"example.com/app/shop.Price"}, refusals: []string{"not allowed by policy"}, reason: "deny.functions"},
		{name: "directive", refusals: []string{"compiler directive changed"}, reason: "//go:noinline added"},
		{name: "gomod", targets: []string{"example.com/app/greet.Hello"}, refusals: []string{"module changed"}, reason: "a godebug setting changes how every package runs"},
		{name: "embed", refusals: []string{"embedded file changed"}, reason: "embedded data"},
		{name: "asm", refusals: []string{"cgo or assembly changed"}, reason: "assembly"},
		{name: "cgo", refusals: []string{"cgo or assembly changed"}, reason: "cgo"},
		{name: "main-var", refusals: []string{"package-level variable changed"}, reason: "main's variables are the program's too"},
		{
			name:     "many",
			targets:  []string{"example.com/app/greet.Hello", "example.com/app/greet.polite", "example.com/app/shop.Cart.Total", "main.label", "main.main", "main.main.func1", "main.main.func2"},
			refusals: []string{"constant changed", "field added"},
			reason:   "every refusal at once, with the targets",
		},
	}
	pol, err := policy.Load(filepath.Join("testdata", "hotfix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	baseArc, err := txtar.ParseFile(filepath.Join("testdata", "base.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			base, fix := filepath.Join(dir, "base"), filepath.Join(dir, "fix")
			writeCase(t, baseArc, filepath.Join("testdata", "cases", tt.name+".txtar"), base, fix)
			plan, err := analyze(context.Background(), analyzeInput{Base: base, Fix: fix, GoVersion: tt.goVer})
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
			if diff := cmp.Diff(tt.notes, rules(plan.Notes)); diff != "" {
				t.Errorf("notes (-want +got), %s:\n%s", tt.reason, diff)
			}
			err = plan.Err()
			switch {
			case len(tt.refusals) > 0 || len(tt.targets) == 0:
				if !errors.Is(err, ErrRefused) {
					t.Errorf("Err() = %v, want ErrRefused", err)
				}
			case err != nil:
				t.Errorf("Err() = %v", err)
			}
			for _, r := range plan.Refusals {
				if !strings.Contains(r.Pos, ":") && filepath.Ext(r.Pos) == "" {
					t.Errorf("refusal without file:line: %s", r)
				}
			}
			var out bytes.Buffer
			if err := plan.Write(&out); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "cases", tt.name+".plan"), out.Bytes())
			checkOverlays(t, base, plan)
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "cases", "*.txtar"))
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".txtar"); !seen[name] {
			t.Errorf("testdata/cases/%s.txtar is in no test", name)
		}
	}
}

func rules(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return out
}

// writeCase writes the base tree (base.txtar, then the case's base/ files)
// and the fix (a copy of the base, then the case's fix/ files).
func writeCase(t *testing.T, baseArc *txtar.Archive, caseFile, base, fix string) {
	t.Helper()
	arc, err := txtar.ParseFile(caseFile)
	if err != nil {
		t.Fatal(err)
	}
	write := func(root, name string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if string(data) == "DELETE\n" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range baseArc.Files {
		write(base, f.Name, f.Data)
		write(fix, f.Name, f.Data)
	}
	for _, f := range arc.Files {
		if name, ok := strings.CutPrefix(f.Name, "base/"); ok {
			write(base, name, f.Data)
			write(fix, name, f.Data)
		}
	}
	for _, f := range arc.Files {
		if name, ok := strings.CutPrefix(f.Name, "fix/"); ok {
			write(fix, name, f.Data)
		} else if !strings.HasPrefix(f.Name, "base/") {
			t.Fatalf("%s: file %s is neither base/ nor fix/", caseFile, f.Name)
		}
	}
}

// checkOverlays checks that what the patch compiles compiles: the
// release with its patched files, and the generated plugin main package
// (with the copy of package main when main changed), built here as a
// program to save the plugin link.
func checkOverlays(t *testing.T, base string, p *Plan) {
	t.Helper()
	if len(p.Targets) == 0 || len(p.Refusals) > 0 {
		return
	}
	m := &meta{id: "test", modPath: "example.com/app"}
	files, pattern, _, targets, err := p.sources(m, base, "example.com/app")
	if err != nil {
		t.Fatalf("sources: %v", err)
	}
	if len(targets) != len(p.Targets) {
		t.Errorf("%d manifest targets for %d planned", len(targets), len(p.Targets))
	}
	for _, tg := range targets {
		if strings.HasPrefix(tg.Name, "main.") != (tg.PluginSymbol != "") {
			t.Errorf("target %s: plugin symbol %q", tg.Name, tg.PluginSymbol)
		}
	}
	for path, src := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-ldflags=-checklinkname=0", "-o", filepath.Join(t.TempDir(), "x"), pattern)
	cmd.Dir = base
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("patch sources do not build: %v\n%s", err, out)
		for path, src := range files {
			t.Logf("%s:\n%s", path, src)
		}
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", file, diff)
	}
}

// TestAddRequirements: the patch's build gets the release's go.mod with
// the requirement (and replace line) of the new module the fix imports,
// and the fix's go.sum lines.
func TestAddRequirements(t *testing.T) {
	baseArc, err := txtar.ParseFile(filepath.Join("testdata", "base.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base, fix := filepath.Join(dir, "base"), filepath.Join(dir, "fix")
	writeCase(t, baseArc, filepath.Join("testdata", "cases", "dep-added.txtar"), base, fix)
	plan, err := analyze(context.Background(), analyzeInput{Base: base, Fix: fix})
	if err != nil {
		t.Fatal(err)
	}
	gomod := string(plan.overlays[filepath.Join(base, "go.mod")])
	for _, want := range []string{"example.com/dep v1.0.0", "example.com/dep2 v1.0.0", "example.com/dep2 => " + filepath.Join(fix, "third_party", "dep2"), "example.com/dep => ./third_party/dep"} {
		if !strings.Contains(gomod, want) {
			t.Errorf("the patch's go.mod lacks %q:\n%s", want, gomod)
		}
	}
	if _, ok := plan.overlays[filepath.Join(base, "go.sum")]; !ok {
		t.Errorf("no go.sum overlay")
	}
	if !mergeSumsSorted(t) {
		t.Errorf("mergeSums")
	}
}

func mergeSumsSorted(t *testing.T) bool {
	got := string(mergeSums([]byte("b h1:x\na h1:y\n"), []byte("a h1:y\nc h1:z")))
	if got != "a h1:y\nb h1:x\nc h1:z\n" {
		t.Logf("mergeSums = %q", got)
		return false
	}
	return true
}
