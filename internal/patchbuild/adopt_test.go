package patchbuild

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// TestAdoptedFingerprintFacts records what rebuild.go relies on, with a
// real host and two real plugins whose copy of package p adds a variable
// initialized by a call, a helper, an import, a type and a method:
//
//   - plugin.Open refuses the plugin as built ("different version of
//     package"), and opens it once adoptFingerprints wrote the release's
//     fingerprint in;
//   - the plugin's code uses the host's variables (same address);
//   - the host ran p's init task at start, and the plugin's copy of it is
//     the host's: the new variable's initializer never runs by itself;
//   - a new variable of the first plugin is the second plugin's too: the
//     dynamic linker binds both to the first definition;
//   - the plugin sees the host's type descriptor of p.T, which lacks the
//     new method: an interface assertion does not find it.
func TestAdoptedFingerprintFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host and two plugins")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("plugins need cgo")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		writeFiles(t, dir, map[string]string{name: src})
	}
	const release = `package p

var Count int

var table = map[string]int{"h": 1} // gives p an init task

type T struct{ A int }

func F() string { return "old" }

func AddrCount() *int { return &Count }

func TableLen() int { return len(table) }
`
	const fixed = `package p

import (
	"errors"
	"strings"
)

var Count int

var table = map[string]int{"h": 1}

var errNew = errors.New("new")

type T struct{ A int }

type N struct{ B string }

func (t *T) Extra() int { return t.A * 2 }

func helper() string { return strings.ToUpper("new") }

func F() string { return helper() }

func AddrCount() *int { return &Count }

func TableLen() int { return len(table) }

func ErrNew() *error { return &errNew }
`
	const plugin = `package main

import (
	"fmt"
	"ex/p"
)

func Run(t any) {
	_, extra := t.(interface{ Extra() int })
	fmt.Printf("%s %p %v %p %v %d\n", p.F(), p.AddrCount(), *p.ErrNew(), p.ErrNew(), extra, p.TableLen())
}
`
	write("host/go.mod", "module ex\n\ngo 1.24\n")
	write("host/p/p.go", release)
	write("host/main.go", `package main

import (
	"fmt"
	"os"
	"plugin"
	"ex/p"
)

func main() {
	fmt.Printf("host %p\n", p.AddrCount())
	for _, path := range os.Args[1:] {
		pl, err := plugin.Open(path)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		run, err := pl.Lookup("Run")
		if err != nil {
			panic(err)
		}
		run.(func(any))(&p.T{A: 7})
	}
}
`)
	write("fix/go.mod", "module ex\n\ngo 1.24\n")
	write("fix/p/p.go", fixed)
	write("fix/plug1/main.go", plugin)
	write("fix/plug2/main.go", plugin)
	flags := []string{"-trimpath", "-gcflags=ex/p=-l"}
	goBuild := func(sub string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), args...)...)
		cmd.Dir = filepath.Join(dir, sub)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
	}
	host := filepath.Join(dir, "hostbin")
	goBuild("host", "-o", host, ".")
	so1, so2 := filepath.Join(dir, "p1.so"), filepath.Join(dir, "p2.so")
	goBuild("fix", "-buildmode=plugin", "-o", so1, "./plug1")
	goBuild("fix", "-buildmode=plugin", "-o", so2, "./plug2")
	runHost := func(args ...string) string {
		out, _ := exec.Command(host, args...).CombinedOutput()
		return string(out)
	}
	if out := runHost(so1); !strings.Contains(out, "plugin was built with a different version of package ex/p") {
		t.Fatalf("the plugin as built: %s", out)
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	for _, so := range []string{so1, so2} {
		if err := adoptFingerprints(so, bin, []string{"ex/p"}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(runHost(so1, so2)), "\n")
	if len(lines) != 3 {
		t.Fatalf("host output: %q", lines)
	}
	hostCount := strings.TrimPrefix(lines[0], "host ")
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("plugin %d: %q", i+1, l)
		}
		if f[0] != "NEW" {
			t.Errorf("plugin %d: F = %s, want the new code's NEW", i+1, f[0])
		}
		if f[1] != hostCount {
			t.Errorf("plugin %d: Count at %s, the host's at %s", i+1, f[1], hostCount)
		}
		if f[2] != "<nil>" {
			t.Errorf("plugin %d: the new variable is %s: its initializer ran by itself", i+1, f[2])
		}
		if f[4] != "false" {
			t.Errorf("plugin %d: an interface found the new method", i+1)
		}
		if f[5] != "1" {
			t.Errorf("plugin %d: the host's table has %s entries: its initializer ran again", i+1, f[5])
		}
	}
	if a, b := strings.Fields(lines[1])[3], strings.Fields(lines[2])[3]; a != b {
		t.Errorf("the new variable is at %s in one plugin and %s in the other", a, b)
	}
}
