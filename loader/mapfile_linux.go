package loader

import (
	"os"
	"syscall"
)

// mapSection maps size bytes of the file at path from offset off,
// read-only, and returns them with the function that unmaps them. The
// inline trees are read from .gopclntab in place, from the page cache:
// it is megabytes, walked once, and a copy would cost more than the walk
// (BenchmarkInlined). Reading a mapped file that another process
// truncated faults: callers read it under debug.SetPanicOnFault.
func mapSection(path string, off, size uint64) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	pg := uint64(os.Getpagesize())
	start := off &^ (pg - 1)
	data, err := syscall.Mmap(int(f.Fd()), int64(start), int(off-start+size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	return data[off-start:], func() { syscall.Munmap(data) }, nil
}
