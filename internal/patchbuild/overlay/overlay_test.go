package overlay

import (
	"encoding/json"
	"os"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	file, err := Write(dir, map[string][]byte{"/src/a.go": []byte("package a\n"), "/src/gone.go": nil})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ Replace map[string]string }
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Replace) != 2 || o.Replace["/src/gone.go"] != "" {
		t.Fatalf("overlay %s: want a.go replaced and gone.go removed", b)
	}
	src, err := os.ReadFile(o.Replace["/src/a.go"])
	if err != nil || string(src) != "package a\n" {
		t.Errorf("a.go stands in as %q (%v)", src, err)
	}
}
