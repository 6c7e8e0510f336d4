package tests

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSlimLeavesRejectedAssemblyHollow: package sum has assembly that
// -dynlink rejects (testdata/build/asmbase), as some real dependencies do.
// A plugin that imports it used to be refused whatever the fix; a slim
// patch leaves sum to the release, so a fix to report, which imports sum,
// ships and goes live under load. report.Line calls the assembly function
// sum.Mix directly, with the ABI0 convention, and as a value, through its
// ABIInternal wrapper: the patch binds each to the release's own (a slim
// patch once bound the direct call to the wrapper, and Mix read its
// argument from the wrong place). The assembler's objects made without
// -dynlink for sum never reach a link that reads them: the same fix
// linked whole is refused naming the rule, a fix to sum itself (which the
// plugin must carry), or one whose nosplit function calls a function of
// sum that does not check its stack, is refused naming sum, and a plain plugin build that
// imports sum still fails: the go command's cache keeps those objects apart.
func TestSlimLeavesRejectedAssemblyHollow(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the assembly is amd64's")
	}
	f := requireFixture(t)
	src, host := buildRepo(t, f, "asmbase")
	reportGo := filepath.Join(src, "report", "report.go")
	replaceOnce(t, reportGo, `"v1 %s=%d fn=%d"`, `"v2 %s=%d fn=%d"`)
	patch := filepath.Join(t.TempDir(), "report.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "report2", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	if !strings.Contains(out, "slim link: ") {
		t.Fatalf("not linked against the release:\n%s", out)
	}

	whole, err := run(src, f.hotfix, "build", "-slim=false", "-binary", host, "-o", filepath.Join(t.TempDir(), "whole.so"))
	if err == nil || !strings.Contains(whole, "assembly not buildable into a plugin") || !strings.Contains(whole, "when dynamic linking") {
		t.Errorf("the fix linked whole: %v, want the assembly refused:\n%s", err, whole)
	}
	plain, err := run(src, "go", "build", "-buildmode=plugin", "-trimpath", "-tags=hotfix", "-o", filepath.Join(t.TempDir(), "plain.so"), ".")
	if err == nil || !strings.Contains(plain, "when dynamic linking") {
		t.Errorf("a plain plugin build importing sum, after the slim build: %v, want the assembler's refusal:\n%s", err, plain)
	}

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir)
	const path = "/report?x=5"
	if got := h.mustGet(path); got != "v1 mix=15 fn=15" {
		t.Fatalf("release answers %q", got)
	}
	load := startFieldLoad(h, path, [][2]string{{"v1", "v2"}, {"mix=15", "mix=15"}, {"fn=15", "fn=15"}})
	drop(t, dir, patch, "report.so")
	waitAnswer(t, h, path, "v2 mix=15 fn=15")
	remove(t, dir, "report.so")
	waitAnswer(t, h, path, "v1 mix=15 fn=15")
	drop(t, dir, patch, "report.so")
	waitAnswer(t, h, path, "v2 mix=15 fn=15")
	t.Logf("%d calls over HTTP through apply, revert and re-apply, 0 wrong", load.finish(t))
	h.stop()

	// A nosplit function of the fix calls sum.Label, whose release copy
	// is a leaf the compiler made nosplit: the link cannot take it to
	// check its own stack, so the plugin must carry sum, and its
	// assembly refuses that.
	replaceOnce(t, reportGo, "// Line reports", "//go:noinline\n//go:nosplit\nfunc tag() string { return sum.Label() }\n\n// Line reports")
	replaceOnce(t, reportGo, "sum.Label(), sum.Mix(x)", "tag(), sum.Mix(x)")
	nosplit, err := run(src, f.hotfix, "build", "-binary", host, "-o", filepath.Join(t.TempDir(), "nosplit.so"))
	if err == nil || !strings.Contains(nosplit, "example.com/hostapp/sum: the plugin must link its assembly") {
		t.Errorf("a nosplit caller of a release leaf in sum: %v, want sum carried, and refused for its assembly:\n%s", err, nosplit)
	}

	sumGo := filepath.Join(src, "sum", "sum.go")
	replaceOnce(t, sumGo, `return "mix"`, `return "sum"`)
	sumPatch := filepath.Join(t.TempDir(), "sum.so")
	carried, err := run(src, f.hotfix, "build", "-binary", host, "-o", sumPatch)
	if err == nil || !strings.Contains(carried, "example.com/hostapp/sum: the plugin must link its assembly") || !strings.Contains(carried, "when dynamic linking") {
		t.Errorf("a fix to sum: %v, want the refusal to name sum's assembly:\n%s", err, carried)
	}
	if _, err := os.Stat(sumPatch); err == nil {
		t.Errorf("a refused build wrote %s", sumPatch)
	}
}
