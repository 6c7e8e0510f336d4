package patchbuild

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestAdoptImporterFacts records why the importers of a rebuilt package
// are adopted too (unchangedImporters): a package q whose source is the
// release's, compiled against a rebuilt p whose declarations moved, has
// another fingerprint than the release's q (its export data holds where
// p's objects are declared), and plugin.Open refuses the plugin for q
// until q's fingerprint is adopted as well. A patch links such a q when
// it reaches an internal package through it (importerFor): lego's
// GO-2025-3847 fix, whose acme/api/internal/sender gained a type above
// the ones acme/api names.
func TestAdoptImporterFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host and a plugin")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("plugins need cgo")
	}
	dir := t.TempDir()
	const release = "package p\n\ntype T struct{ A int }\n\nfunc F() string { return \"old\" }\n"
	const fixed = "package p\n\n// httpsOnly is new, above T.\ntype httpsOnly struct{ on bool }\n\ntype T struct{ A int }\n\nfunc F() string { return helper(httpsOnly{true}) }\n\nfunc helper(h httpsOnly) string {\n\tif h.on {\n\t\treturn \"NEW\"\n\t}\n\treturn \"\"\n}\n"
	const q = "package q\n\nimport \"ex/p\"\n\nfunc Q() p.T { return p.T{A: 1} }\n"
	writeFiles(t, dir, map[string]string{
		"host/go.mod": "module ex\n\ngo 1.24\n", "host/p/p.go": release, "host/q/q.go": q,
		"host/main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"plugin\"\n\n\t\"ex/q\"\n)\n\nfunc main() {\n\tfmt.Println(q.Q().A)\n\tpl, err := plugin.Open(os.Args[1])\n\tif err != nil {\n\t\tfmt.Println(\"open:\", err)\n\t\tos.Exit(1)\n\t}\n\tf, _ := pl.Lookup(\"F\")\n\tfmt.Println((*f.(*func() string))())\n}\n",
		"fix/go.mod":   "module ex\n\ngo 1.24\n", "fix/p/p.go": fixed, "fix/q/q.go": q,
		"fix/plug/main.go": "package main\n\nimport (\n\t_ \"unsafe\"\n\n\t_ \"ex/q\"\n)\n\n//go:linkname pf ex/p.F\nfunc pf() string\n\nvar F = pf\n",
	})
	flags := []string{"build", "-trimpath", "-gcflags=ex/p=-l"}
	host, so := filepath.Join(dir, "hostbin"), filepath.Join(dir, "fix.so")
	for _, b := range [][]string{{"host", "-o", host, "."}, {"fix", "-buildmode=plugin", "-ldflags=-checklinkname=0", "-o", so, "./plug"}} {
		cmd := exec.Command("go", append(flags, b[1:]...)...)
		cmd.Dir = filepath.Join(dir, b[0])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	if err := adoptFingerprints(so, bin, []string{"ex/p"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(host, so).CombinedOutput(); !strings.Contains(string(out), "different version of package ex/q") {
		t.Fatalf("p adopted alone: %s, want plugin.Open to refuse ex/q", out)
	}
	if err := adoptFingerprints(so, bin, []string{"ex/p", "ex/q"}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(host, so).CombinedOutput(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "NEW") {
		t.Fatalf("p and q adopted: %v\n%s", err, out)
	}
}

// TestUnchangedImporters: the packages whose fingerprint is adopted with
// a rebuilt one's.
func TestUnchangedImporters(t *testing.T) {
	p := &Plan{
		imports: map[string][]string{
			"main": {"a", "q"}, "a": {"p"}, "q": {"p", "fmt"}, "r": {"q"}, "s": {"p"}, "p": {"fmt"}, "other": {"fmt"},
		},
		pkgs: []string{"s"}, // compiled from the fix's files: s has targets, or had
	}
	got := p.unchangedImporters([]string{"p"})
	want := []string{"a", "main", "q", "r"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("unchangedImporters(p) = %v, want %v: every importer, through others, but not s, which the patch compiles from the fix's files", got, want)
	}
}
