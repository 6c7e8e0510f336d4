package patchbuild

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// TestFingerprintFacts records what the linker fingerprint of a package
// covers when it is compiled with -l, as this toolchain builds it:
// plugin.Open compares go:link.pkghashbytes.<pkg> of every package the
// plugin shares with the host, and that is a hash of the package's export
// data (cmd/compile/internal/noder/unified.go: base.Ctxt.Fingerprint =
// l.pw.DumpTo(out)). The test compares the export data itself, which is
// what is hashed. It is why the builder keeps every declaration of a
// changed file at its line and column (package layout), keeps imports, and
// explains escape-analysis changes.
func TestFingerprintFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a package a dozen times")
	}
	const p = `package p

import "fmt"

var sink *int

// Hello greets.
func Hello(name string) string {
	return fmt.Sprintf("hello %s", name)
}

// Keep reads through a pointer.
func Keep(n *int) int {
	return *n + len(fmt.Sprint(*n))
}

// Later is declared after the others.
func Later() int { return 1 }
`
	const q = `package p

import "strings"

// Up is exported, in the file after p.go.
func Up(s string) string {
	return strings.ToUpper(s)
}
`
	longer := strings.Replace(p, "\treturn fmt.Sprintf(\"hello %s\", name)", "\tif name == \"\" {\n\t\tname = \"someone\"\n\t}\n\treturn fmt.Sprintf(\"hello %s\", name)", 1)
	tests := []struct {
		name   string
		p, q   string
		same   bool
		reason string
	}{
		{"body, same lines", strings.Replace(p, "hello %s", "hi %s", 1), q, true, "bodies of -l functions are not in the export data"},
		{"body one line longer", longer, q, false, "every later declaration of the file moved: positions are in the export data"},
		{"//line to restore the numbering", strings.Replace(longer, "// Keep reads", "//line p.go:12\n// Keep reads", 1), q, false, "a //line directive makes a new position base, also in the export data"},
		{"longer body fitted into the release's lines", fitted(t, p, longer, "Hello"), q, true, "what the builder does"},
		{"doc comment changed", strings.Replace(p, "// Hello greets.", "// Hello greets everyone.", 1), q, true, "comments are not in the export data"},
		{"one-line body longer on its line", strings.Replace(p, "{ return 1 }", "{ x := 2; return x - 1 }", 1), q, true, "where a body ends is not in the export data"},
		{"unexported function added before an exported one", p + "\nfunc helper() {}\n", q, false, "it renumbers the exported objects that follow it (here Up, in q.go): the builder refuses every new object"},
		{"unexported function added after every exported one", p, q + "\nfunc helper() {}\n", true, "nothing refers to it"},
		{"unexported helper with parameters added last", p, q + "\nfunc helper(r []byte, s *int) []byte { return r[:*s] }\n", true, "a helper that takes and returns memory"},
		{"unexported helper added last, called by a changed body", strings.Replace(p, `return fmt.Sprintf("hello %s", name)`, `return fmt.Sprintf("hello %s", helper(name))`, 1), q + "\nfunc helper(s string) string { return s + \"!\" }\n", false, "a body that calls a new function indexes it in the export data, though the body is not there"},
		{"unexported constant added at the end, used by a changed body", strings.Replace(p, `return fmt.Sprintf("hello %s", name)`, `return fmt.Sprintf("hello %s", name[:min(len(name), maxName)])`, 1), q + "\nconst maxName = 64\n", true, "constants are folded into the code that uses them: how the builder adds one (added.go)"},
		{"unexported helper added last, importing what another file does", p, strings.Replace(q, `import "strings"`, `import ("strings"; "fmt")`, 1) + "\nfunc helper(n int) string { return fmt.Sprint(n) }\n", true, "imports of a file are not in the export data, only the package's"},
		{"import made blank", p, strings.Replace(strings.Replace(q, `import "strings"`, `import _ "strings"`, 1), "strings.ToUpper(s)", "s", 1), true, "the package still imports it: how a removed import is kept"},
		{"import added where the package has it", strings.Replace(strings.Replace(p, `import "fmt"`, `import "fmt"; import "strings"`, 1), `fmt.Sprintf("hello %s", name)`, `fmt.Sprintf("hello %s", strings.ToLower(name))`, 1), q, true, "imports of a file are not in the export data, only the package's"},
		{"exported parameter now escapes", strings.Replace(p, "\treturn *n + len", "\tsink = n; return *n + len", 1), q, false, "escape analysis of parameters is in the export data (noder/linker.go, relocFuncExt)"},
	}
	dir := t.TempDir()
	build := func(p, q string) []byte {
		t.Helper()
		return packageExport(t, dir, map[string]string{"p.go": p, "q.go": q})
	}
	base := build(p, q)
	for _, tt := range tests {
		got := build(tt.p, tt.q)
		if same := bytes.Equal(base, got); same != tt.same {
			t.Errorf("%s: same export data = %v, want %v: %s", tt.name, same, tt.same, tt.reason)
		}
	}

	// In a package that declares a named type, the export data holds the
	// index of the type's descriptor among the object file's symbols
	// (noder/linker.go, relocTypeExt), and functions are numbered before
	// data (obj.NumberSyms): one more function moves it, and, up to Go
	// 1.26, a closure too (funcLits refuses adding one for such releases).
	pt := p + "\n// T is a named type.\ntype T int\n"
	baseT := build(pt, q)
	for _, tt := range []struct {
		name   string
		p      string
		same   bool
		reason string
	}{
		{"body, same lines, with a named type", strings.Replace(pt, "hello %s", "hi %s", 1), true, "no new symbol"},
		{"unexported constant added at the end, with a named type", strings.Replace(pt, `return fmt.Sprintf("hello %s", name)`, `return fmt.Sprintf("hello %s", name[:min(len(name), maxName)])`, 1) + "\nconst maxName = 64\n", true, "no new symbol either"},
		{"a closure added, with a named type", strings.Replace(pt, `return fmt.Sprintf("hello %s", name)`, `f := func(s string) string { return s }; return fmt.Sprintf("hello %s", f(name))`, 1),
			!closuresNumbered(runtime.Version()), "up to Go 1.26 the closure is a new function of the package: T's descriptor index moves; from 1.27 it is a local symbol"},
	} {
		if same := bytes.Equal(baseT, build(tt.p, q)); same != tt.same {
			t.Errorf("%s: same export data = %v, want %v: %s", tt.name, same, tt.same, tt.reason)
		}
	}
}

// fitted returns fix with the body of function fn fitted into base's
// lines, the way the builder splices a changed body into the release's file.
func fitted(t *testing.T, base, fix, fn string) string {
	t.Helper()
	body := func(src string) (int, int) {
		i := strings.Index(src, "func "+fn+"(")
		lb := i + strings.IndexByte(src[i:], '{') + 1
		rb := lb + strings.Index(src[lb:], "\n}") + 1
		return lb, rb
	}
	blb, brb := body(base)
	flb, frb := body(fix)
	text, how, err := layout.Fit(base[blb:brb], fix[flb:frb])
	if err != nil || !strings.Contains(how, "collapsed") {
		t.Fatalf("fit: %q, %v", how, err)
	}
	return base[:blb] + text + base[brb:]
}

// exportData returns the export data in a compiled package archive: what
// follows "$$B\n" in its __.PKGDEF member.
// packageExport compiles files as package example.com/fp/p in dir, with
// -l as hotfix flags would, and returns its export data.
func packageExport(t *testing.T, dir string, files map[string]string) []byte {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fp\n\ngo 1.26.0\n"), 0o644)
	os.RemoveAll(filepath.Join(dir, "p"))
	os.MkdirAll(filepath.Join(dir, "p"), 0o755)
	for name, src := range files {
		os.WriteFile(filepath.Join(dir, "p", name), []byte(src), 0o644)
	}
	cmd := exec.Command("go", "list", "-export", "-trimpath", "-gcflags=example.com/fp/p=-l", "-f", "{{.Export}}", "./p")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, out)
	}
	return exportData(t, strings.TrimSpace(string(out)))
}

func exportData(t *testing.T, archive string) []byte {
	t.Helper()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(b, []byte(magic)) || len(b) < len(magic)+60 {
		t.Fatalf("%s: not an archive", archive)
	}
	hdr := b[len(magic) : len(magic)+60]
	if name := strings.TrimSpace(string(hdr[:16])); name != "__.PKGDEF" {
		t.Fatalf("%s: first member %q", archive, name)
	}
	size, err := strconv.Atoi(strings.TrimSpace(string(hdr[48:58])))
	if err != nil {
		t.Fatal(err)
	}
	data := b[len(magic)+60 : len(magic)+60+size]
	i := bytes.Index(data, []byte("\n$$B\n"))
	if i < 0 {
		t.Fatalf("%s: no export data", archive)
	}
	return data[i:]
}
