//go:build !linux

package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ReadPatch is implemented on Linux only: the file rules need openat,
// O_NOFOLLOW and fstat's owner and link count.
func ReadPatch(dir, name string, r Rules) (*File, error) {
	return nil, errorf(ErrFileRule, "file rules are implemented on Linux only")
}

func openNoBlock(path string, nofollow bool) (*os.File, error) { return os.Open(path) }

func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

func writePrivate(dir, name string, b []byte) (string, error) {
	final := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, ".open-*")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return final, nil
}
