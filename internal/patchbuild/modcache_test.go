package patchbuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleDir(t *testing.T) {
	tests := []struct{ rel, want string }{
		{"golang.org/x/image@v0.9.0/tiff/reader.go", "golang.org/x/image@v0.9.0"},
		{"github.com/!burnt!sushi/toml@v1.6.0/decode.go", "github.com/!burnt!sushi/toml@v1.6.0"},
		{"example.com/m@v1.0.0/go.mod", "example.com/m@v1.0.0"},
		{"cache/download/example.com/m/@v/v1.0.0.zip", ""},
		{"example.com/m/file.go", ""},
	}
	for _, tt := range tests {
		if got := moduleDir(tt.rel); got != tt.want {
			t.Errorf("moduleDir(%q) = %q, want %q", tt.rel, got, tt.want)
		}
	}
}

// TestModCacheShadow: the private cache links every entry of the real one
// except the module being patched, which is a writable copy, so the go
// command sees the same module tree with one file changed.
func TestModCacheShadow(t *testing.T) {
	real, shadow := t.TempDir(), filepath.Join(t.TempDir(), "modcache")
	for _, f := range []string{
		"golang.org/x/image@v0.9.0/tiff/reader.go",
		"golang.org/x/image@v0.10.0/tiff/reader.go",
		"golang.org/x/text@v0.3.0/doc.go",
		"github.com/a/b@v1.0.0/b.go",
		"cache/download/golang.org/x/image/@v/v0.9.0.ziphash",
	} {
		p := filepath.Join(real, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	mods := map[string]bool{"golang.org/x/image@v0.9.0": true}
	if err := mirror(real, shadow, ".", mods); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path    string
		linked  bool
		content string
	}{
		{"cache", true, ""},
		{"github.com", true, ""},
		{"golang.org", false, ""},
		{"golang.org/x", false, ""},
		{"golang.org/x/text@v0.3.0", true, ""},
		{"golang.org/x/image@v0.10.0", true, ""},
		{"golang.org/x/image@v0.9.0", false, ""},
		{"golang.org/x/image@v0.9.0/tiff/reader.go", false, "golang.org/x/image@v0.9.0/tiff/reader.go"},
		{"cache/download/golang.org/x/image/@v/v0.9.0.ziphash", false, "cache/download/golang.org/x/image/@v/v0.9.0.ziphash"},
	} {
		p := filepath.Join(shadow, tt.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if linked := fi.Mode()&os.ModeSymlink != 0; linked != tt.linked {
			t.Errorf("%s: symlink %v, want %v", tt.path, linked, tt.linked)
		}
		if tt.content != "" {
			if b, err := os.ReadFile(p); err != nil || string(b) != tt.content {
				t.Errorf("%s: %q, %v", tt.path, b, err)
			}
		}
	}
	copied := filepath.Join(shadow, "golang.org/x/image@v0.9.0/tiff/reader.go")
	if err := os.WriteFile(copied, []byte("patched"), 0o644); err != nil {
		t.Errorf("the copied module is not writable: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(real, "golang.org/x/image@v0.9.0/tiff/reader.go")); string(b) == "patched" {
		t.Error("writing the shadow changed the real module cache")
	}
}
