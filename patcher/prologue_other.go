//go:build !amd64 && !arm64

package patcher

import "github.com/gohotfix/hotfix/patcher/prologue"

func planFor(prologue.Func) (prologue.Plan, error) { return prologue.Plan{}, ErrNotSupported }

func jumpCode(orig [8]byte, from, tramp uintptr) ([8]byte, error) { return orig, ErrNotSupported }
