//go:build unix

package ledger

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// acquire takes an exclusive, non-blocking flock(2) on path. flock rather
// than fcntl locks: fcntl locks belong to the process, so a second Open in
// the same process would silently succeed, and closing any descriptor of the
// file would drop the lock.
func acquire(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	// A lock released by Close can stay held for a moment: a fork by any
	// goroutine of this process (os/exec) copies the descriptor into the
	// child until its exec closes it (O_CLOEXEC). So wait briefly before
	// calling the lock someone else's.
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == unix.EINTR {
			continue
		}
		if err != unix.EWOULDBLOCK || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		holder := holderOf(f)
		f.Close()
		return nil, fmt.Errorf("%w: %s is held by %s", ErrLocked, path, holder)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: flock %s: %w", path, err)
	}
	// The PID only makes the error above more useful; the lock is what
	// matters, so a failure to write it is not worth failing Open for.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// holderOf names the process that holds the lock on f as well as it can:
// between taking the lock and writing its PID, a holder leaves the file
// empty or still naming the previous holder.
func holderOf(f *os.File) string {
	b, _ := io.ReadAll(io.LimitReader(f, 32))
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		return "pid " + strconv.Itoa(pid)
	}
	return "another process"
}
