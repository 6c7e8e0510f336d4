package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// caches are the build and module caches of a run, apart from the user's:
// a full run builds hundreds of module graphs, and once filled the disk
// (79 GB of caches). Between cases, when they hold more than max bytes,
// both are emptied; the cases running finish first, and no case starts
// while they are emptied.
type caches struct {
	dir   string
	max   int64
	mu    sync.RWMutex // cases hold it for reading
	trims int
}

func newCaches(dir string, maxBytes int64) (*caches, error) {
	if dir == "" {
		return &caches{}, nil // the user's caches: nothing to set or empty
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &caches{dir: dir, max: maxBytes}, nil
}

// env points a case's go commands at the caches.
func (c *caches) env() []string {
	if c.dir == "" {
		return nil
	}
	return []string{"GOCACHE=" + filepath.Join(c.dir, "build"), "GOMODCACHE=" + filepath.Join(c.dir, "mod")}
}

// size is the bytes under the caches' directory.
func (c *caches) size() int64 {
	var n int64
	filepath.WalkDir(c.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// trim empties the caches when they are over the limit.
func (c *caches) trim(log io.Writer) {
	if c.dir == "" || c.size() <= c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.size()
	if n <= c.max {
		return
	}
	for _, what := range []string{"-cache", "-modcache"} {
		cmd := exec.Command("go", "clean", what)
		cmd.Env = append(os.Environ(), c.env()...)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(log, "vulns: go clean %s: %v\n%s", what, err, out)
		}
	}
	c.trims++
	fmt.Fprintf(log, "vulns: caches held %.1f GB (limit %.1f GB): emptied\n", float64(n)/1e9, float64(c.max)/1e9)
}
