package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// qemuArm64 runs an arm64 binary on this machine (Debian's qemu-user; the
// cross C library lives under /usr/aarch64-linux-gnu).
var qemuArm64 = []string{"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"}

// TestArm64 is the core scenario on linux/arm64, from an amd64 machine
// (issue 16): the test app is cross-built for arm64 with the flags of
// `hotfix flags`, `hotfix build -binary` builds its patch (reading GOARCH
// from the binary and running the cross C compiler itself), `hotfix
// verify` accepts it and refuses the amd64 patch of the same source (and
// the arm64 patch for the amd64 build), and the arm64 host, run under
// qemu-aarch64, takes the fix over HTTP and reverts it when the file goes.
// `make test-arm64` runs it (HOTFIX_ARM64=1), after installing qemu-user
// and the cross toolchain.
func TestArm64(t *testing.T) {
	if os.Getenv("HOTFIX_ARM64") == "" {
		t.Skip("arm64 under qemu-user: run by make test-arm64 (HOTFIX_ARM64=1)")
	}
	if testing.Short() {
		t.Skip("end-to-end test: builds real binaries and plugins (skipped with -short)")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cross-builds arm64 from linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, tool := range []string{"gcc", "aarch64-linux-gnu-gcc", qemuArm64[0]} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: make test-arm64 installs qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross", tool)
		}
	}
	a := buildArm64Fixture(t)

	for _, c := range []struct{ binary, patch, refusal string }{
		{a.armHost, a.amdPatch, "patch built for linux/amd64 (EM_X86_64), the binary for linux/arm64 (EM_AARCH64)"},
		{a.amdHost, a.armPatch, "patch built for linux/arm64 (EM_AARCH64), the binary for linux/amd64 (EM_X86_64)"},
	} {
		out, err := runIn(a.src, nil, a.hotfix, "verify", "-binary", c.binary, "-policy", "policy.yaml", c.patch)
		if err == nil || !strings.Contains(out, c.refusal) {
			t.Errorf("verify -binary %s %s: %v\n%s\nwant a refusal naming both: %q", filepath.Base(c.binary), filepath.Base(c.patch), err, out, c.refusal)
		}
	}
	if out, err := runIn(a.src, nil, a.hotfix, "verify", "-binary", a.armHost, "-policy", "policy.yaml", a.armPatch); err != nil {
		t.Fatalf("verify the arm64 patch for the arm64 host: %v\n%s", err, out)
	}

	dir := newWorkDir(t, "policy.yaml")
	t0 := time.Now()
	h := startHostVia(t, qemuArm64, a.armHost, dir)
	h.waitGreet("v0")
	t.Logf("arm64 host under qemu answers after %v", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	drop(t, dir, a.armPatch, "v1.so")
	h.waitGreet("v1")
	rec := h.waitRecord("patch applied", 1)
	t.Logf("drop to live %v under qemu (inspect %v open %v apply %v, stopped world %v ns)",
		time.Since(t0).Round(time.Millisecond), rec["inspect"], rec["open"], rec["apply"], rec["stopped_world"])
	t0 = time.Now()
	remove(t, dir, "v1.so")
	h.waitGreet("v0")
	h.waitRecord("patch reverted", 1)
	t.Logf("delete to reverted %v under qemu", time.Since(t0).Round(time.Millisecond))
	// The same fix linked against the release (hotfix build -slim).
	t0 = time.Now()
	drop(t, dir, a.armSlim, "v1-slim.so")
	h.waitGreet("v1")
	h.waitRecord("patch applied", 2)
	t.Logf("slim patch (%d bytes, whole %d): drop to live %v under qemu", fileSize(t, a.armSlim), fileSize(t, a.armPatch), time.Since(t0).Round(time.Millisecond))
	remove(t, dir, "v1-slim.so")
	h.waitGreet("v0")
	h.stop()
}

type arm64Fixture struct {
	hotfix, src        string
	armHost, amdHost   string
	armPatch, amdPatch string
	armSlim            string // the arm64 fix built with -slim
}

// buildArm64Fixture builds the CLI (for this machine), the test app for
// arm64 and for amd64 from one source, and the v1 fix of greet.Hello for
// each with `hotfix build -binary`, given no GOARCH or CC: the CLI takes
// them from the binary. The arm64 fix is found by comparing the release
// (committed in git) with the working tree.
func buildArm64Fixture(t *testing.T) *arm64Fixture {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	a := &arm64Fixture{hotfix: filepath.Join(root, "hotfix"), src: filepath.Join(root, "src"),
		armHost: filepath.Join(root, "host-arm64"), amdHost: filepath.Join(root, "host-amd64"),
		armPatch: filepath.Join(root, "v1-arm64.so"), amdPatch: filepath.Join(root, "v1-amd64.so"), armSlim: filepath.Join(root, "v1-arm64-slim.so")}
	must := func(what string, out string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out)
		}
	}
	out, err := runIn(repo, nil, "go", "build", "-o", a.hotfix, "./cmd/hotfix")
	must("build hotfix", out, err)
	must("copy hostapp", "", copyTree(filepath.Join(repo, "tests", "testdata", "hostapp"), a.src))
	must("go.mod", "", writeGoMod(a.src, repo))
	must("policy", "", copyFile(filepath.Join(repo, "tests", "testdata", "policy.yaml"), filepath.Join(a.src, "policy.yaml")))
	flags, err := runFlags(a.src, a.hotfix, "-policy", "policy.yaml")
	must("hotfix flags", flags, err)
	cross := []string{"GOARCH=arm64", "CGO_ENABLED=1", "CC=aarch64-linux-gnu-gcc"}
	for _, h := range []struct {
		bin string
		env []string
	}{{a.armHost, cross}, {a.amdHost, nil}} {
		out, err := runIn(a.src, h.env, "go", append(append([]string{"build"}, strings.Fields(flags)...), "-o", h.bin, ".")...)
		must("build "+filepath.Base(h.bin), out, err)
	}
	// The release's source in git, the fix in the working tree: the arm64
	// patch is found by comparing them (the analysis runs go commands for
	// arm64 too), the amd64 one is named with -func.
	fix := filepath.Join(root, "fix")
	must("copy source", "", copyTree(a.src, fix))
	gitRelease(t, fix)
	must("copy v1", "", copyTree(filepath.Join(repo, "tests", "testdata", "patches", "v1"), fix))
	for _, p := range [][]string{{a.armHost, a.armPatch, "-slim=false"}, {a.amdHost, a.amdPatch, "-slim=false", "-func", "example.com/hostapp/greet.Hello"}, {a.armHost, a.armSlim}} {
		t0 := time.Now()
		out, err := runIn(fix, nil, a.hotfix, append([]string{"build", "-binary", p[0], "-policy", "policy.yaml", "-version", "v1", "-o", p[1]}, p[2:]...)...)
		must("hotfix build -binary "+filepath.Base(p[0]), out, err)
		if p[1] == a.armSlim && !strings.Contains(out, "slim link: ") {
			t.Fatalf("hotfix build -slim for arm64 linked the plugin whole:\n%s", out)
		}
		t.Logf("hotfix build -binary %s %s: %v", filepath.Base(p[0]), strings.Join(p[2:], " "), time.Since(t0).Round(time.Millisecond))
	}
	return a
}

// runIn runs a command in dir with env added to this process's, and
// returns its combined output.
func runIn(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
