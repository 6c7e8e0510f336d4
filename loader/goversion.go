package loader

import (
	"go/version"
	"slices"
	"strings"
)

// SupportedGo lists the Go releases hotfix is tested on: CI runs the whole
// suite under each. What differs between them lives behind the doors in
// patcher/internal/stw (runtime offsets) and this package (symbol names),
// each fact pinned by a test that runs on every release listed here.
var SupportedGo = []string{"go1.26", "go1.27"}

// GoSupported refuses a binary built by a Go release hotfix was not
// tested on: an older one, or a newer one whose runtime or linker may have
// changed what hotfix relies on. v is a toolchain version ("go1.26.8").
func GoSupported(v string) error {
	if slices.Contains(SupportedGo, version.Lang(v)) {
		return nil
	}
	return errorf(ErrIncompatible, "built by %s; hotfix supports %s only", v, strings.Join(SupportedGo, " and "))
}
