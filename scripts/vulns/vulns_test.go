package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	plan := `release 0123456789ab (HEAD), working tree /tmp/x
plan: replace 1 function(s)
  third_party/m/a.go:10  m/a.F  changed
refused: 3 change(s) cannot be hot-patched:
  third_party/m/a.go:20: m/a.helper: new function: not in the release binary: detail: more
  third_party/m/a.go:30: m/a.(*T).M: signature changed: func(int) -> func(int, bool)
  third_party/m/b.go:5: m/a.errX: new function
hotfix build: refused: 3 change(s) cannot be hot-patched (listed above with file:line, object and rule)
`
	for _, tc := range []struct {
		name  string
		exit  int
		out   string
		wrote bool
		want  verdict
	}{
		{"shipped", 0, "wrote fix.so", true, verdict{outcome: shippable}},
		{"shipped with holders", 0, "plan: replace 2 function(s)\n  a.go:3  m/a.G  holds an inlined copy of a.F (at m/a/a.go:4): compiled with the new one\n  a.go:3  m/a.G.func1  closure of a.G, which holds an inlined copy of a.F: replaced with it\nwrote fix.so", true, verdict{outcome: shippable, holders: 2}},
		{"no file", 0, "wrote fix.so", false, verdict{outcome: failed, reason: "exit 0 but no patch file"}},
		{"not seen", 1, "plan: no function to replace\nhotfix build: refused: nothing to patch: no function of example.com/vulnhost differs from the release\n", false,
			verdict{outcome: notSeen, reason: "refused: nothing to patch: no function of example.com/vulnhost differs from the release"}},
		{"refused", 1, plan, false, verdict{outcome: refused, refusals: 3, rules: []string{"new function", "signature changed"}, lines: []string{
			"third_party/m/a.go:20: m/a.helper: new function: not in the release binary: detail: more",
			"third_party/m/a.go:30: m/a.(*T).M: signature changed: func(int) -> func(int, bool)",
			"third_party/m/b.go:5: m/a.errX: new function"}}},
		{"other", 1, "building the release\nhotfix build: build base: exit status 1\n", false, verdict{outcome: failed, reason: "build base: exit status 1"}},
		{"removed but used", 1, "hotfix build: refused: a.go:65:25: m/p.Old: package-level object removed, but m/cmd, which the patch compiles from the release's own source, uses it: keep Old in the fix\n", false,
			verdict{outcome: notSetUp, reason: "fix spans more than the listed packages: refused: a.go:65:25: m/p.Old: package-level object removed, but m/cmd, which the patch compiles from the release's own source, uses it: keep Old in the fix"}},
		{"multi-line", 1, "comparing\nhotfix build: working tree: err: exit status 1: stderr: go: updates to go.mod needed; to update it:\n\tgo mod tidy\n", false,
			verdict{outcome: notSetUp, reason: "fix spans more than the listed packages: working tree: err: exit status 1: stderr: go: updates to go.mod needed; to update it: go mod tidy"}},
		{"fix spans packages", 1, "hotfix build: working tree: does not compile:\n-: # example.com/m/config\nconfig/a.go:1:1: undefined: x\n", false,
			verdict{outcome: notSetUp, reason: "fix spans more than the listed packages: working tree: does not compile: -: # example.com/m/config config/a.go:1:1: undefined: x"}},
		{"go.sum", 1, "plan: replace 1 function(s)\nhotfix build: refused: escape analysis of m/p could not be compared, and the package is rebuilt, so nothing else would: go build -gcflags=m/p=-m: exit status 1\nx.go:6:8: missing go.sum entry for module providing package j (imported by k); to add:\n", false,
			verdict{outcome: notSetUp, reason: "fix spans more than the listed packages: refused: escape analysis of m/p could not be compared, and the package is rebuilt, so nothing else would: go build -gcflags=m/p=-m: exit status 1 x.go:6:8: missing go.sum entry for module providing package j (imported by k); to add:"}},
		{"escape", 1, "plan: replace 1 function(s)\nhotfix build: refused: escape analysis changed:\n  p: p.F: parameter o: escape analysis changed (release: o does not escape; fix: leaking param: o): the release's callers were compiled for the release's\n", false,
			verdict{outcome: refused, refusals: 1, rules: []string{"escape analysis changed"}, lines: []string{
				"p: p.F: parameter o: escape analysis changed (release: o does not escape; fix: leaking param: o): the release's callers were compiled for the release's"}}},
		{"self-check", 1, "hotfix build: self-check against /tmp/h/host: loader: incompatible with this binary: package p in the patch differs from this binary's (export data changed: a changed signature)\n", false,
			verdict{outcome: refused, refusals: 1, rules: []string{"export data changed (self-check)"}, lines: []string{
				"self-check against /tmp/h/host: loader: incompatible with this binary: package p in the patch differs from this binary's (export data changed: a changed signature)"}}},
		{"dynlink", 1, "hotfix build: refused: assembly not buildable into a plugin: a package the patch links has assembly\n", false,
			verdict{outcome: refused, refusals: 1, rules: []string{"assembly not buildable into a plugin"}}},
		{"usage", 2, "usage: hotfix build ...\n", false, verdict{outcome: failed, reason: "usage error: usage: hotfix build ..."}},
	} {
		got := classify(tc.exit, tc.out, tc.wrote)
		if got.outcome != tc.want.outcome || got.reason != tc.want.reason || got.refusals != tc.want.refusals || !slices.Equal(got.rules, tc.want.rules) || got.holders != tc.want.holders ||
			(tc.want.lines != nil && !slices.Equal(got.lines, tc.want.lines)) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	src := `package p

type T struct{ E }
type E struct{}
type G[X any] struct{}
type I interface{ Do() }

func F()                {}
func Gen[X any](x X)    {}
func (t *T) Ptr()       {}
func (t T) Val()        {}
func (e E) Promoted()   {}
func (g *G[X]) M()      {}

var V = func() {}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := readDecls(dir)
	if err != nil {
		t.Fatal(err)
	}
	for sym, want := range map[string][]string{
		"F":          {"p0.F"},
		"V":          {"p0.V"},
		"Gen":        nil,
		"Missing":    nil,
		"T.Ptr":      {"(*p0.T).Ptr"},
		"(*T).Ptr":   {"(*p0.T).Ptr"},
		"T.Val":      {"p0.T.Val", "(*p0.T).Val"},
		"T.Promoted": {"(*p0.T).Promoted", "p0.T.Promoted"},
		"I.Do":       {"p0.I.Do"},
		"G.M":        nil,
		"U.M":        nil,
	} {
		got, why := resolve(d, "p0", sym)
		if !slices.Equal(got, want) || (got == nil) != (why != "") {
			t.Errorf("%s: got %q (%s), want %q", sym, got, why, want)
		}
	}
}

func TestImportersAndImportable(t *testing.T) {
	if importable("example.com/m/internal/x") || importable("example.com/m/a/internal") || !importable("example.com/m/internals") {
		t.Error("importable: wrong")
	}
	dir := t.TempDir()
	files := map[string]string{
		"internal/x/x.go": "package x\n",
		"internal/y/y.go": "package y\nimport _ \"example.com/m/internal/x\"\n",
		"a/a.go":          "package a\nimport _ \"example.com/m/internal/y\"\n",
		"b/b.go":          "package b\nimport _ \"example.com/m/internal/x\"\n",
		"cmd/c/main.go":   "package main\nimport _ \"example.com/m/internal/x\"\n",
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := importers(dir, "example.com/m", "example.com/m/internal/x")
	if want := []string{"example.com/m/b", "example.com/m/a"}; !slices.Equal(got, want) {
		t.Errorf("importers: got %q, want %q", got, want)
	}
}

func TestPickIsStable(t *testing.T) {
	var rs []report
	for _, id := range []string{"A", "B", "C", "D", "E", "F"} {
		rs = append(rs, report{ID: id, Module: "m"})
	}
	a, b := pick(rs, 3, 7), pick(rs, 3, 7)
	if len(a) != 3 || !slices.EqualFunc(a, b, func(x, y report) bool { return x.ID == y.ID }) {
		t.Errorf("pick: %v and %v", a, b)
	}
	if !slices.IsSortedFunc(a, func(x, y report) int { return cmp.Compare(x.ID, y.ID) }) {
		t.Errorf("pick: not in the extract's order: %v", a)
	}
}

func TestSumDBMissing(t *testing.T) {
	out := "go: example.com/vulnhost imports\n\tgithub.com/docker/docker/builder/dockerfile imports\n\tgithub.com/moby/buildkit/frontend/dockerfile/parser: github.com/moby/buildkit@v0.12.5-0.20231208203051-3b6880d2a00f: verifying module: github.com/moby/buildkit@v0.12.5-0.20231208203051-3b6880d2a00f: reading <url>: 404 Not Found\n"
	m := sumDBMissing.FindStringSubmatch(out)
	if m == nil || m[1] != "github.com/moby/buildkit@v0.12.5-0.20231208203051-3b6880d2a00f" {
		t.Errorf("got %q", m)
	}
}

func TestSameCode(t *testing.T) {
	const a = "package p\n\n// F does x.\nfunc F() int {\n\treturn 1 // one\n}\n"
	for _, tt := range []struct {
		b    string
		same bool
	}{
		{a, true},
		{"package p\n\n// F does y, with a typo fixed.\nfunc F() int {\n\treturn 1\n}\n", true},
		{"package p\n/* block */ func F() int {\n\treturn /* one */ 1\n}\n", true},
		{"package p\n\nfunc F() int { return 1 }\n", false}, // a line break moved: counted as a change
		{"package p\n\nfunc F() int {\n\treturn 2\n}\n", false},
		{"package p\n\nfunc F() int {\n\treturn \"1\"\n}\n", false},
		{"package p\n\nfunc F() (int) {\n\treturn 1\n}\n", false},
	} {
		if got := sameCode([]byte(a), []byte(tt.b)); got != tt.same {
			t.Errorf("sameCode(a, %q) = %v, want %v", tt.b, got, tt.same)
		}
	}
}

func TestShardsCoverOnce(t *testing.T) {
	var reports []report
	for i := range 10 {
		reports = append(reports, report{ID: fmt.Sprint("GO-", i)})
	}
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		for _, r := range shard(reports, k, 3) {
			seen[r.ID]++
		}
	}
	for _, r := range reports {
		if seen[r.ID] != 1 {
			t.Errorf("%s is in %d shards, want 1", r.ID, seen[r.ID])
		}
	}
	for _, bad := range []string{"0/3", "4/3", "1/0", "x", "1/"} {
		if _, _, err := parseShard(bad); err == nil {
			t.Errorf("parseShard(%q) accepted", bad)
		}
	}
}

func TestMergeCountsEachReportOnce(t *testing.T) {
	dir := t.TempDir()
	write := func(name, mode string, rs ...*result) string {
		p := filepath.Join(dir, name)
		if err := writeResults(p, rs, summarize(rs), time.Minute, options{extract: "x", inlining: mode}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", "keep", &result{ID: "GO-1", Module: "m", Outcome: "refused"}, &result{ID: "GO-2", Module: "m", Outcome: "shipped"})
	b := write("b.json", "", &result{ID: "GO-1", Module: "m", Outcome: "shipped"}, &result{ID: "GO-3", Module: "m", Outcome: "shipped"})
	rs, elapsed, mode, err := merge([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].Outcome != "shipped" || elapsed != 2*time.Minute || mode != "keep" {
		t.Errorf("merge = %d results (first %+v), %v, %q; want 3, GO-1 as the last file has it, 2m, keep", len(rs), rs[0], elapsed, mode)
	}
	// A run under -l hosts and one under full optimization are not one run.
	c := write("c.json", "off", &result{ID: "GO-4", Module: "m", Outcome: "shipped"})
	if _, _, _, err := merge([]string{a, c}); err == nil || !strings.Contains(err.Error(), "not one run") {
		t.Errorf("merging keep and off: %v, want an error", err)
	}
}

func TestWidenAllowsWhatRefusalsAsk(t *testing.T) {
	k := &kase{runner: &runner{inlining: "keep"}, dir: t.TempDir(), res: &result{}, allowed: []string{"m/a"}}
	out := "refused:\n  x  m/b.H  not allowed by policy: ...; the fix does not change it, but it holds a copy of a.F that the release's compiler inlined at m/b/b.go:3, and must be replaced with it: allow it (allow.packages: [m/b])\n" +
		"  x  m/a.G  not allowed by policy: ... allow it (allow.packages: [m/a])\n"
	added, err := k.widen(out)
	if err != nil || !added {
		t.Fatalf("widen = %v, %v; want true", added, err)
	}
	if !slices.Equal(k.allowed, []string{"m/a", "m/b"}) || !slices.Equal(k.res.Widened, []string{"m/b"}) {
		t.Errorf("allowed %v, widened %v; want [m/a m/b], [m/b]", k.allowed, k.res.Widened)
	}
	pol, err := os.ReadFile(filepath.Join(k.dir, "hotfix.yaml"))
	if err != nil || !strings.Contains(string(pol), "inlining: keep\n") || !strings.Contains(string(pol), "- \"m/b\"") {
		t.Errorf("policy written: %v\n%s", err, pol)
	}
	if added, _ := k.widen(out); added {
		t.Error("the same refusals widened the policy twice")
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"a longer line", 8, "a longer…"},
		{"type → int", 6, "type …"}, // the arrow's 3 bytes are 5..7: not split
	} {
		if got := cut(tc.s, tc.n); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestSlimCounts(t *testing.T) {
	why := "the release lacks symbols of more packages after 4 links carrying a, b"
	out := "analysis ...\nslim link not possible, the plugin carries every package: " + why + "\nwrote fix.so\n"
	if got := notSlimReason(out); got != why {
		t.Errorf("notSlimReason = %q, want %q", got, why)
	}
	if got := notSlimReason("slim link: 12 packages left to the release\n"); got != "" {
		t.Errorf("a slim build has a reason: %q", got)
	}
	s := summarize([]*result{
		{ID: "GO-1", Outcome: shippable, Slim: true},
		{ID: "GO-2", Outcome: shippable, NotSlim: why},
		{ID: "GO-3", Outcome: refused},
	})
	if s.Slim != 1 || s.NotSlim[why] != 1 || len(s.NotSlim) != 1 {
		t.Errorf("summary: slim %d, not slim %v; want 1 and {%q: 1}", s.Slim, s.NotSlim, why)
	}
}

func TestParseDownload(t *testing.T) {
	for _, c := range []struct{ name, out, dir, msg string }{
		{"served", `{"Path":"m","Dir":"/c/m@v1"}`, "/c/m@v1", ""},
		{"toolchain fetched first", "go: downloading go1.27.3 (linux/amd64)\n{\"Path\":\"m\",\"Dir\":\"/c/m@v1\"}", "/c/m@v1", ""},
		{"refused", "go: downloading go1.27.3 (linux/amd64)\n{\"Path\":\"m\",\"Error\":\"reading <url>: 403 Forbidden\\nmore\"}", "", "reading <url>: 403 Forbidden"},
		{"no json", "go: downloading go1.27.3 (linux/amd64)\ngo: m@v1: invalid version", "", "go: m@v1: invalid version"},
		{"no dir", `{"Path":"m"}`, "", "no directory in the module cache"},
	} {
		dir, msg := parseDownload(c.out)
		if dir != c.dir || msg != c.msg {
			t.Errorf("%s: parseDownload = %q, %q; want %q, %q", c.name, dir, msg, c.dir, c.msg)
		}
	}
}
