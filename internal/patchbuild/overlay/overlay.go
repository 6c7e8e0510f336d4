// Package overlay writes the go command's -overlay file: source files
// that stand in for others, or their absence, without touching the
// files themselves (a working tree, the module cache, a Go root).
package overlay

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write writes each of files (absolute path -> source; nil: the file is
// gone) under dir/overlay and, as dir/overlay.json, the overlay that puts
// them in place, and returns that file's path.
func Write(dir string, files map[string][]byte) (string, error) {
	repl := map[string]string{}
	i := 0
	for path, src := range files {
		if src == nil {
			repl[path] = "" // the go command's overlay: the file is gone
			continue
		}
		i++
		f := filepath.Join(dir, "overlay", fmt.Sprintf("%d-%s", i, filepath.Base(path)))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(f, src, 0o644); err != nil {
			return "", err
		}
		repl[path] = f
	}
	b, err := json.Marshal(map[string]any{"Replace": repl})
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "overlay.json")
	return file, os.WriteFile(file, b, 0o644)
}
