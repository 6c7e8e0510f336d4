package patchbuild

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// TestCoverageInlined: a function counts as patchable only if every
// function of the binary that holds an inlined copy of it would be
// replaced with it, the admission pipeline's "inlined" step. Under
// inlining: off, none is: a host built with the policy's flags (-l on the
// allowed packages) has no copies in them, the same host built without
// has them in a module package and in a standard one, among them a
// function inlined everywhere, which has no symbol and still counts.
// Under inlining: keep (a default build) a patch replaces the holders the
// policy allows: all of them when it allows main too, which holds
// lib.Small, and lib.Small is then patchable through its callers.
func TestCoverageInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary twice")
	}
	parse := func(yaml string) *policy.Policy {
		pol, err := policy.Parse([]byte("patch_dir: p\nstate_dir: s\n"+yaml), "hotfix.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return pol
	}
	off := parse("inlining: off\nallow:\n  packages: [example.com/cov/lib, net/url]\n")
	keep := parse("allow:\n  packages: [example.com/cov/lib, net/url, main]\n")
	keepNoMain := parse("allow:\n  packages: [example.com/cov/lib, net/url]\n")
	for _, tt := range []struct {
		name    string
		pol     *policy.Policy
		flags   []string
		inlined bool
	}{
		{"default build, inlining off", off, nil, true},
		{"hotfix flags, inlining off", off, off.BuildFlags(), false},
		{"default build, inlining kept", keep, keep.BuildFlags(), false},
		{"default build, inlining kept, main not allowed", keepNoMain, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.pol
			c, err := MeasureCoverage(coverageHost(t, tt.flags), pol)
			if err != nil {
				t.Fatalf("measure coverage: %v", err)
			}
			for _, pkg := range []string{"example.com/cov/lib", "net/url"} {
				i := slices.IndexFunc(c.Packages, func(p PackageCoverage) bool { return p.Path == pkg })
				if i < 0 {
					t.Fatalf("no package %s in %+v", pkg, c.Packages)
				}
				pc := c.Packages[i]
				t.Logf("%s: %d/%d patchable, %d inlined elsewhere", pkg, pc.Patchable, pc.Functions, len(pc.Inlined))
				if got := len(pc.Inlined) > 0; got != tt.inlined {
					t.Errorf("%s: inlined elsewhere %v, want %v: %+v", pkg, got, tt.inlined, pc.Inlined)
				}
				if pc.Patchable+len(pc.Inlined)+len(pc.Refused) != pc.Functions {
					t.Errorf("%s: %d patchable + %d inlined + %d refused != %d functions", pkg, pc.Patchable, len(pc.Inlined), len(pc.Refused), pc.Functions)
				}
				if pkg != "example.com/cov/lib" {
					continue
				}
				small := slices.ContainsFunc(pc.Inlined, func(f Finding) bool {
					return f.Object == "example.com/cov/lib.Small" && strings.Contains(f.Detail, "inlined into main.main")
				})
				if small != tt.inlined {
					t.Errorf("lib.Small (inlined everywhere without -l) among the inlined: %v, want %v: %+v", small, tt.inlined, pc.Inlined)
				}
				if !tt.inlined && pc.Patchable != pc.Functions {
					t.Errorf("%s: %d of %d patchable, want all", pkg, pc.Patchable, pc.Functions)
				}
			}
		})
	}
}

// coverageHost builds a host calling a small function of its own module
// and of net/url, with flags.
func coverageHost(t *testing.T, flags []string) *loader.Binary {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":     "module example.com/cov\n\ngo 1.26\n",
		"main.go":    "package main\n\nimport (\n\t\"fmt\"\n\t\"net/url\"\n\t\"os\"\n\n\t\"example.com/cov/lib\"\n)\n\nfunc main() {\n\tu, err := url.Parse(os.Args[0])\n\tfmt.Println(lib.Small(len(os.Args)), u, err, url.PathEscape(os.Args[0]))\n}\n",
		"lib/lib.go": "package lib\n\n// Small is inlined into every caller unless lib is built with -l.\nfunc Small(x int) int { return x*3 + 1 }\n",
	})
	host := filepath.Join(dir, "host")
	// -tags and -ldflags of the policy's flags are the patcher's door,
	// which a host without the hotfix module does not have: harmless.
	if out, err := runAll(context.Background(), dir, nil, append(append([]string{"build"}, flags...), "-o", host, ".")...); err != nil {
		t.Fatalf("build the host: %v\n%s", err, out)
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
