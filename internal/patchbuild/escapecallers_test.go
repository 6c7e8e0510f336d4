package patchbuild

import (
	"slices"
	"strings"
	"testing"
)

// escapeCallers: the callers of a replaced function whose parameter
// escapes more are replaced, in turn, until no release code calls new
// code compiled for another escape analysis; what cannot be is refused.
func TestEscapeCallers(t *testing.T) {
	const leaks, stays = "leaking param: p", "p does not escape"
	// Each function f has one parameter p, at line N of x.go.
	graph := func(callers map[string][]caller, newFuncs ...string) *callGraph {
		g := &callGraph{callers: callers, targets: map[string]*Target{}, exported: map[string]bool{}, newFuncs: map[string]bool{},
			release: map[string]string{}, patch: map[string]string{}, names: map[string]string{}}
		for i, f := range []string{"p.F", "p.G", "p.H", "p.K"} {
			pos := "x.go:" + string(rune('1'+i)) + ":1 p"
			g.release[pos], g.patch[pos], g.names[f+" #0"] = f+" #0", f+" #0", "p"
			g.targets[f] = &Target{Name: f}
		}
		for _, f := range newFuncs {
			g.newFuncs[f] = true
		}
		return g
	}
	diags := func(escaping ...int) map[string]string {
		m := map[string]string{}
		for i := range 4 {
			m["x.go:"+string(rune('1'+i))+":1 p"] = stays
		}
		for _, i := range escaping {
			m["x.go:"+string(rune('1'+i))+":1 p"] = leaks
		}
		return m
	}
	tests := []struct {
		name     string
		g        *callGraph
		after    map[string]string
		exported bool
		added    []string
		refused  string
	}{
		{"no escape changed", graph(map[string][]caller{"p.F": {{sym: "p.G"}}}), diags(), false, nil, ""},
		{"a caller", graph(map[string][]caller{"p.F": {{sym: "p.G"}}}), diags(0), false, []string{"p.G"}, ""},
		{"callers of a caller that escapes more", graph(map[string][]caller{"p.F": {{sym: "p.G"}}, "p.G": {{sym: "p.H"}}, "p.H": {{sym: "p.K"}}}), diags(0, 1), false, []string{"p.G", "p.H"}, ""},
		{"new code calls it", graph(map[string][]caller{"p.F": {{sym: "p.N"}}}, "p.N"), diags(0), false, nil, ""},
		{"a function literal calls it", graph(map[string][]caller{"p.F": {{sym: "p.G", pos: "x.go:9", closure: true}}}), diags(0), false, nil, "its caller at x.go:9 is a function literal"},
		{"other packages may call it", graph(map[string][]caller{"p.F": {{sym: "p.G"}}}), diags(0), true, []string{"p.G"}, ""},
		{"a caller that cannot be replaced", graph(map[string][]caller{"p.F": {{sym: "p.Gen"}}}), diags(0), false, nil, "its caller p.Gen cannot be replaced"},
		// G passes F a local of its own: its parameter escapes no more,
		// but H, which holds G inlined, holds that local on its stack.
		{"a caller inlined into its own callers", graph(map[string][]caller{"p.F": {{sym: "p.G"}}, "p.G": {{sym: "p.H"}}, "p.H": {{sym: "p.K"}}}), diags(0), false, []string{"p.G", "p.H"}, ""},
		{"a caller inlined everywhere", graph(map[string][]caller{"p.F": {{sym: "p.G"}}, "p.G": {{sym: "p.H"}}}), diags(0), false, []string{"p.H"}, ""},
		{"a caller inlined into a function literal", graph(map[string][]caller{"p.F": {{sym: "p.G"}}, "p.G": {{sym: "p.H", pos: "x.go:9", closure: true}}}), diags(0), false, []string{"p.G"},
			"p.G is replaced for its calls of p.F, and the release's compiler inlined it (inlined into p.H at x.go:9): the functions holding its copies make those calls as compiled for the old escape analysis, and must be replaced too; its caller at x.go:9 is a function literal"},
	}
	for _, tt := range tests {
		tt.g.exported["p.F"], tt.g.imported = tt.exported, tt.exported
		if strings.Contains(tt.name, "inlined") {
			tt.g.inlinedAt = func(sym string) (string, bool) {
				if sym == "p.G" {
					return "inlined into p.H at x.go:9", !strings.Contains(tt.name, "everywhere")
				}
				return "", true
			}
		}
		added, refused, outside := escapeCallers("p", tt.g, byParam(diags(), tt.g.release), byParam(tt.after, tt.g.patch), map[string]bool{"p.F": true})
		if (outside["p.F"] != "") != tt.exported || len(outside) > 1 {
			t.Errorf("%s: outside %v: other packages' callers of p.F to replace: %v", tt.name, outside, tt.exported)
		}
		var names []string
		for _, a := range added {
			names = append(names, a.Name)
		}
		if !slices.Equal(names, tt.added) {
			t.Errorf("%s: added %v, want %v", tt.name, names, tt.added)
		}
		if got := strings.Join(refused, "\n"); tt.refused == "" && got != "" || !strings.Contains(got, tt.refused) {
			t.Errorf("%s: refused %q, want %q", tt.name, got, tt.refused)
		}
	}
}
