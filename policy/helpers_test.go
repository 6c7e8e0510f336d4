package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// httpGraph is the part of a net/http service's import graph (Go 1.26)
// the cases need.
var httpGraph = Graph{
	"example.com/app":                        {"net/http", "crypto/tls"},
	"net/http":                               {"crypto/tls", "internal/godebug", "log", "net", "net/http/internal", "net/http/internal/ascii", "net/http/internal/httpcommon", "vendor/golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/idna"},
	"net/http/internal":                      nil,
	"net/http/internal/ascii":                nil,
	"net/http/internal/httpcommon":           {"vendor/golang.org/x/net/http/httpguts"},
	"vendor/golang.org/x/net/http/httpguts":  {"vendor/golang.org/x/net/idna"},
	"vendor/golang.org/x/net/idna":           {"vendor/golang.org/x/text/unicode/norm"},
	"vendor/golang.org/x/text/unicode/norm":  nil,
	"vendor/golang.org/x/net/dns/dnsmessage": nil,
	"net":                                    {"internal/poll", "vendor/golang.org/x/net/dns/dnsmessage"},
	"crypto/tls":                             {"crypto/internal/fips140/tls13", "crypto/tls/internal/fips140tls", "vendor/golang.org/x/crypto/cryptobyte"},
	"crypto/internal/fips140/tls13":          nil,
	"crypto/tls/internal/fips140tls":         nil,
	"vendor/golang.org/x/crypto/cryptobyte":  nil,
	"log":                                    {"log/internal"},
	"log/internal":                           nil,
	"internal/godebug":                       nil,
	"internal/poll":                          nil,
}

func TestStdHelpers(t *testing.T) {
	const minimal = "patch_dir: p\nstate_dir: s\ninlining: off\n"
	httpHelpers := []string{"net/http/internal", "net/http/internal/ascii", "net/http/internal/httpcommon", "vendor/golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/idna"}
	tests := []struct {
		name   string
		yaml   string
		want   []StdHelpers
		reason string
	}{
		{
			name:   "net/http alone",
			yaml:   minimal + "allow:\n  packages: [net/http]\n",
			want:   []StdHelpers{{Package: "net/http", Helpers: httpHelpers, Missing: httpHelpers}},
			reason: "its internal packages and the vendored x/net it imports; not crypto/tls, net or log (packages of their own), nor internal/... (everyone's), nor log/internal (log's)",
		},
		{
			name: "helpers allowed",
			yaml: minimal + "allow:\n  packages: [net/http, net/http/internal/..., vendor/golang.org/x/net/http/httpguts]\n",
			want: []StdHelpers{
				{Package: "net/http", Helpers: httpHelpers, Missing: []string{"vendor/golang.org/x/net/idna"}},
				{Package: "net/http/internal/httpcommon", Helpers: []string{"vendor/golang.org/x/net/http/httpguts"}},
				{Package: "vendor/golang.org/x/net/http/httpguts", Helpers: []string{"vendor/golang.org/x/net/idna"}, Missing: []string{"vendor/golang.org/x/net/idna"}},
			},
			reason: "an allowed helper is a standard package compiled with -l like any other: its own helpers are listed",
		},
		{
			name:   "by function",
			yaml:   minimal + "allow:\n  functions: [net/http.readRequest]\n",
			want:   []StdHelpers{{Package: "net/http", Helpers: httpHelpers, Missing: httpHelpers}},
			reason: "a functions entry compiles its package with -l too",
		},
		{
			name:   "denied helper",
			yaml:   minimal + "allow:\n  packages: [net/http]\ndeny:\n  packages: [vendor/golang.org/x/net/...]\n",
			want:   []StdHelpers{{Package: "net/http", Helpers: httpHelpers[:3], Missing: httpHelpers[:3]}},
			reason: "never suggest what deny.packages names",
		},
		{
			name:   "module package",
			yaml:   minimal + "allow:\n  packages: [example.com/app]\n",
			reason: "only standard packages have internal and vendored helpers under other import paths",
		},
		{
			name:   "crypto/tls",
			yaml:   minimal + "allow:\n  packages: [crypto/tls]\n",
			want:   []StdHelpers{{Package: "crypto/tls", Helpers: []string{"crypto/internal/fips140/tls13", "crypto/tls/internal/fips140tls", "vendor/golang.org/x/crypto/cryptobyte"}, Missing: []string{"crypto/internal/fips140/tls13", "crypto/tls/internal/fips140tls", "vendor/golang.org/x/crypto/cryptobyte"}}},
			reason: "internal packages of a parent tree (crypto/internal) count: crypto/tls's key schedule lives there",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.yaml), "hotfix.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.StdHelpers(httpGraph)); diff != "" {
				t.Errorf("StdHelpers (-want +got), %s:\n%s", tt.reason, diff)
			}
		})
	}
}

func TestSuggestPackages(t *testing.T) {
	go127 := Graph{
		"net/http":                              {"net/http/internal/http2", "vendor/golang.org/x/net/http/httpguts"},
		"net/http/internal/http2":               {"net/http/internal/httpcommon", "vendor/golang.org/x/net/http2/hpack"},
		"net/http/internal/httpcommon":          nil,
		"vendor/golang.org/x/net/http/httpguts": nil,
		"vendor/golang.org/x/net/http2/hpack":   nil,
	}
	tests := []struct {
		name   string
		of     string
		pkgs   []string
		g      Graph
		want   []string
		reason string
	}{
		{
			name:   "whole internal tree",
			of:     "net/http",
			pkgs:   []string{"net/http/internal", "net/http/internal/ascii", "net/http/internal/httpcommon"},
			g:      httpGraph,
			want:   []string{"net/http/internal/..."},
			reason: "every package of net/http/internal the module links is a helper: the tree costs nothing more and keeps covering what a later release adds",
		},
		{
			name:   "vendored module shared",
			of:     "net/http",
			pkgs:   []string{"vendor/golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/idna"},
			g:      httpGraph,
			want:   []string{"vendor/golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/idna"},
			reason: "vendor/golang.org/x/net also holds dnsmessage, linked for package net: one by one",
		},
		{
			name:   "tree linked through a helper",
			of:     "net/http",
			pkgs:   []string{"net/http/internal/http2"},
			g:      go127,
			want:   []string{"net/http/internal/..."},
			reason: "Go 1.27: httpcommon is linked only for net/http/internal/http2, inside the tree",
		},
		{
			name:   "vendored module linked only through helpers",
			of:     "net/http",
			pkgs:   []string{"vendor/golang.org/x/net/http/httpguts"},
			g:      go127,
			want:   []string{"vendor/golang.org/x/net/http/httpguts"},
			reason: "hpack is imported by net/http/internal/http2, outside vendor/golang.org/x/net and not net/http itself",
		},
		{
			name:   "parent's internal tree",
			of:     "crypto/tls",
			pkgs:   []string{"crypto/internal/fips140/tls13", "vendor/golang.org/x/crypto/cryptobyte"},
			g:      Graph{"crypto/tls": {"crypto/internal/fips140/tls13", "vendor/golang.org/x/crypto/cryptobyte"}, "crypto/internal/fips140/tls13": {"crypto/internal/fips140/hmac"}, "crypto/internal/fips140/hmac": nil, "crypto/sha256": {"crypto/internal/fips140/hmac"}, "vendor/golang.org/x/crypto/cryptobyte": nil},
			want:   []string{"crypto/internal/fips140/tls13", "vendor/golang.org/x/crypto/..."},
			reason: "crypto/internal/fips140/hmac is crypto/sha256's too: -l on crypto/internal/... would slow every hash",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SuggestPackages(tt.of, tt.pkgs, tt.g)); diff != "" {
				t.Errorf("SuggestPackages (-want +got), %s:\n%s", tt.reason, diff)
			}
		})
	}
}

// TestStdHelpersGoList: the helpers of net/http in the import graph the
// go command lists for a real module, under the Go release running the
// test (Go 1.26 and 1.27 both import net/http/internal/ascii and the
// vendored httpguts), and the suggestion covers net/http's internal tree.
func TestStdHelpersGoList(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/m\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"net/http\"\n\nfunc main() { http.ListenAndServe(\":0\", nil) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := ListGraph(context.Background(), dir)
	if err != nil {
		t.Fatalf("list the module's import graph: %v", err)
	}
	p, err := Parse([]byte("patch_dir: p\nstate_dir: s\ninlining: off\nallow:\n  packages: [net/http]\n"), "hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hs := p.StdHelpers(g)
	if len(hs) != 1 || hs[0].Package != "net/http" {
		t.Fatalf("StdHelpers: want net/http alone, got %+v", hs)
	}
	for _, want := range []string{"net/http/internal/ascii", "vendor/golang.org/x/net/http/httpguts"} {
		if !slices.Contains(hs[0].Missing, want) {
			t.Errorf("net/http's missing helpers %q lack %s", hs[0].Missing, want)
		}
	}
	sug := SuggestPackages(hs[0].Package, hs[0].Missing, g)
	if !slices.Contains(sug, "net/http/internal/...") || slices.Contains(sug, "vendor/golang.org/x/net/...") {
		t.Errorf("SuggestPackages: want net/http/internal/... and x/net's packages one by one (dnsmessage is net's), got %q", sug)
	}
	if none := p.Unbuilt(g); len(none) != 0 {
		t.Errorf("Unbuilt: net/http is built, got %q", none)
	}
}

func TestHelperTree(t *testing.T) {
	tests := []struct {
		pkg    string
		helper bool
		tree   string
		reason string
	}{
		{"net/http/internal/ascii", true, "net/http/internal", "internal below net/http: net/http's own"},
		{"net/http/internal", true, "net/http/internal", "the internal package itself"},
		{"crypto/internal/fips140/tls13", true, "crypto/internal", "internal to a parent tree: crypto/tls imports it"},
		{"vendor/golang.org/x/net/http/httpguts", true, "vendor/golang.org/x/net", "vendored: the tree is the vendored module"},
		{"vendor/golang.org/x/crypto/internal/poly1305", true, "vendor/golang.org/x/crypto", "vendored first, internal second"},
		{"internal/godebug", false, "", "top-level internal/...: every package's, nobody's helper"},
		{"net/http/httptrace", false, "", "a package of its own, named for its own sake"},
		{"golang.org/x/net/internal/socks", false, "", "a module's package: not standard"},
	}
	for _, tt := range tests {
		if got := IsHelper(tt.pkg); got != tt.helper {
			t.Errorf("IsHelper(%q) = %v, want %v: %s", tt.pkg, got, tt.helper, tt.reason)
		}
		if !tt.helper {
			continue
		}
		if got := helperTree(tt.pkg); got != tt.tree {
			t.Errorf("helperTree(%q) = %q, want %q: %s", tt.pkg, got, tt.tree, tt.reason)
		}
	}
}
