package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsStdHelpers: a policy allowing net/http gets, on standard
// error, the allow entries for the internal and vendored packages a fix
// to it may span; standard output stays the flags alone, for $(hotfix
// flags), which under inlining: keep (the default) do not depend on the
// allowed packages.
func TestFlagsStdHelpers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.com/m\n\ngo 1.26\n",
		"main.go":     "package main\n\nimport \"net/http\"\n\nfunc main() { http.ListenAndServe(\":0\", nil) }\n",
		"hotfix.yaml": "patch_dir: p\nstate_dir: s\nallow:\n  packages: [net/http]\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	const flags = "-trimpath -tags=hotfix -ldflags=-checklinkname=0\n"
	code, out, errs := hotfix(t, "flags")
	if code != 0 || out != flags || !strings.Contains(errs, "note: a fix to net/http may also change packages it imports that hotfix.yaml does not allow: net/http/internal/..., ") {
		t.Errorf("hotfix flags: exit %d\nstdout: %q\nstderr: %s", code, out, errs)
	}
	code, out, errs = hotfix(t, "flags", "-explain")
	listed := false
	for _, l := range strings.Split(errs, "\n") {
		listed = listed || strings.Join(strings.Fields(l), " ") == "vendor/golang.org/x/net/http/httpguts not allowed"
	}
	if code != 0 || out != flags || !listed || !strings.Contains(errs, "    - net/http/internal/...\n") {
		t.Errorf("hotfix flags -explain: exit %d\nstdout: %q\nstderr: %s", code, out, errs)
	}
}

// TestVerifyCoverageInlined: coverage names the allowed functions that
// other functions of the binary inlined, here in this test binary, built
// without the policy's -l on the standard package encoding/json.
func TestVerifyCoverageInlined(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "hotfix.yaml")
	yaml := "patch_dir: " + filepath.Join(dir, "patches") + "\nstate_dir: " + filepath.Join(dir, "state") + "\nallow:\n  packages: [encoding/json]\n"
	if err := os.WriteFile(pol, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := hotfix(t, "verify", "-binary", self, "-policy", pol)
	if strings.Contains(errs, "no symbol table") {
		t.Skip("test binary linked without a symbol table")
	}
	var inlined int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "not patchable: ") {
			fmt.Sscanf(l, "not patchable: %d inlined", &inlined)
		}
	}
	if code != 0 || inlined == 0 || !strings.Contains(out, "INLINED ELSEWHERE") || !strings.Contains(out, "\ninlined elsewhere: admit: target inlined: encoding/json.") {
		t.Errorf("hotfix verify -binary (a build without -l on the allowed package): exit %d, %d inlined\nstdout: %s\nstderr: %s", code, inlined, out, errs)
	}
}
