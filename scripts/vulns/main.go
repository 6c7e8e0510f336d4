// Command vulns measures the share of real security fixes that `hotfix
// build` can ship live: for each report of the Go vulnerability database
// in the extract, a host links the vulnerable packages (a local copy of
// the module at the vulnerable version is the release), the packages'
// Go files from the fixed version are the working tree, and the real CLI
// decides. `make vulns` runs every report; CI runs a sample.
//
//	go run ./scripts/vulns [-extract FILE] [-sample N -seed S] [-only ID,...] [-shard K/N] [-merge A.json,B.json] [-j N] [-timeout D] [-inlining keep|off] [-slim=false] [-keep] [-json FILE] [-compare OLD.json] [-nosumdb]
//
// Outcomes: shippable (exit 0, the patch written), refused (the plan
// lists refusals; each names a rule), not seen (nothing to patch), not
// set up (the module is not served, does not build at the vulnerable
// version, or the host cannot link the packages: excluded from the share
// and counted with the reason), failed (anything else). The share is
// shippable / (reports - not set up).
//
// Exit codes: 0 when every case ran (refusals are the measurement), 1 on
// a runner error (a "failed" outcome the runner caused), 2 usage.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	extract, only, jsonOut, compare, repo string
	shard, merge                          string
	cacheDir                              string
	cacheGB                               float64
	sample, jobs                          int
	seed                                  int64
	timeout                               time.Duration
	keep, noSumDB, list, slim             bool
	inlining                              string
}

func parseFlags(args []string, stderr io.Writer) (options, bool) {
	var o options
	fs := flag.NewFlagSet("vulns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.extract, "extract", "scripts/vulns/testdata/vulndb-extract.json", "the extract of the Go vulnerability database")
	fs.IntVar(&o.sample, "sample", 0, "run a deterministic sample of N reports (0: all)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the sample")
	fs.StringVar(&o.only, "only", "", "run only these report IDs (comma-separated)")
	fs.StringVar(&o.shard, "shard", "", "run part K of N of the selected reports (K/N): every N-th, from the K-th")
	fs.StringVar(&o.merge, "merge", "", "run nothing: print the table of these results files (comma-separated) as one run, and write it to -json")
	fs.IntVar(&o.jobs, "j", 1, "cases run in parallel")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "time limit of one case")
	fs.BoolVar(&o.keep, "keep", false, "keep the case directories")
	fs.StringVar(&o.jsonOut, "json", filepath.Join(os.TempDir(), "hotfix-vulns.json"), "results file")
	fs.StringVar(&o.compare, "compare", "", "an earlier results file: print the reports whose outcome changed")
	fs.StringVar(&o.repo, "repo", ".", "the hotfix checkout whose CLI and agent are measured")
	fs.StringVar(&o.cacheDir, "cache", filepath.Join(os.TempDir(), "hotfix-vulns-cache"), "the run's own GOCACHE and GOMODCACHE (\"\": the user's, never emptied)")
	fs.Float64Var(&o.cacheGB, "cache-gb", 15, "empty the run's caches between cases when they hold more (GB)")
	fs.BoolVar(&o.slim, "slim", true, "build every patch linked against the release (hotfix build's default); -slim=false links every patch whole. Results say whether the link was slim and the patch's size")
	fs.StringVar(&o.inlining, "inlining", "keep", "the policy's inlining mode for every case: keep (hosts with full optimization; a holder outside the policy is allowed and the build run again) or off (-l on the allowed packages)")
	fs.BoolVar(&o.list, "list", false, "run nothing: print the selected reports' IDs, comma-separated (for -only)")
	fs.BoolVar(&o.noSumDB, "nosumdb", false, "set GOSUMDB=off in the cases: for a module proxy whose checksum database lacks recent versions (the modules are then not verified)")
	if err := fs.Parse(args); err != nil {
		return o, false // the flag package printed why (or the help)
	}
	if _, _, err := parseShard(o.shard); err != nil {
		fmt.Fprintln(stderr, "vulns:", err)
		return o, false
	}
	if fs.NArg() != 0 || o.jobs < 1 || o.sample < 0 || (o.inlining != "keep" && o.inlining != "off") {
		fmt.Fprintln(stderr, "usage: vulns [-extract FILE] [-sample N -seed S] [-only ID,...] [-shard K/N] [-merge A.json,B.json] [-j N] [-timeout D] [-keep] [-json FILE] [-compare OLD.json] [-nosumdb]")
		return o, false
	}
	return o, true
}

func run(args []string, stdout, stderr io.Writer) int {
	o, ok := parseFlags(args, stderr)
	if !ok {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "vulns:", err)
		return 1
	}
	if o.merge != "" {
		if err := runMerge(o, stdout); err != nil {
			return fail(err)
		}
		return 0
	}
	reports, err := load(o.extract)
	if err != nil {
		return fail(err)
	}
	if reports = selectReports(reports, o); len(reports) == 0 {
		fmt.Fprintln(stderr, "vulns: no report selected")
		return 2
	}
	if o.list {
		var ids []string
		for _, r := range reports {
			ids = append(ids, r.ID)
		}
		fmt.Fprintln(stdout, strings.Join(slices.Compact(ids), ","))
		return 0
	}
	rn, err := newRunner(o.repo, o.timeout, o.keep)
	if err != nil {
		return fail(err)
	}
	rn.inlining, rn.slim = o.inlining, o.slim
	defer os.RemoveAll(filepath.Dir(rn.hotfix))
	if o.noSumDB {
		rn.env = append(rn.env, "GOSUMDB=off")
	}
	if rn.caches, err = newCaches(o.cacheDir, int64(o.cacheGB*1e9)); err != nil {
		return fail(err)
	}
	rn.env = append(rn.env, rn.caches.env()...)
	fmt.Fprintf(stderr, "vulns: %d report(s), %d at a time, %s per case at most\n", len(reports), o.jobs, o.timeout)
	start := time.Now()
	results := runAll(rn, reports, o, start, stderr)
	elapsed := time.Since(start).Round(time.Second)
	ran := completed(results)
	sum := summarize(ran)
	printTable(stdout, ran, sum, elapsed)
	if len(ran) < len(reports) {
		fmt.Fprintf(stdout, "interrupted: %d of %d report(s) ran\n", len(ran), len(reports))
	}
	if o.jsonOut != "" {
		if err := writeResults(o.jsonOut, ran, sum, elapsed, o); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "results written to %s\n", o.jsonOut)
	}
	if o.compare != "" {
		if err := printComparison(stdout, o.compare, results); err != nil {
			return fail(err)
		}
	}
	if sum.RunnerErrors > 0 {
		fmt.Fprintf(stderr, "vulns: %d runner error(s)\n", sum.RunnerErrors)
		return 1
	}
	return 0
}

// selectReports applies -only, then -sample, then -shard.
func selectReports(reports []report, o options) []report {
	if o.only != "" {
		want := map[string]bool{}
		for _, id := range strings.Split(o.only, ",") {
			want[strings.TrimSpace(id)] = true
		}
		var sel []report
		for _, r := range reports {
			if want[r.ID] {
				sel = append(sel, r)
			}
		}
		reports = sel
	}
	if o.sample > 0 {
		reports = pick(reports, o.sample, o.seed)
	}
	k, n, _ := parseShard(o.shard) // checked by parseFlags
	return shard(reports, k, n)
}

// runAll runs the cases, o.jobs at a time, and returns their results in
// the order of reports (nil for a case an interrupt kept from running).
// An interrupt stops handing out cases; the cases running finish (each
// within its timeout) and the table covers what ran.
func runAll(rn *runner, reports []report, o options, start time.Time, stderr io.Writer) []*result {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results := make([]*result, len(reports))
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range o.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rn.caches.trim(stderr)
				rn.caches.mu.RLock()
				res := rn.run(reports[i])
				rn.caches.mu.RUnlock()
				mu.Lock()
				results[i] = res
				done++
				fmt.Fprintf(stderr, "[%d/%d] %s %s: %s (%.0fs)\n", done, len(reports), res.ID, res.Module, describe(res), res.Seconds)
				if res.Outcome == failed && res.Tail != "" {
					fmt.Fprintf(stderr, "%s\n", indent(res.Tail, "    | "))
				}
				if o.jsonOut != "" {
					// After every case, so that a long run can be read,
					// or compared, before it ends.
					ran := completed(results)
					if err := writeResults(o.jsonOut, ran, summarize(ran), time.Since(start), o); err != nil {
						fmt.Fprintln(stderr, "vulns:", err)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range reports {
		select {
		case work <- i:
		case <-ctx.Done():
			fmt.Fprintf(stderr, "vulns: interrupted: waiting for the cases running\n")
			break feed
		}
	}
	close(work)
	wg.Wait()
	return results
}

// completed is the results of the cases that ran, in the extract's order.
func completed(rs []*result) []*result {
	var out []*result
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

func load(path string) ([]report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []report
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// pick is a sample of n reports that depends only on the seed and the
// reports (hash order), in the extract's order.
func pick(rs []report, n int, seed int64) []report {
	if n >= len(rs) {
		return rs
	}
	key := func(r report) string {
		h := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%s\x00%s", seed, r.ID, r.Module, r.Vulnerable)))
		return string(h[:])
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(rs[idx[a]]) < key(rs[idx[b]]) })
	idx = idx[:n]
	sort.Ints(idx)
	out := make([]report, n)
	for i, j := range idx {
		out[i] = rs[j]
	}
	return out
}

// newRunner builds the CLI once from the checkout and reads the
// checkout's own requirements.
func newRunner(repo string, timeout time.Duration, keep bool) (*runner, error) {
	abs, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	mod, err := exec.Command("go", "-C", abs, "list", "-m").Output()
	if err == nil && strings.TrimSpace(string(mod)) != "github.com/gohotfix/hotfix" {
		err = fmt.Errorf("module %s", strings.TrimSpace(string(mod)))
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not a hotfix checkout: %v", abs, err)
	}
	tmp, err := os.MkdirTemp("", "hotfix-vulns-cli-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tmp, "hotfix")
	cmd := exec.Command("go", "build", "-ldflags=-checklinkname=0", "-o", bin, "./cmd/hotfix")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("build the CLI: %v\n%s", err, out)
	}
	cmd = exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = abs
	out, err := cmd.Output()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("read go.mod: %v", err)
	}
	var gm struct {
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &gm); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	req := map[string]string{}
	for _, r := range gm.Require {
		req[r.Path] = r.Version
	}
	return &runner{hotfix: bin, repo: abs, repoReq: req, timeout: timeout, keep: keep}, nil
}

// summary is the totals of a run.
type summary struct {
	Reports      int            `json:"reports"`
	Outcomes     map[string]int `json:"outcomes"`
	Rules        map[string]int `json:"rules"`           // rule -> reports it blocks
	SetUp        map[string]int `json:"setup"`           // not set up: reason category -> reports
	Fallbacks    int            `json:"fallbacks"`       // symbols the hosts could not keep
	Through      int            `json:"through"`         // internal packages reached through an importer
	Kept         int            `json:"kept"`            // symbols the hosts keep
	Share        float64        `json:"shippable_share"` // shippable / (reports - not set up)
	RunnerErrors int            `json:"runner_errors"`
	// Held: shippable reports whose patch replaces functions holding an
	// inlined copy of a target (hosts built with full optimization).
	Held int `json:"held"`
	// Widened: shippable reports whose policy allowed more packages than
	// the report's, as a refusal of a holder asked.
	Widened int `json:"widened"`
	// Slim: shippable reports whose patch was linked against the
	// release; NotSlim: those built with -slim and linked whole, by reason.
	Slim    int            `json:"slim"`
	NotSlim map[string]int `json:"not_slim,omitempty"`
}

func summarize(results []*result) summary {
	s := summary{Reports: len(results), Outcomes: map[string]int{}, Rules: map[string]int{}, SetUp: map[string]int{}, NotSlim: map[string]int{}}
	for _, r := range results {
		s.Outcomes[r.Outcome]++
		for _, rule := range r.Rules {
			s.Rules[rule]++
		}
		if r.Outcome == notSetUp {
			s.SetUp[setupCategory(r.Reason)]++
		}
		s.Fallbacks += len(r.Fallbacks)
		s.Through += len(r.Through)
		s.Kept += r.Kept
		if r.RunnerError {
			s.RunnerErrors++
		}
		if r.Outcome == shippable && len(r.Widened) > 0 {
			s.Widened++
		}
		if r.Outcome == shippable && r.Holders > 0 {
			s.Held++
		}
		if r.Outcome == shippable && r.Slim {
			s.Slim++
		}
		if r.Outcome == shippable && r.NotSlim != "" {
			s.NotSlim[r.NotSlim]++
		}
	}
	if n := s.Reports - s.Outcomes[notSetUp]; n > 0 {
		s.Share = float64(s.Outcomes[shippable]) / float64(n)
	}
	return s
}

func describe(r *result) string {
	switch r.Outcome {
	case refused:
		return fmt.Sprintf("%s (%d): %s", r.Outcome, r.Refusals, strings.Join(r.Rules, ", "))
	case shippable:
		return r.Outcome
	}
	if r.RunnerError {
		return r.Outcome + " [runner]: " + r.Reason
	}
	return r.Outcome + ": " + r.Reason
}

func printTable(w io.Writer, results []*result, s summary, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "report\tmodule\toutcome\trules / reason\tkept\tfallbacks\tseconds")
	for _, r := range results {
		detail := r.Reason
		if r.Outcome == refused {
			detail = strings.Join(r.Rules, ", ")
		}
		detail = cut(detail, 120)
		outcome := r.Outcome
		if r.RunnerError {
			outcome += " [runner]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.0f\n", r.ID, r.Module, outcome, detail, r.Kept, len(r.Fallbacks), r.Seconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d report(s) in %s\n", s.Reports, elapsed)
	for _, o := range outcomes {
		fmt.Fprintf(w, "  %-11s %d\n", o, s.Outcomes[o])
	}
	if len(s.Rules) > 0 {
		fmt.Fprintf(w, "refusal rules (reports each blocks):\n")
		printCounts(w, s.Rules)
	}
	if len(s.SetUp) > 0 {
		fmt.Fprintf(w, "not set up (reports, by reason):\n")
		printCounts(w, s.SetUp)
	}
	fmt.Fprintf(w, "symbols kept %d; fallbacks %d (symbols a host could not keep); internal packages reached through an importer %d\n", s.Kept, s.Fallbacks, s.Through)
	fmt.Fprintf(w, "shippable: %d of %d set up = %.1f%%; %d of them replace functions holding an inlined copy of a target, %d with packages allowed beyond the report's\n",
		s.Outcomes[shippable], s.Reports-s.Outcomes[notSetUp], 100*s.Share, s.Held, s.Widened)
	if s.Slim > 0 || len(s.NotSlim) > 0 {
		fmt.Fprintf(w, "linked against the release (-slim): %d of %d shippable\n", s.Slim, s.Outcomes[shippable])
	}
	if len(s.NotSlim) > 0 {
		fmt.Fprintf(w, "linked whole under -slim (reports, by reason):\n")
		printCounts(w, s.NotSlim)
	}
}

func printCounts(w io.Writer, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(w, "  %4d  %s\n", m[k], k)
	}
}

// results is the results file: enough to compare two runs.
type results struct {
	Date      time.Time `json:"date"`
	GoVersion string    `json:"go_version"`
	Extract   string    `json:"extract"`
	Inlining  string    `json:"inlining,omitempty"` // the cases' policy mode
	Seconds   float64   `json:"seconds"`
	Summary   summary   `json:"summary"`
	Results   []*result `json:"results"`
}

func writeResults(path string, rs []*result, s summary, elapsed time.Duration, o options) error {
	b, err := json.MarshalIndent(results{Date: time.Now().UTC().Truncate(time.Second), GoVersion: runtime.Version(), Extract: o.extract, Inlining: o.inlining,
		Seconds: elapsed.Seconds(), Summary: s, Results: rs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printComparison lists the reports of this run whose outcome or rules
// differ from an earlier results file.
func printComparison(w io.Writer, path string, rs []*result) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var old results
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	before := map[string]*result{}
	for _, r := range old.Results {
		before[r.ID+" "+r.Module] = r
	}
	fmt.Fprintf(w, "changed since %s (%s):\n", path, old.Date.Format(time.DateOnly))
	n := 0
	for _, r := range rs {
		o, ok := before[r.ID+" "+r.Module]
		if !ok {
			continue
		}
		was, is := o.Outcome+" "+strings.Join(o.Rules, ","), r.Outcome+" "+strings.Join(r.Rules, ",")
		if was != is {
			n++
			fmt.Fprintf(w, "  %s %s: %s -> %s\n", r.ID, r.Module, strings.TrimSpace(was), strings.TrimSpace(is))
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	return nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
