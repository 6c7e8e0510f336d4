package patcher

// The arm64 half of the Linux engine: the jump, where it reaches, and the
// store that installs it with the cache maintenance that makes it visible
// to instruction fetch (engine_linux.go holds the rest).

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/gohotfix/hotfix/patcher/internal/osmem"
)

func isJump(code []byte) bool { return binary.LittleEndian.Uint32(code)&^imm26 == opB }

// jumpTarget follows the B at from through its trampoline and returns
// where a call of from now goes, or 0 if the entry is not a branch to one
// of our trampolines.
func jumpTarget(from uintptr) uintptr {
	code := readCode(from, jumpLen)
	if !isJump(code) {
		return 0
	}
	rel := int64(int32(binary.LittleEndian.Uint32(code)<<6)>>6) * 4 // imm26, sign-extended
	return trampolineTarget(readCode(uintptr(int64(from)+rel), trampolineLen))
}

func reach(from, tramp uintptr) bool {
	d := int64(tramp) - int64(from)
	return d <= maxReach && d >= -maxReach
}

// store writes the 8 bytes at addr as two aligned 4-byte words (Go aligns
// functions to 16 bytes on arm64), the second only if it changes (it never
// does: jumpCode keeps it), so the instruction after the entry is never
// rewritten. Then it makes the new instruction visible to instruction
// fetch (Arm ARM, "Concurrent modification and execution of instructions"
// and "Cache maintenance instructions"): syncCode cleans the data cache to
// the point of unification (DC CVAU), waits (DSB ISH), invalidates the
// instruction cache for those lines in the inner-shareable domain, which
// is every core (IC IVAU), waits for that on every core (DSB ISH), and
// discards what this core had fetched already (ISB).
//
// Every other core must also discard instructions it fetched before, by a
// context synchronization event, before it runs the changed function. The
// world is stopped: every other thread of the process is in the kernel or
// in the runtime, not in Go code. A thread that gets a P when the world
// starts was asleep in a futex (stopm, notesleep; startTheWorld wakes it
// with notewakeup) or is a new thread (clone): either way it returns to
// user space by an exception return, which is context synchronizing. The
// one exception the runtime allows: a thread whose system call returned
// while the world was stopped, before this store, and that takes an idle P
// in exitsyscall (exitsyscallTryGetP) right after the world starts, without
// sleeping; it could run instructions of the changed function that it
// fetched before the IC IVAU. commit closes that gap: after the stores,
// still with the world stopped, syncOtherCores has the kernel interrupt
// every core running a thread of the process (membarrier(2),
// MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE), and a thread not running is
// synchronized when it is scheduled again.
//
// qemu-user, where the arm64 tests run, translates code into its own cache
// and drops translations when their page is written, whatever the guest's
// cache instructions say: the tests there prove this sequence runs and
// the logic around it, not its effect on a real core's caches.
//
//go:nosplit
func store(addr uintptr, b [8]byte) {
	w := (*[2]uint32)(osmem.Pointer(addr))
	w[0] = binary.LittleEndian.Uint32(b[:4])
	if next := binary.LittleEndian.Uint32(b[4:]); w[1] != next {
		w[1] = next
	}
	syncCode(addr, 8)
}

// syncCode makes n bytes of code written at addr visible to instruction
// fetch on every core: DC CVAU and IC IVAU on each cache line, with DSB ISH
// after each pass and an ISB at the end (cache_linux_arm64.s). It does not
// allocate, lock or enter the kernel.
//
//go:noescape
func syncCode(addr, n uintptr)

// prepareCores registers the process for syncOtherCores, once, before the
// world stops. A kernel without it (before 4.16) or a seccomp filter that
// denies membarrier(2) makes every write fail: without it another core may
// run instructions it fetched before the jump was written (see store).
func prepareCores() error {
	if err := osmem.RegisterSyncCores(); err != nil {
		return fmt.Errorf("%w: another core could run instructions of a changed function it fetched before the write (Linux 4.16 or later, membarrier not filtered by seccomp)", err)
	}
	return nil
}

// syncOtherCores makes every other thread of the process execute a context
// synchronization event before it next runs user code; called with the
// world stopped, after the stores. It does not allocate or lock.
//
//go:nosplit
func syncOtherCores() syscall.Errno { return osmem.SyncCores() }
