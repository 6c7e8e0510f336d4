package patchbuild

import "testing"

func TestImportable(t *testing.T) {
	tests := []struct {
		from, pkg string
		want      bool
	}{
		{"example.com/host/hotfix_patch_x", "github.com/jackc/pgx/v4", true},
		{"example.com/host/hotfix_patch_x", "github.com/jackc/pgx/v4/internal/sanitize", false},
		{"github.com/jackc/pgx/v4/hotfix_patch_x", "github.com/jackc/pgx/v4/internal/sanitize", true},
		{"example.com/host/hotfix_patch_x", "example.com/host/internal/db", true},
		{"example.com/host", "example.com/host/internal", true},
		{"example.com/other", "example.com/host/internal", false},
		{"example.com/host/x", "example.com/host/internal/a/internal/b", false},
		{"example.com/host/internal/a/y", "example.com/host/internal/a/internal/b", true},
		// The standard library: its internal packages, and its vendored
		// ones, which only it may import ("use of vendored package not
		// allowed").
		{"example.com/host/hotfix_patch_x", "net/textproto", true},
		{"example.com/host/hotfix_patch_x", "internal/godebug", false},
		{"example.com/host/hotfix_patch_x", "vendor/golang.org/x/net/http/httpguts", false},
		{"net/http", "vendor/golang.org/x/net/http/httpguts", true},
	}
	for _, tt := range tests {
		if got := importable(tt.from, tt.pkg); got != tt.want {
			t.Errorf("importable(%q, %q) = %v, want %v", tt.from, tt.pkg, got, tt.want)
		}
	}
}

func TestImporterFor(t *testing.T) {
	imports := map[string][]string{
		"example.com/host":                      {"github.com/jackc/pgx/v4", "fmt"},
		"github.com/jackc/pgx/v4":               {"github.com/jackc/pgx/v4/internal/sanitize", "github.com/jackc/pgx/v4/internal/x"},
		"github.com/jackc/pgx/v4/internal/x":    {"github.com/jackc/pgx/v4/internal/deep"},
		"github.com/jackc/pgx/v4/stdlib":        {"github.com/jackc/pgx/v4"},
		"github.com/jackc/pgx/v4/internal/deep": nil,
		"net/http":                              {"vendor/golang.org/x/net/http/httpguts", "internal/godebug"},
	}
	from := "example.com/host/hotfix_patch_x"
	for pkg, want := range map[string]string{
		"github.com/jackc/pgx/v4":                     "github.com/jackc/pgx/v4",
		"github.com/jackc/pgx/v4/internal/sanitize":   "github.com/jackc/pgx/v4",
		"github.com/jackc/pgx/v4/internal/deep":       "github.com/jackc/pgx/v4",
		"github.com/other/internal/nobody-imports-it": "",
		"vendor/golang.org/x/net/http/httpguts":       "net/http",
		"internal/godebug":                            "net/http",
	} {
		if got := importerFor(from, pkg, imports); got != want {
			t.Errorf("importerFor(%q) = %q, want %q", pkg, got, want)
		}
	}
}
