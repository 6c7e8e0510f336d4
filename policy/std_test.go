package policy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goCmd runs the go command of the toolchain the tests run under (CI runs
// them under every supported release).
func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// TestRuntimeBuiltFromPinned: every package the runtime is built from is
// denied, and every package the list names is still one of them. A Go
// release that changes the runtime's dependencies fails here.
func TestRuntimeBuiltFromPinned(t *testing.T) {
	deps := strings.Fields(goCmd(t, "list", "-deps", "runtime"))
	in := map[string]bool{}
	for _, pkg := range deps {
		in[pkg] = true
		if why := builtinDenial(pkg); !strings.Contains(why, "built into the runtime") {
			t.Errorf("%s is a dependency of the runtime, but builtinDenial says %q", pkg, why)
		}
	}
	for _, root := range runtimeBuiltFrom {
		if tree, ok := strings.CutSuffix(root, "/..."); ok {
			found := false
			for _, pkg := range deps {
				found = found || within(pkg, tree)
			}
			if !found {
				t.Errorf("runtimeBuiltFrom has %s, but no dependency of the runtime is in it", root)
			}
		} else if !in[root] {
			t.Errorf("runtimeBuiltFrom has %s, which the runtime no longer depends on", root)
		}
	}
}

// intrinsicCall matches the registrations of cmd/compile's intrinsics
// table: add("pkg", "fn", ...), addF("pkg", "fn", ...), alias("pkg", "fn", ...).
var intrinsicCall = regexp.MustCompile(`\b(?:add|addF|alias)\("([a-z0-9/]+)", "([A-Za-z0-9_]+)"`)

// TestIntrinsicsPinned reads the compiler's intrinsics table from the
// toolchain's own source: every function it turns into instructions is
// denied, by package or by name.
func TestIntrinsicsPinned(t *testing.T) {
	dir := filepath.Join(goCmd(t, "env", "GOROOT"), "src", "cmd", "compile", "internal", "ssagen")
	src, err := os.ReadFile(filepath.Join(dir, "intrinsics.go"))
	if err != nil {
		t.Fatal(err)
	}
	ms := intrinsicCall.FindAllStringSubmatch(string(src), -1)
	if len(ms) < 100 {
		t.Fatalf("%d intrinsics found in %s: the table's form changed, update intrinsicCall", len(ms), dir)
	}
	for _, m := range ms {
		pkg, fn := m[1], m[2]
		if builtinDenial(pkg) == "" && stdFuncDenial(pkg, fn) == "" {
			t.Errorf("%s.%s is a compiler intrinsic but not denied", pkg, fn)
		}
	}
	simd, err := os.ReadFile(filepath.Join(dir, "simdintrinsics.go"))
	if err == nil {
		if m := regexp.MustCompile(`simdPackage = "([^"]+)"`).FindSubmatch(simd); m != nil && builtinDenial(string(m[1])) == "" {
			t.Errorf("%s holds compiler intrinsics but is not denied", m[1])
		}
	}
}

// linknameDirective matches the runtime's //go:linkname local pkg.Name.
var linknameDirective = regexp.MustCompile(`(?m)^//go:linkname [A-Za-z0-9_]+ ([a-z0-9/]+)\.([A-Za-z0-9_]+)$`)

// TestRuntimeProvidedPinned reads the runtime's sources: every function it
// names in another standard package with //go:linkname (mostly its own
// code under that name, as time.Sleep) is denied.
func TestRuntimeProvidedPinned(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goCmd(t, "env", "GOROOT"), "src", "runtime", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("runtime sources: %v", err)
	}
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linknameDirective.FindAllStringSubmatch(string(src), -1) {
			pkg, fn := m[1], m[2]
			if pkg == "runtime" || pkg == "main" {
				continue
			}
			n++
			if builtinDenial(pkg) == "" && stdFuncDenial(pkg, fn) == "" {
				t.Errorf("%s.%s is named by //go:linkname in %s but not denied", pkg, fn, filepath.Base(f))
			}
		}
	}
	if n < 100 {
		t.Fatalf("%d linknames found: the runtime's form changed, update linknameDirective", n)
	}
}
