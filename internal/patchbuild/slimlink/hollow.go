package slimlink

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// emptyArchive compiles an empty package with the flags of a plugin's
// packages, by the compiler beside the linker tool.
func emptyArchive(tool, dir string) ([]byte, error) {
	src := filepath.Join(dir, "hollow.go")
	out := filepath.Join(dir, "hollow.a")
	if err := os.WriteFile(src, []byte("package hollow\n"), 0o644); err != nil {
		return nil, err
	}
	compile := filepath.Join(filepath.Dir(tool), "compile")
	cmd := exec.Command(compile, "-p", "hotfix/hollow", "-complete", "-dynlink", "-linkshared", "-pack", "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slim link: compiling the hollow package: %v\n%s", err, b)
	}
	return os.ReadFile(out)
}

// hollowConfig writes into dir a copy of the linker's import config cfg
// where every package that carried does not hold is the empty archive,
// given the fingerprint its importers expect (the real archive's). It
// returns the new config's path and the packages made hollow.
func hollowConfig(cfg string, carried func(pkg string) bool, empty []byte, dir string) (string, []string, error) {
	in, err := os.ReadFile(cfg)
	if err != nil {
		return "", nil, err
	}
	var out bytes.Buffer
	var hollow []string
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pkg, file, ok := packageFile(line)
		if !ok || carried(pkg) {
			fmt.Fprintln(&out, line)
			continue
		}
		path, err := hollowArchive(pkg, file, empty, dir, len(hollow))
		if err != nil {
			return "", nil, fmt.Errorf("slim link: %s: %v", pkg, err)
		}
		fmt.Fprintf(&out, "packagefile %s=%s\n", pkg, path)
		hollow = append(hollow, pkg)
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "importcfg.slim")
	return path, hollow, os.WriteFile(path, out.Bytes(), 0o644)
}

func packageFile(line string) (pkg, file string, ok bool) {
	rest, ok := strings.CutPrefix(line, "packagefile ")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "=")
}

func hollowArchive(pkg, file string, empty []byte, dir string, i int) (string, error) {
	fp, err := fileFingerprint(file)
	if err != nil {
		return "", err
	}
	b, err := withFingerprint(empty, fp)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("hollow%d.a", i))
	return path, os.WriteFile(path, b, 0o644)
}
