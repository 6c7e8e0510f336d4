//go:build !unix

package ledger

import (
	"errors"
	"os"
	"runtime"
)

// acquire fails: without flock there is no way to keep two writers apart,
// and a ledger two processes write is worse than none.
func acquire(path string) (*os.File, error) {
	return nil, errors.New("ledger: locking " + path + " is not supported on " + runtime.GOOS)
}
