package loader

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProfSplit(t *testing.T) {
	so := os.Getenv("PROF_SO")
	if so == "" {
		t.Skip()
	}
	for i := 0; i < 7; i++ {
		t0 := time.Now()
		f, err := ReadPatch(filepath.Dir(so), filepath.Base(so), ReadOptions{Stage: t.TempDir() + "/l"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("read %v", time.Since(t0))
		f.Close()
	}
}
