package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBuildReplacesInlineHolders: a host built with the compiler's full
// optimization (policy inlining: keep, so `hotfix flags` prints no -l)
// takes a fix to meter.Rate, a function small enough that the release
// holds it only inlined: into meter.Cost (its own package), shelf.Price
// (another package the fix does not change) and main's meterPage, and
// into the closure of meter.NewHandler, which main's init made once,
// itself inlined there (Go 1.26 names it main.init.N.NewHandler.func1,
// Go 1.27 meter.NewHandler.func1). The patch replaces the holders, each compiled with the new Rate
// inlined and named in the plan with the inline site; meter, whose export
// data now carries the new inlinable body, takes the release's
// fingerprint. A policy that does not allow shelf is refused naming
// shelf.Price, the site and the policy line. Live over HTTP under load
// with GOGC=10, reverted and re-applied.
func TestBuildReplacesInlineHolders(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepoWith(t, f, "inlpolicy.yaml", "inlbase")
	flags, err := runFlags(src, f.hotfix)
	if err != nil || strings.Contains(flags, "-gcflags") {
		t.Fatalf("hotfix flags under inlining: keep = %q (%v), want no -gcflags", flags, err)
	}
	if err := copyTree(filepath.Join("testdata", "build", "inl"), src); err != nil {
		t.Fatal(err)
	}
	refusesHolderOutsidePolicy(t, f, src, host)
	replacesHoldersOfEscapeCallers(t, f, src, host)
	patch := filepath.Join(t.TempDir(), "inl.so")
	out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "inl1", "-o", patch)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	t.Logf("plan:\n%s", out)
	outputHas(t, "plan", out,
		"example.com/hostapp/shelf.Price holds an inlined copy of meter.Rate (at example.com/hostapp/shelf/shelf.go:20)",
		"example.com/hostapp/meter.Cost holds an inlined copy of meter.Rate (at example.com/hostapp/meter/meter.go:26)",
		"main.meterPage holds an inlined copy of meter.Rate",
	)
	insp, err := run(src, f.hotfix, "inspect", patch)
	if err != nil {
		t.Fatalf("hotfix inspect: %v\n%s", err, insp)
	}
	if !strings.Contains(insp, "adopted") || !strings.Contains(insp, "example.com/hostapp/meter") {
		t.Errorf("inspect: want meter adopted:\n%s", insp)
	}

	dir := newWorkDir(t, filepath.Join("build", "inlpolicy.yaml"))
	h := startHost(t, host, dir, "GOGC=10")
	const path = "/meter?n=1"
	const before, after = "rate=2 cost=3,4 price=20,22,24", "rate=3 cost=4,5 price=30,33,36"
	want := func(answer string) { t.Helper(); h.waitAnswer(path, answer) }
	want(before)
	if got := h.mustGet("/meterh"); got != "handler=10" {
		t.Errorf("GET /meterh = %q, want handler=10", got)
	}
	var fields [][2]string
	for i, b := range strings.Fields(before) {
		fields = append(fields, [2]string{b, strings.Fields(after)[i]})
	}
	load := startFieldLoad(h, path, fields)
	drop(t, dir, patch, "inl.so")
	h.waitRecord("patch applied", 1)
	want(after)
	remove(t, dir, "inl.so")
	h.waitRecord("patch reverted", 1)
	want(before)
	drop(t, dir, patch, "inl.so")
	h.waitRecord("patch applied", 2)
	want(after)
	if got := h.mustGet("/meterh"); got != "handler=15" {
		t.Errorf("GET /meterh = %q after the patch, want handler=15: the handler made at start-up holds Rate inlined", got)
	}
	time.Sleep(200 * time.Millisecond)
	calls := load.finish(t)
	t.Logf("%d calls over HTTP with GOGC=10 through apply, revert and re-apply, 0 wrong", calls)
	h.stop()
}

// refusesHolderOutsidePolicy: with shelf not allowed, its Price, which
// holds an inlined copy of meter.Rate, cannot be replaced: the plan
// refuses, naming Price, the inline site and the policy line to add.
func refusesHolderOutsidePolicy(t *testing.T, f *fixture, src, host string) {
	t.Helper()
	pol := readFile(filepath.Join(src, "hotfix.yaml"))
	narrow := strings.Replace(string(pol), "example.com/hostapp/shelf, ", "", 1)
	if err := os.WriteFile(filepath.Join(src, "narrow.yaml"), []byte(narrow), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host, "-policy", "narrow.yaml")
	const want = "holds a copy of meter.Rate that the release's compiler inlined at example.com/hostapp/shelf/shelf.go:20, and must be replaced with it: allow it (allow.packages: [example.com/hostapp/shelf])"
	if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Fatalf("a holder outside the policy: %v, want a refusal with %q\n%s", err, want, out)
	}
}

// replacesHoldersOfEscapeCallers: a fix in which keep's parameter leaks
// replaces keep's callers, compiled for it: tally, which the release holds
// only inlined into Stock, with its local x on Stock's stack; so Stock,
// though its own parameters escape as before. Built, not applied.
func replacesHoldersOfEscapeCallers(t *testing.T, f *fixture, src, host string) {
	t.Helper()
	out, err := buildEdited(t, f, src, host, filepath.Join(src, "meter", "meter.go"),
		"func keep(p *int) int {\n", "func keep(p *int) int {\n\tlast = p\n", "\nvar last *int\n")
	if err != nil {
		t.Fatalf("hotfix build, keep's parameter leaking: %v\n%s", err, out)
	}
	outputHas(t, "build output", out,
		"also replaced: meter/meter.go:57 example.com/hostapp/meter.Stock calls meter.tally, which escapes more now, or holds its inlined calls: compiled for it",
	)
	if strings.Contains(out, "also replaced: meter/meter.go:49") {
		t.Errorf("tally, inlined everywhere, is replaced itself:\n%s", out)
	}
}

// TestKeepFlagsCompileTheSameCode: the inlining tax of inlining: keep is
// 1.00× by construction, not only within the noise of `make bench`: the
// example shop's packages (main, catalog on its hot path, pricing), compiled
// with the flags `hotfix flags` prints under keep and with none, are the
// same instructions, function by function (-S, the positions left out:
// -trimpath changes the file names).
func TestKeepFlagsCompileTheSameCode(t *testing.T) {
	f := requireFixture(t)
	shop := filepath.Join(f.repo, "example", "shop")
	flags, err := runFlags(shop, f.hotfix, "-policy", "hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(flags, "-gcflags") {
		t.Fatalf("hotfix flags = %q: the shop's policy keeps inlining, no -gcflags expected", flags)
	}
	asm := func(extra ...string) map[string]string {
		args := append(append([]string{"build"}, extra...), "-gcflags=example.com/shop/...=-S", "-o", os.DevNull, "./...")
		out, err := run(shop, "go", args...)
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 20))
		}
		return asmFuncs(out)
	}
	plain, hosted := asm(), asm(strings.Fields(flags)...)
	if len(plain) < 50 {
		t.Fatalf("only %d functions in the -S output", len(plain))
	}
	for fn, code := range plain {
		if hosted[fn] != code {
			t.Errorf("%s compiles to other code under %s", fn, flags)
		}
	}
	if len(hosted) != len(plain) {
		t.Errorf("%d functions with the flags, %d without", len(hosted), len(plain))
	}
	t.Logf("%d functions of the shop compile to the same code with %q as with no flags", len(plain), flags)
}

// asmPos is a source position in the compiler's -S output.
var asmPos = regexp.MustCompile(`\([^()]*:\d+\)`)

// asmFuncs splits the compiler's -S output into each function's text by
// symbol, positions left out. Data symbols are skipped: they are not code,
// and the names of anonymous struct types hold spaces, so that their order
// in the output, which varies from run to run, would decide which one a
// shortened name stood for (seen in CI).
func asmFuncs(out string) map[string]string {
	funcs := map[string]string{}
	var name string
	var b strings.Builder
	flush := func() {
		if name != "" {
			funcs[name] += b.String()
		}
		b.Reset()
	}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "#") || line == "":
			continue
		case !strings.HasPrefix(line, "\t"):
			flush()
			name, _, _ = strings.Cut(line, " STEXT ")
			if name == line {
				name = ""
			}
		}
		b.WriteString(asmPos.ReplaceAllString(line, "") + "\n")
	}
	flush()
	return funcs
}
