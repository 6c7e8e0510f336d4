//go:build linux

// Package osmem is the one door from the patcher to the kernel's memory
// calls: page protection and mappings near the text of the binary.
package osmem

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageSize is the size of a memory page on this machine.
var PageSize = uintptr(os.Getpagesize())

// Pointer turns an address of code or of a mapping outside the Go heap into
// a pointer. The addresses handled here are never Go heap memory, so the
// garbage collector neither moves nor frees them.
func Pointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// Bytes returns n bytes of memory at addr.
//
// noinline: with it inlined, Go 1.26.8's compiler crashes ("disjointTypes:
// one of arguments is not a pointer") on a fixed-size copy from the result.
//
//go:noinline
func Bytes(addr uintptr, n int) []byte {
	return unsafe.Slice((*byte)(Pointer(addr)), n)
}

// PageOf returns the start of the page that holds addr.
func PageOf(addr uintptr) uintptr { return addr &^ (PageSize - 1) }

func protect(page uintptr, prot int) error {
	return unix.Mprotect(Bytes(page, int(PageSize)), prot)
}

// MakeWritable makes a text page writable while it stays executable (other
// goroutines run code on it) and writes one of its words back unchanged, so
// the copy-on-write fault of a private file mapping happens now and not in
// the stopped world.
func MakeWritable(page uintptr) error {
	if err := protect(page, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		return fmt.Errorf("mprotect %#x rwx: %w", page, err)
	}
	atomic.AddUint32((*uint32)(Pointer(page)), 0)
	return nil
}

// MakeExecutable restores the read+execute protection of a text or
// trampoline page.
func MakeExecutable(page uintptr) error {
	if err := protect(page, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		return fmt.Errorf("mprotect %#x r-x: %w", page, err)
	}
	return nil
}

// ErrNoRoom means no free page could be mapped within reach of an address.
var ErrNoRoom = errors.New("no free page within reach")

// MapNear maps one read+write anonymous page within maxDist bytes of addr.
// The caller fills it and then calls MakeExecutable: the page is never
// writable and executable at the same time.
func MapNear(addr uintptr, maxDist uintptr) (uintptr, error) {
	const step = 1 << 20
	base := PageOf(addr)
	for d := uintptr(step); d < maxDist-step; d += step {
		for _, hint := range [2]uintptr{base - d, base + d} {
			if hint < 1<<20 || (hint > base && hint-base >= maxDist) || (hint < base && base-hint >= maxDist) {
				continue
			}
			p, err := mmapFixedNoReplace(hint)
			if err == nil {
				return p, nil
			}
			if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOMEM) && !errors.Is(err, errMovedHint) {
				return 0, fmt.Errorf("mmap near %#x: %w", addr, err)
			}
		}
	}
	return 0, fmt.Errorf("%w of %#x", ErrNoRoom, addr)
}

var errMovedHint = errors.New("kernel placed the mapping elsewhere")

func mmapFixedNoReplace(hint uintptr) (uintptr, error) {
	r, _, errno := unix.Syscall6(unix.SYS_MMAP, hint, PageSize,
		unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE, ^uintptr(0), 0)
	if errno != 0 {
		return 0, errno
	}
	if r != hint {
		// Kernels before 4.17 take MAP_FIXED_NOREPLACE as a mere hint.
		unix.Syscall(unix.SYS_MUNMAP, r, PageSize, 0)
		return 0, errMovedHint
	}
	return r, nil
}
