package patchbuild

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscapesNoMore(t *testing.T) {
	tests := []struct {
		release, fix string
		ok           bool
		why          string
	}{
		{"o does not escape", "o does not escape", true, "unchanged"},
		{"leaking param: o", "o does not escape", true, "less: callers gave it the heap for nothing"},
		{"leaking param content: o", "o does not escape", true, "less"},
		{"leaking param: o", "leaking param content: o", true, "the release's callers assumed the worst"},
		{"leaking param: o", "leaking param: o to result ~r0 level=0", true, "the release's callers assumed the worst"},
		{"o does not escape", "leaking param: o", false, "callers may have put *o on their stack"},
		{"o does not escape", "leaking param content: o", false, "what o points to may be on their stack"},
		{"leaking param content: o", "leaking param: o", false, "more"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o", false, "to the heap, not only to the result"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o to result ~r1 level=0", false, "another leak"},
		{"", "leaking param: o", false, "no diagnostic before: unknown"},
		{"", "o does not escape", true, "does not escape is always safe"},
		{"o does not escape, mutate, or call", "mutates param: o derefs=0", false, "a caller may have passed []byte(s) sharing s's bytes"},
		{"mutates param: o derefs=0", "mutates param: o derefs=0", true, "unchanged"},
		{"mutates param: o derefs=1", "mutates param: o derefs=0", false, "written through at a shallower depth"},
		{"mutates param: o derefs=0", "mutates param: o derefs=1", true, "deeper: less"},
		{"leaking param: o", "calls param: o derefs=0; mutates param: o derefs=0", true, "the heap covers writes and calls"},
		{"leaking param content: o", "mutates param: o derefs=0", false, "the heap at one dereference does not cover a write at none"},
		{"leaking param: o to result ~r0 level=0; mutates param: o derefs=0", "leaking param: o to result ~r0 level=0", true, "one flow of two"},
		{"leaking param: o to result ~r0 level=0", "leaking param: o to result ~r0 level=0; mutates param: o derefs=0", false, "a write added"},
		{"calls param: o derefs=0", "o does not escape, mutate, or call", true, "less"},
		{"o does not escape, mutate, or call", "moved to heap: o", false, "its address escapes, so the argument does"},
		{"leaking param: o", "moved to heap: o", true, "the heap already"},
	}
	for _, tt := range tests {
		if got := escapesNoMore(tt.release, tt.fix); got != tt.ok {
			t.Errorf("escapesNoMore(%q, %q) = %v, want %v: %s", tt.release, tt.fix, got, tt.ok, tt.why)
		}
	}
}

// TestParamDiagnostics: several diagnostics of one parameter are all kept,
// in one order, whatever order the compiler printed them in.
func TestParamDiagnostics(t *testing.T) {
	out := strings.Join([]string{
		"# example.com/p",
		"./p.go:3:10: mutates param: b derefs=0",
		"./p.go:3:10: leaking param: b to result ~r0 level=0",
		"./p.go:3:20: c does not escape, mutate, or call",
		"./p.go:4:9: func literal does not escape",
		"./p.go:5:2: moved to heap: x",
		"./p.go:8:9: moved to heap: t",
		"./p.go:6:7: leaking param content: s",
	}, "\n")
	got := paramDiagnostics(out)
	want := map[string]string{
		"p.go:3:10 b": "leaking param: b to result ~r0 level=0; mutates param: b derefs=0",
		"p.go:3:20 c": "c does not escape, mutate, or call",
		"p.go:6:7 s":  "leaking param content: s",
		"p.go:5:2 x":  "moved to heap: x", // a local: byParam leaves it out
		"p.go:8:9 t":  "moved to heap: t",
	}
	if !maps.Equal(got, want) {
		t.Errorf("paramDiagnostics = %q, want %q", got, want)
	}
}

// TestZeroCopyNeedsMutationTags records why escapeDiagnostics asks the
// compiler whether a parameter is written through: a caller in another
// package passes []byte(s) to a parameter its callee does not write
// through as s's own bytes, read-only memory for a constant, so a fix
// that writes through it must be refused as one that lets it escape.
func TestZeroCopyNeedsMutationTags(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/zc\n\ngo 1.26.0\n",
		"p/p.go": "package p\n\nfunc Read(b []byte) int { return len(b) + int(b[0]) }\n\nfunc Write(b []byte) int { b[0] = 1; return len(b) }\n",
		"q/q.go": "package q\n\nimport \"example.com/zc/p\"\n\nfunc Read(s string) int { return p.Read([]byte(s)) }\n\nfunc Write(s string) int { return p.Write([]byte(s)) }\n",
	}
	for name, src := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-gcflags=example.com/zc/...=-m -l -d=escapemutationscalls=1", "./q")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	diags := paramDiagnostics(string(out))
	if got := diags["p/p.go:3:11 b"]; got != "b does not escape, mutate, or call" {
		t.Errorf("Read's b: %q", got)
	}
	if got := diags["p/p.go:5:12 b"]; got != "mutates param: b derefs=0" {
		t.Errorf("Write's b: %q", got)
	}
	if !strings.Contains(string(out), "q/q.go:5:48: zero-copy string->[]byte conversion") {
		t.Errorf("no zero-copy conversion for p.Read's argument:\n%s", out)
	}
	if strings.Contains(string(out), "q/q.go:7:50: zero-copy") {
		t.Errorf("a zero-copy conversion for p.Write's argument:\n%s", out)
	}
}
