//go:build !(linux && amd64)

package patcher

import "time"

func readCode(uintptr) []byte { return make([]byte, 32) }
func isJump([]byte) bool      { return false }

type trampolines struct{}

func (t *trampolines) get(from, to uintptr) (uintptr, error) { return 0, ErrNotSupported }

func commit(ws []write) (time.Duration, error, error) { return 0, nil, ErrNotSupported }
