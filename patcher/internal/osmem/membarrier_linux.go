package osmem

import (
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// membarrier(2) commands (include/uapi/linux/membarrier.h); x/sys/unix
// does not name them.
const (
	membarrierPrivateExpeditedSyncCore         = 1 << 5
	membarrierRegisterPrivateExpeditedSyncCore = 1 << 6
)

var syncCores struct {
	once sync.Once
	err  error
}

// RegisterSyncCores registers the process for SyncCores, once; later calls
// return the first call's result. It fails on kernels before 4.16, or
// where a seccomp filter denies membarrier(2). Safe for concurrent use.
func RegisterSyncCores() error {
	syncCores.once.Do(func() {
		_, _, e := unix.RawSyscall(unix.SYS_MEMBARRIER, membarrierRegisterPrivateExpeditedSyncCore, 0, 0)
		if e != 0 {
			syncCores.err = fmt.Errorf("membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE): %w", e)
		}
	})
	return syncCores.err
}

// SyncCores makes every other thread of the process execute a context
// synchronization event before it next runs user code
// (MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE): the kernel interrupts the
// cores running one, and a thread not running gets one when it is
// scheduled. The process must be registered (RegisterSyncCores). It does
// not allocate or lock, and enters the kernel by a raw system call that
// the scheduler does not see (no entersyscall: the P stays with the
// caller), so it may run with the world stopped.
//
//go:nosplit
func SyncCores() syscall.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_MEMBARRIER, membarrierPrivateExpeditedSyncCore, 0, 0)
	return e
}
