package slimlink

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestEditsApply checks that every edit finds its text exactly once in the
// linker source of the Go root the tests run with.
func TestEditsApply(t *testing.T) {
	files, err := editedSources(runtime.GOROOT())
	if err != nil {
		t.Fatal(err)
	}
	want := len(addedFiles)
	seen := map[string]bool{}
	for _, e := range edits {
		if !seen[e.file] {
			seen[e.file] = true
			want++
		}
	}
	if len(files) != want {
		t.Errorf("%d files edited or added, want %d", len(files), want)
	}
	for _, e := range edits {
		if _, err := apply("x"+e.old+"y", e); err != nil {
			t.Errorf("%s: %v", e.file, err)
		}
		if _, err := apply(e.old+e.old, e); err == nil {
			t.Errorf("%s: an edit whose text occurs twice is applied", e.file)
		}
	}
}

func TestPackageOf(t *testing.T) {
	tests := []struct{ sym, want string }{
		{"net/http.Header.Get", "net/http"},
		{"net/http.(*Request).Context", "net/http"},
		{"type:net/http.Header", "net/http"},
		{"type:*net/http.Request", "net/http"},
		{"gopkg.in/yaml%2ev3.Marshal", "gopkg.in/yaml.v3"},
		{"example.com/web/lib.V", "example.com/web/lib"},
		{"errors.New", "errors"},
		{"slices.Sort[go.shape.string]", "slices"},
		{"go:info.net/http.ResponseWriter", ""},
		{"_cgo_init", ""},
		{"abi0:syscall.Syscall", "syscall"},
		{"main", ""},
	}
	for _, tt := range tests {
		if got := packageOf(tt.sym); got != tt.want {
			t.Errorf("packageOf(%q) = %q, want %q", tt.sym, got, tt.want)
		}
	}
}

func TestMissing(t *testing.T) {
	release := map[string]bool{"syscall.Syscall": true, "syscall.Syscall.abi0": true, "example.com/lib.V": true, mangle("type:*net/http.Request"): true,
		"example.com/sum.Mix.abi0": true, "example.com/sum.Add": true}
	got := missing([]string{"syscall.Syscall", abi0Mark + "syscall.Syscall", "example.com/lib.V", "type:*net/http.Request", "example.com/lib.gone",
		abi0CallMark + "example.com/sum.Mix", abi0CallMark + "example.com/sum.Add"}, release)
	// A direct call to an assembly function binds to the release's ABI0
	// entry (sum.Mix.abi0), never to a name without the suffix, which is
	// the ABIInternal wrapper's (sum.Add), taking the arguments in
	// registers: a release that exports no NAME.abi0 does not get it.
	want := []string{abi0Mark + "syscall.Syscall", "example.com/lib.gone", abi0CallMark + "example.com/sum.Add"}
	if !slices.Equal(got, want) {
		t.Errorf("missing = %q, want %q: a symbol assembly refers to is never left to the release, an assembly function called from Go only by its ABI0 entry", got, want)
	}
	if p := packageOf(abi0CallMark + "example.com/sum.Add"); p != "example.com/sum" {
		t.Errorf("packageOf(%s) = %q", abi0CallMark+"example.com/sum.Add", p)
	}
}

func TestCarryFor(t *testing.T) {
	hollow := []string{"errors", "net/http", "strings"}
	tests := []struct {
		lacking, keep []string
		pkgs, kept    []string
		why           string
	}{
		{lacking: []string{"type:errors.errorString", "errors.New", "net/http.Header.Get"}, pkgs: []string{"errors", "net/http"}},
		// A function of a carried package a nosplit function calls.
		{lacking: []string{"example.com/fix.helper"}, kept: []string{"example.com/fix.helper"}},
		{lacking: []string{"example.com/fix.helper"}, keep: []string{"example.com/fix.helper"}, why: "example.com/fix.helper"},
		{lacking: []string{abi0Mark + "runtime.memmove"}, why: "runtime.memmove"},
		{lacking: []string{abi0CallMark + "example.com/fix.asmHelper"}, why: "example.com/fix.asmHelper"},
		// Neither hollow nor carried: named at once, not kept.
		{lacking: []string{"example.com/other.F"}, why: "example.com/other.F"},
	}
	for _, tt := range tests {
		pkgs, kept, why := carryFor(tt.lacking, hollow, tt.keep, map[string]bool{"example.com/fix": true, "runtime": true})
		if tt.why != "" {
			if !strings.Contains(why, tt.why) {
				t.Errorf("carryFor(%q, keep %q): why = %q, want it to name %s", tt.lacking, tt.keep, why, tt.why)
			}
			continue
		}
		if why != "" || !slices.Equal(pkgs, tt.pkgs) || !slices.Equal(kept, tt.kept) {
			t.Errorf("carryFor(%q, keep %q) = %q, %q, %q; want %q, %q", tt.lacking, tt.keep, pkgs, kept, why, tt.pkgs, tt.kept)
		}
	}
}

// TestMangleMatchesRelease checks mangle against the names a real plugin
// host's linker wrote: every type descriptor the host's symbol table names
// in full is in its dynamic symbol table under mangle's name.
func TestMangleMatchesRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host")
	}
	bin := buildHost(t, `package main

import (
	"fmt"
	"net/http"
	"plugin"
	"slices"
)

type Long struct{ Field map[string][]*http.Request }

func main() {
	s := []string{"b", "a"}
	slices.Sort(s)
	fmt.Println(plugin.Open, &Long{}, s, http.Header{})
}
`)
	dyn, err := exported(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"type:*main.Long", "type:net/http.Header", "type:*net/http.Request", "net/http.Header.Get", "main.main"} {
		if !dyn[mangle(name)] {
			t.Errorf("%s: %s not in the host's dynamic symbols", name, mangle(name))
		}
	}
}

// buildHost builds main.go's source as a plugin host (it must import
// plugin) and returns the binary.
func buildHost(t *testing.T, main string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644)
	bin := filepath.Join(dir, "host")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return bin
}

// TestNotSplittable: a function the slim link took to check its own stack
// stands only if the release's copy starts with the check; a //go:nosplit
// one, a leaf the compiler made nosplit, and one the release does not
// export do not.
func TestNotSplittable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a host")
	}
	bin := buildHost(t, `package main

import (
	"fmt"
	"plugin"
)

//go:noinline
func Grows(n int) []int { return make([]int, n) }

//go:noinline
//go:nosplit
func Fixed(n int) int { return n * 3 }

//go:noinline
func Leaf(n int) int { return n + 1 }

func main() { fmt.Println(plugin.Open, Grows(2), Fixed(3), Leaf(4)) }
`)
	list := filepath.Join(t.TempDir(), "assumed")
	os.WriteFile(list, []byte("main.Grows\nmain.Fixed\nmain.Leaf\nmain.Absent\n"), 0o644)
	n, not, err := notSplittable(list, bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"main.Fixed", "main.Leaf", "main.Absent"}; n != 1 || !slices.Equal(not, want) {
		t.Fatalf("notSplittable = %d, %q; want 1, %q", n, not, want)
	}
	os.WriteFile(list, nil, 0o644)
	if n, not, err := notSplittable(list, "/nonexistent"); n != 0 || not != nil || err != nil {
		t.Fatalf("empty list: %d, %q, %v; want nothing read", n, not, err)
	}
}

func TestFingerprint(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a package")
	}
	compile := filepath.Join(runtime.GOROOT(), "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH, "link")
	a, err := emptyArchive(compile, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fingerprint(a)
	if err != nil {
		t.Fatal(err)
	}
	want := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	b, err := withFingerprint(a, want)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fingerprint(b); got != want || fp == want {
		t.Errorf("fingerprint after withFingerprint = %x, want %x (was %x)", got, want, fp)
	}
	if _, err := fingerprint(a[:len(a)/2]); err == nil {
		t.Error("a cut archive has a fingerprint")
	}
}

// TestOwnCopies checks the rule on shared objects gcc makes: a pointer to
// an exported object binds by name (R_X86_64_64 against the symbol, which
// the release's definition interposes), unless the object is linked
// -Bsymbolic, when it stays the object's own (a relative relocation).
func TestOwnCopies(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the C compiler builds for this machine")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "t.c")
	os.WriteFile(src, []byte(`int desc __asm__("\"type:example.com/p.T\"") = 1;
int *ref = &desc;
`), 0o644)
	release := map[string]bool{"type:example.com/p.T": true}
	for _, tt := range []struct {
		flags []string
		want  []string
	}{
		{nil, nil},
		{[]string{"-Wl,-Bsymbolic"}, []string{"type:example.com/p.T"}},
	} {
		so := filepath.Join(dir, "t.so")
		args := append([]string{"-shared", "-fPIC", "-o", so, src}, tt.flags...)
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
		got, err := ownCopies(so, release)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("gcc %v: ownCopies = %q, want %q", tt.flags, got, tt.want)
		}
	}
}

// TestAssembleMarksRejected: assembly -dynlink rejects is assembled
// without it and its object marked unlinkable, which an archive check
// finds by member; assembly -dynlink takes stays as the assembler made it.
func TestAssembleMarksRejected(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("amd64 assembly")
	}
	out, err := exec.Command("go", "env", "GOROOT", "GOTOOLDIR").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Fields(string(out))
	asm := filepath.Join(env[1], "asm")
	dir := t.TempDir()
	for name, body := range map[string]string{
		"rejected": "MOVQ $3, R15\n\tMOVQ ·seed(SB), AX\n\tADDQ R15, AX",
		"clean":    "MOVQ ·seed(SB), AX\n\tADDQ $3, AX",
	} {
		src := filepath.Join(dir, name+".s")
		os.WriteFile(src, []byte("#include \"textflag.h\"\n\nTEXT ·Mix(SB), NOSPLIT, $0-8\n\t"+body+"\n\tMOVQ AX, ret+0(FP)\n\tRET\n"), 0o644)
		obj := filepath.Join(dir, name+".o")
		args := []string{asm, "-p", "example.com/sum", "-I", filepath.Join(env[0], "pkg", "include"), "-dynlink", "-o", obj, src}
		if code := assemble(args); code != 0 {
			t.Fatalf("%s: assemble exit %d", name, code)
		}
		b, err := os.ReadFile(obj)
		if err != nil {
			t.Fatal(err)
		}
		// The flags are where the assembler wrote them: its own
		// ObjFlagFromAssembly (1<<2) is set there.
		if at, err := objFlagsAt(b); err != nil || binary.LittleEndian.Uint32(b[at:])&(1<<2) == 0 {
			t.Fatalf("%s: no FromAssembly flag at the flags' offset (%v): the header is misread", name, err)
		}
		ar := append([]byte("!<arch>\n"), fmt.Sprintf("%-16s%-12s%-6s%-6s%-8s%-10d`\n", name+".o", "0", "0", "0", "644", len(b))...)
		ar = append(ar, b...)
		bad, err := unlinkableMembers(ar)
		if want := name == "rejected"; err != nil || (len(bad) == 1) != want {
			t.Errorf("%s: unlinkable members %q, %v; want marked: %v", name, bad, err, want)
		}
	}
}
