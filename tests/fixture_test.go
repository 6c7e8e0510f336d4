package tests

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/loader"
)

// fixture is what every end-to-end test shares, built once: the hotfix
// command, the host binaries and the patches. Building plugins costs
// seconds each even with a warm cache.
type fixture struct {
	root    string // work dir of the whole run
	repo    string // this repository
	hotfix  string // the CLI
	src     string // the host app module (base)
	host    string // host A
	hostB   string // same source, another build ID (-X main.variant=b)
	hostC   string // built with other -gcflags (otherflags.yaml)
	patches map[string]string
}

var (
	fx     *fixture
	fxErr  error
	fxOnce sync.Once
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fx != nil {
		os.RemoveAll(fx.root)
	}
	os.Exit(code)
}

// requireFixture builds the shared binaries on first use, or skips the
// test with the reason when this machine cannot build Go plugins.
func requireFixture(t testing.TB) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds real binaries and plugins (skipped with -short)")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("hotfix patches only linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("plugins need cgo and no gcc is installed")
	}
	fxOnce.Do(func() { fx, fxErr = buildFixture() })
	if fxErr != nil {
		t.Fatalf("build fixture: %v", fxErr)
	}
	return fx
}

func buildFixture() (*fixture, error) {
	repo, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "hotfix-e2e-")
	if err != nil {
		return nil, err
	}
	f := &fixture{root: root, repo: repo, patches: map[string]string{}}
	f.hotfix = filepath.Join(root, "bin", "hotfix")
	if _, err := run(repo, "go", "build", "-o", f.hotfix, "./cmd/hotfix"); err != nil {
		return nil, err
	}
	f.src = filepath.Join(root, "src", "base")
	if err := copyTree(filepath.Join(repo, "tests", "testdata", "hostapp"), f.src); err != nil {
		return nil, err
	}
	if err := writeGoMod(f.src, repo); err != nil {
		return nil, err
	}
	for _, p := range []string{"policy.yaml", "otherflags.yaml"} {
		if err := copyFile(filepath.Join(repo, "tests", "testdata", p), filepath.Join(f.src, p)); err != nil {
			return nil, err
		}
	}
	flags, err := f.flags("policy.yaml")
	if err != nil {
		return nil, err
	}
	f.host = filepath.Join(root, "bin", "host")
	if _, err := run(f.src, "go", append(append([]string{"build"}, flags...), "-o", f.host, ".")...); err != nil {
		return nil, err
	}
	f.hostB = filepath.Join(root, "bin", "hostB")
	bflags := replaceFlag(flags, "-ldflags=", "-ldflags=-checklinkname=0 -X main.variant=b")
	if _, err := run(f.src, "go", append(append([]string{"build"}, bflags...), "-o", f.hostB, ".")...); err != nil {
		return nil, err
	}
	cflags, err := f.flags("otherflags.yaml")
	if err != nil {
		return nil, err
	}
	f.hostC = filepath.Join(root, "bin", "hostC")
	if _, err := run(f.src, "go", append(append([]string{"build"}, cflags...), "-o", f.hostC, ".")...); err != nil {
		return nil, err
	}
	greet := "example.com/hostapp/greet.Hello"
	builds := []struct {
		name, variant, binary, policy, fn string
	}{
		{"v1", "v1", f.host, "policy.yaml", greet},
		{"v2", "v2", f.host, "policy.yaml", greet},
		{"v1-for-B", "v1", f.hostB, "policy.yaml", greet},
		{"v1-otherflags", "v1", f.hostC, "otherflags.yaml", greet},
	}
	for _, b := range builds {
		dir := filepath.Join(root, "src", b.name)
		if err := copyTree(f.src, dir); err != nil {
			return nil, err
		}
		if err := copyTree(filepath.Join(repo, "tests", "testdata", "patches", b.variant), dir); err != nil {
			return nil, err
		}
		out := filepath.Join(root, "patches", b.name+".so")
		if _, err := run(dir, f.hotfix, "build", "-binary", b.binary, "-policy", b.policy,
			"-version", b.name, "-o", out, "-func", b.fn); err != nil {
			return nil, err
		}
		f.patches[b.name] = out
	}
	if f.patches["evil"], err = f.buildEvil(); err != nil {
		return nil, err
	}
	return f, nil
}

// buildEvil builds a patch by hand, without `hotfix build`: a plugin main
// package that imports a package with an init function, and a manifest
// naming a function the host's policy denies.
func (f *fixture) buildEvil() (string, error) {
	dir := filepath.Join(f.root, "src", "evil")
	if err := copyTree(f.src, dir); err != nil {
		return "", err
	}
	if err := copyTree(filepath.Join(f.repo, "tests", "testdata", "patches", "evil"), dir); err != nil {
		return "", err
	}
	flags, err := f.flags("policy.yaml")
	if err != nil {
		return "", err
	}
	elfFile := filepath.Join(f.root, "evil.elf")
	args := append([]string{"build", "-buildmode=plugin"}, flags...)
	if _, err := run(dir, "go", append(args, "-o", elfFile, "./hotfix_patch_evil")...); err != nil {
		return "", err
	}
	elfBytes, err := os.ReadFile(elfFile)
	if err != nil {
		return "", err
	}
	host, err := loader.ReadBinary(f.host)
	if err != nil {
		return "", err
	}
	b, err := loader.Encode(elfBytes, loader.Manifest{
		ID: "evil-1", Version: "evil", Sequence: 1,
		PluginPath: "example.com/hostapp/hotfix_patch_evil", Anchor: "HotfixTargets",
		Targets:   []loader.Target{{Name: "example.com/hostapp/guard.Check"}},
		GoVersion: runtime.Version(), BuildFlags: flags,
		Host: loader.Host{BuildID: host.BuildID(), MainPath: host.BuildInfo().Path},
	}, nil)
	if err != nil {
		return "", err
	}
	out := filepath.Join(f.root, "patches", "evil.so")
	return out, os.WriteFile(out, b, 0o644)
}

func (f *fixture) flags(policy string) ([]string, error) {
	out, err := runFlags(f.src, f.hotfix, "-policy", policy)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

func replaceFlag(flags []string, prefix, with string) []string {
	out := append([]string(nil), flags...)
	for i, fl := range out {
		if strings.HasPrefix(fl, prefix) {
			out[i] = with
		}
	}
	return out
}

func writeGoMod(dir, repo string) error {
	mod := fmt.Sprintf("module example.com/hostapp\n\ngo 1.26.0\n\nrequire github.com/gohotfix/hotfix v0.0.0\n\nreplace github.com/gohotfix/hotfix => %s\n", repo)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(repo, "go.sum"), filepath.Join(dir, "go.sum")); err != nil {
		return err
	}
	_, err := run(dir, "go", "mod", "tidy")
	return err
}

// run runs a command to completion, with its output in the error.
func run(dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func copyTree(from, to string) error {
	return filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		return copyFile(p, dst)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	// 0644 whatever the umask: a group-writable patch is refused.
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(0o644); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runFlags runs `hotfix flags` as a shell's $(...) would: its standard
// output alone (warnings go to standard error), with both in the error.
func runFlags(dir, hotfix string, args ...string) (string, error) {
	cmd := exec.Command(hotfix, append([]string{"flags"}, args...)...)
	cmd.Dir = dir
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hotfix flags %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, out.String(), errs.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// outputHas fails t for each of wants that out lacks, its runs of spaces
// folded (the plan aligns its columns); what names the output.
func outputHas(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range wants {
		if !strings.Contains(words, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

// buildEdited runs hotfix build in src with the first old in file
// replaced by new and tail appended, then puts the file back.
func buildEdited(t *testing.T, f *fixture, src, host, file, old, new, tail string) (string, error) {
	t.Helper()
	fixed := readFile(file)
	edited := strings.Replace(string(fixed), old, new, 1)
	if edited == string(fixed) {
		t.Fatalf("%s has no %q to edit", file, old)
	}
	if err := os.WriteFile(file, []byte(edited+tail), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.WriteFile(file, fixed, 0o644); err != nil {
			t.Fatal(err)
		}
	}()
	return run(src, f.hotfix, "build", "-binary", host, "-o", filepath.Join(t.TempDir(), "edited.so"))
}
