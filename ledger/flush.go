package ledger

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// BatchDelay is how long a refusal may wait to be written with the ones
// after it, and how long after one write the next refusal starts waiting.
// A lone refusal is written at once.
const BatchDelay = 100 * time.Millisecond

// A failed write is tried again after retryMin, then twice as long each
// time up to retryMax: a full disk gets room back on an operator's time.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

type flushState struct {
	dirty bool      // memory holds changes the file lacks
	last  time.Time // the last write, successful or not
	err   error     // the last write's error; nil once one succeeds
	// recovered: a write succeeded after one failed, and the flusher has
	// not said so yet.
	recovered bool
	writes    int // successful writes of the file
	onFlush   func(error)
	write     func(dir, path string, data []byte) error

	kickc      chan struct{}
	stop, done chan struct{}
}

func (l *Ledger) startFlusher() {
	l.f.write = writeAtomic
	l.f.kickc = make(chan struct{}, 1)
	l.f.stop, l.f.done = make(chan struct{}), make(chan struct{})
	go l.flusher()
}

// OnFlush sets a function the flusher calls, outside any lock, with the
// error of each write it tried that failed, and with nil for the first
// write that succeeded after one failed.
func (l *Ledger) OnFlush(f func(error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.onFlush = f
}

// Failing returns the error of the last write when memory has changes the
// file does not, nil when the file is up to date or only waits for a batch.
func (l *Ledger) Failing() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.err
}

// batching reports whether a refusal recorded now waits for a batch: the
// file was written a moment ago, so more are likely on their way.
func (l *Ledger) batching() bool {
	return l.f.err == nil && time.Since(l.f.last) < BatchDelay
}

func (l *Ledger) kick() {
	select {
	case l.f.kickc <- struct{}{}:
	default:
	}
}

// flushLocked writes memory to the file if they differ; the caller holds
// mu. A failure leaves memory as it is and wakes the flusher to retry.
func (l *Ledger) flushLocked() error {
	if !l.f.dirty {
		return nil
	}
	data, err := encode(l.sorted())
	if err == nil {
		err = l.f.write(l.dir, l.path, data)
	}
	l.f.last = time.Now()
	if err != nil {
		l.f.err = err
		l.kick()
		return err
	}
	if l.f.err != nil {
		// Whoever wrote it (a Record, or the flusher), the flusher says so,
		// outside the lock.
		l.f.recovered = true
		l.kick()
	}
	l.f.dirty, l.f.err = false, nil
	l.f.writes++
	return nil
}

// flusher writes batched refusals, and retries failed writes with backoff
// until one succeeds or the ledger is closed.
func (l *Ledger) flusher() {
	defer close(l.f.done)
	for {
		select {
		case <-l.f.stop:
			return
		case <-l.f.kickc:
		}
		wait := BatchDelay
		for {
			if !l.sleep(wait) {
				return
			}
			l.mu.Lock()
			err := l.flushLocked()
			recovered := l.f.recovered
			l.f.recovered = false
			notify := l.f.onFlush
			l.mu.Unlock()
			if notify != nil && (err != nil || recovered) {
				notify(err)
			}
			if err == nil {
				break
			}
			wait = min(max(2*wait, retryMin), retryMax)
		}
	}
}

// sleep waits for d and reports false if the ledger was closed meanwhile.
func (l *Ledger) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.f.stop:
		return false
	case <-t.C:
		return true
	}
}

// instance identifies this process among every process that ever wrote a
// ledger: a PID repeats (a container's service is always PID 1), 128
// random bits do not.
var instance = sync.OnceValue(func() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b[:])
})

// Instance returns the ID of this process that Record writes into each
// entry: an entry recorded "applied" by another instance describes code
// that no longer runs.
func Instance() string { return instance() }

// Sync writes what is batched now, and returns the write's error; nil if
// the file was up to date.
func (l *Ledger) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return ErrClosed
	}
	return l.flushLocked()
}
