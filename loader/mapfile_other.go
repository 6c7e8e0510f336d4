//go:build !linux

package loader

import "os"

// mapSection reads size bytes of the file at path from offset off.
func mapSection(path string, off, size uint64) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(off)); err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
