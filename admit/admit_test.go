package admit

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestNotInlined runs the inlined rule on a real binary: the loader's
// testdata/generics, built with hotfix's flags for a policy allowing
// package p, where q (built without -l) instantiates p's generic code and
// inlines it.
func TestNotInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	const pkg = "example.com/generics/"
	exe := filepath.Join(t.TempDir(), "generics")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-checklinkname=0", "-gcflags="+pkg+"p=-l", "-o", exe, ".")
	cmd.Dir = filepath.Join("..", "loader", "testdata", "generics")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build loader/testdata/generics: %v\n%s", err, out)
	}
	bin, err := loader.ReadBinary(exe)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		fn       string
		replaced []string
		want     string // "" for no refusal
		reason   string
	}{
		{"generic inlined into another package", "p.SumOf[go.shape.int64]", nil,
			pkg + "p.SumOf[go.shape.int64] was inlined into " + pkg + "q.Q at " + pkg + "q/q.go:16: no jump", "q instantiates it with its own flags"},
		{"two sites", "p.SumOf[go.shape.int]", nil, "inlined into " + pkg + "q.Q at " + pkg + "q/q.go:14 (and 1 more sites)", "int and MyInt share the shape"},
		{"the caller is replaced too", "p.SumOf[go.shape.int64]", []string{"q.Q"}, "", "the patch's Q has its own copy"},
		{"nested", "p.Max[go.shape.float64]", nil, "inlined into " + pkg + "q.Q at " + pkg + "q/q.go:22 (in " + pkg + "q.larger, itself inlined there)", "the call is in larger, the code in Q"},
		{"plain function of an allowed package", "p.Plain", nil, "", "-l: never inlined"},
		{"not in the binary", "p.Gone", nil, "", "the symbols step names it"},
	}
	for _, tt := range tests {
		replaced := map[string]bool{}
		for _, r := range tt.replaced {
			replaced[pkg+r] = true
		}
		err := NotInlined(bin, pkg+tt.fn, func(caller string) bool { return replaced[caller] })
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want none: %s", tt.name, err, tt.reason)
		case tt.want != "" && (!errors.Is(err, ErrInlined) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want ErrInlined with %q: %s", tt.name, err, tt.want, tt.reason)
		}
	}
}

// TestRanOnce: a copy inlined into a package's initialization needs no
// replacing, it never runs again; closures made there do run again.
func TestRanOnce(t *testing.T) {
	for sym, want := range map[string]bool{
		"example.com/app.init":              true, // variables' initializers
		"main.init.0":                       true,
		"example.com/app/desk.init.2":       true,
		"main.init.0.func1":                 false, // a handler registered at start-up
		"example.com/app/desk.init.func1":   false,
		"example.com/app/desk.initialize":   false,
		"example.com/app/desk.(*Desk).init": false,
		"example.com/app/desk.New":          false,
		"not a symbol":                      false,
	} {
		if got := RanOnce(sym); got != want {
			t.Errorf("RanOnce(%s) = %v, want %v", sym, got, want)
		}
	}
}
