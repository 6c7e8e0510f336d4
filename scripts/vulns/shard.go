package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// A whole run takes hours on two cores: -shard runs one part of the
// reports, and -merge prints the table of the parts' results files as one
// run, so the corpus can be measured a part at a time.

// parseShard reads "K/N" (1 ≤ K ≤ N); "" is the whole run, 1/1.
func parseShard(s string) (k, n int, err error) {
	if s == "" {
		return 1, 1, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, kerr := strconv.Atoi(ks)
	n, nerr := strconv.Atoi(ns)
	if !ok || kerr != nil || nerr != nil || n < 1 || k < 1 || k > n {
		return 0, 0, fmt.Errorf("-shard %q: want K/N with 1 ≤ K ≤ N", s)
	}
	return k, n, nil
}

// shard keeps every n-th report, starting with the k-th (1-based): the
// parts of one N cover every report once.
func shard(reports []report, k, n int) []report {
	var out []report
	for i, r := range reports {
		if i%n == k-1 {
			out = append(out, r)
		}
	}
	return out
}

// merge reads results files and returns their results as one run, and
// the inlining mode they were run under: a report in more than one file
// counts once, as the last file has it. Files of two modes are not one
// run.
func merge(paths []string) ([]*result, time.Duration, string, error) {
	var out []*result
	at := map[string]int{}
	var secs float64
	mode := ""
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, 0, "", err
		}
		var rs results
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, 0, "", fmt.Errorf("%s: %w", p, err)
		}
		if rs.Inlining != "" && mode != "" && rs.Inlining != mode {
			return nil, 0, "", fmt.Errorf("%s: run under inlining: %s, the files before it under %s: not one run", p, rs.Inlining, mode)
		}
		if rs.Inlining != "" {
			mode = rs.Inlining
		}
		secs += rs.Seconds
		for _, r := range rs.Results {
			key := r.ID + " " + r.Module
			if i, ok := at[key]; ok {
				out[i] = r
				continue
			}
			at[key] = len(out)
			out = append(out, r)
		}
	}
	return out, time.Duration(secs * float64(time.Second)), mode, nil
}

// runMerge prints and writes the merged table of -merge.
func runMerge(o options, stdout io.Writer) error {
	ran, elapsed, mode, err := merge(strings.Split(o.merge, ","))
	if err != nil {
		return err
	}
	o.inlining = mode
	sum := summarize(ran)
	printTable(stdout, ran, sum, elapsed.Round(time.Second))
	if o.jsonOut == "" {
		return nil
	}
	return writeResults(o.jsonOut, ran, sum, elapsed, o)
}
