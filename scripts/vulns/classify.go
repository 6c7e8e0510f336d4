package main

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The outcomes of one report.
const (
	shippable = "shippable"  // hotfix build wrote the patch
	refused   = "refused"    // the plan lists changes it cannot ship, each with a rule
	notSeen   = "not seen"   // hotfix build saw no changed function
	notSetUp  = "not set up" // the case could not be built: excluded from the share
	failed    = "failed"     // anything else
)

var outcomes = []string{shippable, refused, notSeen, notSetUp, failed}

var refusedHeader = regexp.MustCompile(`^refused: \d+ change\(s\) cannot be hot-patched:$`)

// verdict is what one run of hotfix build says.
type verdict struct {
	outcome  string
	rules    []string // distinct rule names, sorted
	refusals int      // refusal lines
	reason   string   // for not seen and failed: the message
	holders  int      // plan lines replacing a function that holds an inlined copy of a target
	lines    []string // refused: the plan's refusal lines, each cut to lineMax bytes
}

// lineMax is the most of a refusal line a result keeps: enough for the
// object, the rule and the start of its reason.
const lineMax = 400

// classify reads the exit code and the combined output of
// `hotfix build` (the plan goes to stdout, progress and the final error
// to stderr). The plan prints each refusal as "  file:line: object: rule:
// detail" under a "refused: N change(s) cannot be hot-patched:" line
// (internal/patchbuild/plan.go, Finding.String); positions and objects
// hold no ": ".
func classify(exit int, out string, wrote bool) verdict {
	v := classifyOutcome(exit, out, wrote)
	v.holders = strings.Count(out, "holds an inlined copy of ")
	if v.outcome == refused && len(v.lines) == 0 { // refused after the plan
		v.lines = lateRefusals(out)
	}
	return v
}

// lateRefusals returns the refusal lines of a build refused after its
// plan: each indented line under the error (the escape check lists one a
// parameter), or the error itself.
func lateRefusals(out string) []string {
	var lines []string
	if i := strings.LastIndex(out, "hotfix build: "); i >= 0 {
		for _, l := range strings.Split(out[i:], "\n")[1:] {
			if strings.HasPrefix(l, "  ") {
				lines = append(lines, cut(strings.TrimSpace(l), lineMax))
			}
		}
	}
	if len(lines) == 0 {
		lines = []string{cut(cliError(out), lineMax)}
	}
	return lines
}

func classifyOutcome(exit int, out string, wrote bool) verdict {
	last := lastLine(out)
	switch {
	case exit == 0 && wrote:
		return verdict{outcome: shippable}
	case exit == 0:
		return verdict{outcome: failed, reason: "exit 0 but no patch file"}
	case exit == 2:
		return verdict{outcome: failed, reason: "usage error: " + last}
	case exit != 1:
		return verdict{outcome: failed, reason: "exit code " + strconv.Itoa(exit) + ": " + last}
	}
	if strings.Contains(out, "nothing to patch") {
		return verdict{outcome: notSeen, reason: messageLine(out, "nothing to patch")}
	}
	v := verdict{outcome: refused}
	seen := map[string]bool{}
	in := false
	for _, l := range strings.Split(out, "\n") {
		if refusedHeader.MatchString(l) {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(l, "  ") {
			in = false
			continue
		}
		parts := strings.SplitN(strings.TrimSpace(l), ": ", 4)
		if len(parts) < 3 {
			continue
		}
		v.refusals++
		v.lines = append(v.lines, cut(strings.TrimSpace(l), lineMax))
		if !seen[parts[2]] {
			seen[parts[2]] = true
			v.rules = append(v.rules, parts[2])
		}
	}
	if v.refusals == 0 {
		msg := cliError(out)
		// Refusals the build makes after its plan: the self-check finds
		// the package's export data changed (the compiler's view, which
		// the plan's comparison of sources does not have), or the plugin
		// cannot be built at all.
		// The case copies only the report's packages from the fixed
		// version: a fix that also changed other packages of the module,
		// or its requirements, does not compile that way (its go.sum lacks
		// a module a new import needs, even where a later step of hotfix
		// build is what found it). That is the setup's limit, not a
		// verdict of hotfix build.
		// So is an object the fix removes that an unchanged package of the
		// release still uses: upstream changed the users too.
		for _, sign := range []string{"working tree: does not compile", "updates to go.mod needed", "missing go.sum entry", "which the patch compiles from the release's own source, uses it"} {
			if strings.Contains(msg, sign) {
				return verdict{outcome: notSetUp, reason: "fix spans more than the listed packages: " + msg}
			}
		}
		switch {
		case strings.Contains(msg, "self-check") && strings.Contains(msg, "export data changed"):
			return verdict{outcome: refused, refusals: 1, rules: []string{"export data changed (self-check)"}}
		case strings.HasPrefix(msg, "refused: escape analysis changed"):
			return verdict{outcome: refused, refusals: strings.Count(msg, "escape analysis changed (release:"), rules: []string{"escape analysis changed"}}
		case strings.HasPrefix(msg, "refused: escape analysis of"):
			return verdict{outcome: refused, refusals: 1, rules: []string{"escape analysis not compared"}}
		case strings.HasPrefix(msg, "refused: assembly not buildable into a plugin"):
			return verdict{outcome: refused, refusals: 1, rules: []string{"assembly not buildable into a plugin"}}
		}
		return verdict{outcome: failed, reason: msg}
	}
	sort.Strings(v.rules)
	return v
}

// notSlimMark starts the line hotfix build -slim prints when it links the
// plugin whole instead; the reason follows it.
const notSlimMark = "slim link not possible, the plugin carries every package: "

// notSlimReason is why a -slim build linked the plugin whole, "" when it
// did not say so.
func notSlimReason(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if _, why, ok := strings.Cut(l, notSlimMark); ok {
			return cut(strings.TrimSpace(why), 300)
		}
	}
	return ""
}

// messageLine is the first line of out that holds s, trimmed of the
// command's prefix.
func messageLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimPrefix(strings.TrimSpace(l), "hotfix build: ")
		}
	}
	return ""
}

// cliError is the CLI's own error message ("hotfix build: ..." to the
// end), on one line; the last line of out when there is none.
func cliError(out string) string {
	i := strings.LastIndex(out, "hotfix build: ")
	if i < 0 {
		return oneLine(lastLine(out))
	}
	return oneLine(strings.TrimPrefix(out[i:], "hotfix build: "))
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func lastLine(out string) string {
	out = strings.TrimSpace(out)
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	return strings.TrimPrefix(out, "hotfix build: ")
}

// tail is the last n lines of out.
func tail(out string, n int) string {
	ls := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// setupCategory is the short kind of a "not set up" reason: the text
// before its first colon.
func setupCategory(reason string) string {
	if i := strings.Index(reason, ":"); i > 0 {
		return reason[:i]
	}
	return reason
}

// cut returns s, or its first n bytes and "…" when it is longer, not
// splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
