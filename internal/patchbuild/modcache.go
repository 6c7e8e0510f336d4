package patchbuild

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The go command refuses an overlay for a file of the module cache ("Files
// beneath GOMODCACHE must not be replaced"), and a dependency's fix (a
// go.mod version bump) changes exactly such files. The patch is then built
// with a private module cache: links to the real one everywhere, except the
// modules whose files change, which are copies with the patched files
// written in place. With -trimpath a module's files are named
// module@version/file wherever the cache is, so every package keeps its
// fingerprint (TestModCacheShadow, and tests/deps_test.go end to end).

// shadowModCache moves the files under the module cache out of files into
// a private cache under tmp, and returns the rest (for the overlay) and
// the environment that points the go command at that cache (nil when no
// file is in the module cache).
func shadowModCache(tmp string, files map[string][]byte) (map[string][]byte, []string, error) {
	real := modCache()
	if real == "" {
		return files, nil, nil
	}
	rest := map[string][]byte{}
	cached := map[string][]byte{} // relative to the cache -> source
	mods := map[string]bool{}     // module directories to copy, relative
	for path, src := range files {
		r, err := filepath.Rel(real, path)
		mod := moduleDir(r)
		if err != nil || strings.HasPrefix(r, "..") || mod == "" {
			rest[path] = src
			continue
		}
		cached[r], mods[mod] = src, true
	}
	if len(cached) == 0 {
		return files, nil, nil
	}
	shadow := filepath.Join(tmp, "modcache")
	if err := mirror(real, shadow, ".", mods); err != nil {
		return nil, nil, err
	}
	for r, src := range cached {
		if src == nil {
			if err := os.Remove(filepath.Join(shadow, r)); err != nil && !os.IsNotExist(err) {
				return nil, nil, err
			}
			continue
		}
		if err := os.WriteFile(filepath.Join(shadow, r), src, 0o644); err != nil {
			return nil, nil, err
		}
	}
	return rest, shadowEnv(tmp), nil
}

// shadowEnv is the environment for a go command that must see the patched
// dependencies shadowModCache wrote under tmp, if it wrote any, and the
// private Go root privateRoot made there, if it made one (goroot.go).
func shadowEnv(tmp string) []string {
	var env []string
	if shadow := filepath.Join(tmp, "modcache"); exists(shadow) {
		env = append(env, "GOMODCACHE="+shadow)
	}
	if root := privateRootDir(tmp); exists(root) {
		env = append(env, goRootEnv(root)...)
	}
	return env
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// moduleDir returns the module directory of a path relative to the module
// cache ("golang.org/x/image@v0.9.0" for
// "golang.org/x/image@v0.9.0/tiff/reader.go"), or "" if it is in none.
func moduleDir(rel string) string {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts[:len(parts)-1] {
		if strings.Contains(p, "@") {
			return strings.Join(parts[:i+1], "/")
		}
		if i == 0 && p == "cache" {
			return ""
		}
	}
	return ""
}

// mirror makes shadow/rel a directory whose entries link to real/rel's,
// except those on the way to a module to copy (mirrored in turn) and the
// modules themselves (copied, writable).
func mirror(real, shadow, rel string, mods map[string]bool) error {
	if err := os.MkdirAll(filepath.Join(shadow, rel), 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(real, rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := filepath.ToSlash(filepath.Join(rel, e.Name()))
		switch {
		case mods[child]:
			err = copyTree(filepath.Join(real, child), filepath.Join(shadow, child))
		case onTheWay(child, mods):
			err = mirror(real, shadow, child, mods)
		default:
			err = os.Symlink(filepath.Join(real, child), filepath.Join(shadow, child))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func onTheWay(dir string, mods map[string]bool) bool {
	for m := range mods {
		if strings.HasPrefix(m, dir+"/") {
			return true
		}
	}
	return false
}

// copyTree copies a directory of the module cache (read-only files) into
// a writable one.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, r)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
