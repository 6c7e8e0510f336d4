package loader

import (
	"os"
	"testing"
	"time"
	"crypto/sha256"
)

func TestProfSplit(t *testing.T) {
	so, host := os.Getenv("PROF_SO"), os.Getenv("PROF_HOST")
	if so == "" {
		t.Skip()
	}
	bin, err := ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		fd, _ := os.Open(so)
		st, _ := fd.Stat()
		b, _ := readAll(fd, st.Size(), 0)
		fd.Close()
		t1 := time.Now()
		sha256.Sum256(b)
		t2 := time.Now()
		f, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		img, err := readImage(f.ELF)
		if err != nil {
			t.Fatal(err)
		}
		t4 := time.Now()
		p, err := Match(f, so, bin)
		if err != nil {
			t.Fatal(err)
		}
		t5 := time.Now()
		_ = img
		_ = p
		t.Logf("read %v sha %v decode %v readImage %v match %v signed=%v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), f.Signature != nil)
	}
}
