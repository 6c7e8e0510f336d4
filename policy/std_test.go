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
		if builtinDenial(pkg) == "" && intrinsic(pkg+"."+fn) == "" {
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
