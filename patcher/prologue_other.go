//go:build !amd64

package patcher

func checkPrologue([]byte) (string, error) { return "", ErrNotSupported }

func jumpCode(orig [8]byte, from, tramp uintptr) ([8]byte, error) { return orig, ErrNotSupported }
