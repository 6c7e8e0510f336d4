//go:build !(linux && (amd64 || arm64))

package patcher

func readCode(_ uintptr, n int) []byte { return make([]byte, n) }
func guardReady() error                { return ErrNotSupported }
func isJump([]byte) bool               { return false }

type trampolines struct{}

func (t *trampolines) get(from, to uintptr) (uintptr, error) { return 0, ErrNotSupported }

func commit(ws []write) (pauseTimes, int, error, error) {
	return pauseTimes{}, -1, nil, ErrNotSupported
}
func jumpTarget(uintptr) uintptr { return 0 }
