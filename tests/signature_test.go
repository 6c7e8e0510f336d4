package tests

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuildShipsExportedSignature: an exported function's signature
// changes (tally.Score takes a variadic bonus) and its only caller,
// board.Line, is in another package the policy allows, unchanged. The
// patch replaces Line, compiled against the new signature, carries the
// new Score for it, and leaves the release's Score in place, never
// redirected. The release, built with full optimization, holds Line only
// inlined, into main's /board handler, a closure its init made: the
// handler is replaced instead. tally is rebuilt and adopted, and so is
// board, whose export data carries Line's body, which calls the new
// Score (under inlining: off, board keeps its fingerprint as built:
// TestCallerFingerprintFacts). Live over HTTP under load, reverted and
// re-applied.
func TestBuildShipsExportedSignature(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepo(t, f, "sigbase")
	if err := copyTree(filepath.Join("testdata", "build", "sig"), src); err != nil {
		t.Fatal(err)
	}
	refusesLeakyCallee(t, f, src, host)
	replacesOutsideEscapeCallers(t, f, src, host)
	patch := filepath.Join(t.TempDir(), "sig.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "sig1", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	outputHas(t, "plan", out,
		"example.com/hostapp/board.Line: inlined everywhere in the release: nothing to redirect; the functions holding its copies are replaced or ran only at start-up: main.init.0.func1",
		"main.init.0.func1 holds an inlined copy of board.Line",
		"tally.Score: signature changed: every caller is replaced",
		"its callers in other packages (board.Line) are replaced",
	)
	insp, err := run(src, f.hotfix, "inspect", patch)
	if err != nil {
		t.Fatalf("hotfix inspect: %v\n%s", err, insp)
	}
	var targets, adopted []string
	for _, l := range strings.Split(insp, "\n") {
		switch fs := strings.Fields(l); {
		case len(fs) > 1 && fs[0] == "target":
			targets = append(targets, fs[1])
		case len(fs) > 1 && fs[0] == "adopted":
			adopted = append(adopted, fs[1])
		}
	}
	if strings.Join(targets, " ") != "main.init.0.func1" {
		t.Errorf("targets %v, want the /board handler alone, which holds Line: the release's Score is left for old code", targets)
	}
	if strings.Join(adopted, " ") != "example.com/hostapp/board example.com/hostapp/tally" {
		t.Errorf("adopted %v, want board (Line's inlinable body calls the new Score) and tally", adopted)
	}

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir, "GOGC=10")
	const path = "/board?name=abc"
	want := func(answer string) { t.Helper(); h.waitAnswer(path, answer) }
	want("abc=3")
	load := startFieldLoad(h, path, [][2]string{{"abc=3", "abc=30"}})
	drop(t, dir, patch, "sig.so")
	h.waitRecord("patch applied", 1)
	want("abc=30")
	remove(t, dir, "sig.so")
	h.waitRecord("patch reverted", 1)
	want("abc=3")
	drop(t, dir, patch, "sig.so")
	h.waitRecord("patch applied", 2)
	want("abc=30")
	time.Sleep(200 * time.Millisecond) // keep the callers going on the new code
	calls := load.finish(t)
	t.Logf("%d calls over HTTP with GOGC=10 through apply, revert and re-apply, 0 wrong", calls)
	h.stop()
}

// replacesOutsideEscapeCallers: a Count that keeps its argument is
// exported, and its caller board.Width, in another package the fix does
// not change, hands it a string made on its own stack: Width is replaced
// too, compiled in the patch for the new escape analysis. Built, not
// applied.
func replacesOutsideEscapeCallers(t *testing.T, f *fixture, src, host string) {
	t.Helper()
	out, err := buildEdited(t, f, src, host, filepath.Join(src, "tally", "tally.go"),
		"func Count(name string) int {\n", "func Count(name string) int {\n\tcounted = name\n", "\nvar counted string\n")
	if err != nil {
		t.Fatalf("hotfix build, Count's parameter leaking: %v\n%s", err, out)
	}
	outputHas(t, "build output", out, "also replaced: board/board.go:21 example.com/hostapp/board.Width calls tally.Count, whose parameter escapes now: compiled for it")
}

// refusesLeakyCallee: a Score that keeps its argument makes Line's
// parameter escape, which the release's callers of Line were not compiled
// for. Line is exported and main imports board, so the build refuses
// before the plugin is built, as for any replaced function.
func refusesLeakyCallee(t *testing.T, f *fixture, src, host string) {
	t.Helper()
	out, err := buildEdited(t, f, src, host, filepath.Join(src, "tally", "tally.go"),
		"\tn := 10 * len(name)\n", "\tlast = name\n\tn := 10 * len(name)\n", "\nvar last string\n")
	if err == nil || !strings.Contains(out, "board.Line: parameter name: escape analysis changed (release: name does not escape, mutate, or call; fix: leaking param: name)") {
		t.Fatalf("a callee that makes its unchanged caller's parameter escape: %v\n%s", err, out)
	}
}
