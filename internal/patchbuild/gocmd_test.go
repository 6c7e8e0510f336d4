package patchbuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCompileOutputLinksNothing pins the go command's behaviour that
// compileOutput relies on: go list -export compiles a main package
// without linking it, and prints the compiler's diagnostics exactly as
// go build does, also when the compile comes from the build cache.
func TestCompileOutputLinksNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":  "module example.com/m\n\ngo 1.24\n",
		"main.go": "package main\n\nfunc twice(n int) int { return 2 * n }\n\nfunc main() { println(twice(3)) }\n",
	})
	env := []string{"GOCACHE=" + filepath.Join(t.TempDir(), "cache")}
	flags := []string{"-trimpath", "-gcflags=example.com/m=-m"}
	pkgs := []string{"example.com/m"}
	before := dirNames(t, dir)
	var outs []string
	for range 2 { // cold, then from the cache
		out, err := compileOutput(ctx, dir, env, flags, pkgs)
		if err != nil {
			t.Fatalf("compileOutput: %v\n%s", err, out)
		}
		outs = append(outs, out)
	}
	if !strings.Contains(outs[0], "can inline twice") || !strings.Contains(outs[0], "inlining call to twice") {
		t.Fatalf("no -m diagnostics:\n%s", outs[0])
	}
	if outs[1] != outs[0] {
		t.Errorf("a cached compile printed otherwise:\n%s\nfirst:\n%s", outs[1], outs[0])
	}
	if after := dirNames(t, dir); !slices.Equal(after, before) {
		t.Errorf("the module directory changed: %v, was %v", after, before)
	}
	built, err := runAll(ctx, dir, env, append(append([]string{"build"}, flags...), "-o", os.DevNull, pkgs[0])...)
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, built)
	}
	if built != outs[0] {
		t.Errorf("go build printed otherwise:\n%s\ngo list -export:\n%s", built, outs[0])
	}

	// A flag only the linker would reject: go build runs the linker
	// even for -o /dev/null, go list -export does not.
	noLink := append(slices.Clone(flags), "-ldflags=-no-such-linker-flag")
	if out, err := runAll(ctx, dir, env, append(append([]string{"build"}, noLink...), "-o", os.DevNull, pkgs[0])...); err == nil {
		t.Errorf("go build did not run the linker:\n%s", out)
	}
	if out, err := compileOutput(ctx, dir, env, noLink, pkgs); err != nil {
		t.Errorf("compileOutput ran the linker: %v\n%s", err, out)
	}

	writeFiles(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { undefinedName() }\n"})
	out, err := compileOutput(ctx, dir, env, flags, pkgs)
	if err == nil || !strings.Contains(out, "undefined: undefinedName") {
		t.Errorf("a compile error: err %v, output:\n%s", err, out)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// runAll runs the go command and returns what it printed on both outputs.
// The tests' helper: hotfix build compiles with compileOutput.
func runAll(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goBinary(env), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
