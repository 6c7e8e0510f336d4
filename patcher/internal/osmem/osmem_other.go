//go:build !linux

package osmem

import (
	"errors"
	"os"
	"unsafe"
)

var PageSize = uintptr(os.Getpagesize())

var errNotSupported = errors.New("osmem: not supported on this platform")

func Pointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
func Bytes(addr uintptr, n int) []byte          { return unsafe.Slice((*byte)(Pointer(addr)), n) }
func PageOf(addr uintptr) uintptr               { return addr &^ (PageSize - 1) }
func MakeWritable(uintptr) error                { return errNotSupported }
func MakeExecutable(uintptr) error              { return errNotSupported }
func MapNear(uintptr, uintptr) (uintptr, error) { return 0, errNotSupported }

var ErrNoRoom = errors.New("no free page within reach")
