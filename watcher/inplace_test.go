package watcher_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/watcher"
)

// TestRewriteInPlaceWaitsForQuiet rewrites a reported file in place, front
// to back and without truncating it (rsync --inplace, dd conv=notrunc):
// its old trailer stays at the end all along, so Complete says yes after
// the first write although the file mixes two versions until the last.
// Only quiet can tell that the rewrite is over: Ready must not come before.
func TestRewriteInPlaceWaitsForQuiet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.so")
	const size, chunk = 64 << 10, 4 << 10
	one := append(bytes.Repeat([]byte{'1'}, size-len(trailer)), trailer...)
	two := append(bytes.Repeat([]byte{'2'}, size-len(trailer)), trailer...)
	if err := os.WriteFile(path, one, 0o644); err != nil {
		t.Fatal(err)
	}
	const quiet = 300 * time.Millisecond
	w := start(t, watcher.Config{Dir: dir, Quiet: quiet, Complete: hasTrailer})
	collect(t, w, 1, "wait for version one")

	fd, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	var early []string
	for off := 0; off < size; off += chunk {
		if _, err := fd.WriteAt(two[off:off+chunk], int64(off)); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w.Events():
			b, _ := os.ReadFile(path)
			early = append(early, fmt.Sprintf("%v with %d%% rewritten", ev.Op, bytes.Count(b, []byte{'2'})*100/len(b)))
		case <-time.After(quiet / 10):
		}
	}
	done := time.Now()
	if len(early) > 0 {
		t.Errorf("events while the file was rewritten in place: %v", early)
	}
	evs := collect(t, w, 1, "wait for version two")
	if evs[0].Op != watcher.Ready {
		t.Fatalf("after the rewrite: %v, want Ready", evs)
	}
	if d := time.Since(done); d < quiet/2 {
		t.Errorf("Ready %v after the last write, want about Quiet (%v)", d, quiet)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, two) {
		t.Fatal("file is not version two")
	}
}
