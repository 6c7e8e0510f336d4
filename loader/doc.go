// Package loader reads patch files and the running binary, decides whether a
// patch fits this exact process, and opens it with the plugin package.
//
// Inspect is pure: it reads bytes (ELF headers, symbol tables, build info,
// the manifest and signature trailer) and runs none of them. Open is the only
// function that runs code from a patch, and it opens a private copy of
// exactly the bytes Inspect verified.
package loader

import (
	"errors"
	"fmt"
)

var (
	// ErrFormat means the file is not a hotfix patch: not a complete ELF
	// shared object with a manifest trailer.
	ErrFormat = errors.New("loader: not a hotfix patch")
	// ErrHost means a binary is not one hotfix can patch: not a Go
	// executable, or without the symbol table it reads.
	ErrHost = errors.New("loader: not a binary hotfix can patch")
	// ErrSignature means the signature does not verify.
	ErrSignature = errors.New("loader: bad signature")
	// ErrIncompatible means the patch was built for another binary, Go
	// version, module graph or set of build flags.
	ErrIncompatible = errors.New("loader: incompatible with this binary")
	// ErrSymbol means a target function is missing from the patch or from
	// this binary.
	ErrSymbol = errors.New("loader: missing symbol")
	// ErrFileRule means the file itself is not acceptable (type, size).
	ErrFileRule = errors.New("loader: file refused")
	// ErrOpen means plugin.Open or symbol resolution failed.
	ErrOpen = errors.New("loader: open failed")
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
