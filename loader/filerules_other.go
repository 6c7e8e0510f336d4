//go:build !linux

package loader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadPatch is implemented on Linux only: the file rules need openat,
// O_NOFOLLOW and fstat's owner and link count.
func ReadPatch(dir, name string, r ReadOptions) (*File, error) {
	return nil, errorf(ErrFileRule, "file rules are implemented on Linux only")
}

func openNoBlock(path string, nofollow bool) (*os.File, error) { return os.Open(path) }

func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

func writePrivate(dir, name string, r io.Reader) (string, error) {
	tmp, err := os.CreateTemp(dir, stagePrefix+"*")
	if err != nil {
		return "", err
	}
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write: %w", err)
	}
	return renamePrivate(tmp, filepath.Join(dir, name))
}

func renamePrivate(f *os.File, final string) (string, error) {
	if err := os.Rename(f.Name(), final); err != nil {
		return "", errors.Join(err, os.Remove(f.Name()))
	}
	return final, nil
}
