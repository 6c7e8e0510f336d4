package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets cover every parser of bytes that come from the patch
// directory, which whoever can write there controls: the trailer and
// manifest (FuzzDecode), our reading of ELF through debug/elf, which can
// panic on hostile input (FuzzReadImage), and the whole pure inspection of
// a patch's ELF against the running binary (FuzzMatchBuild). None may
// panic. Their seed corpora under testdata/fuzz/ run in every `go test`;
// TestSeedCorpus says how each seed was made, and -update rewrites them.

var update = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz")

// rawPatch builds a patch file from parts without Encode's help, so that
// the manifest and signature block can be anything.
func rawPatch(elfBytes, manifest, sig []byte) []byte {
	b := append(append(append([]byte(nil), elfBytes...), manifest...), sig...)
	var f [footerLen]byte
	binary.LittleEndian.PutUint64(f[0:8], uint64(len(elfBytes)))
	binary.LittleEndian.PutUint32(f[8:12], uint32(len(manifest)))
	binary.LittleEndian.PutUint32(f[12:16], uint32(len(sig)))
	copy(f[16:], footerMagic)
	return append(b, f[:]...)
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seeds returns the seed corpus of each fuzz target, by file name.
func seeds(t testing.TB) map[string]map[string][]byte {
	tiny := mustRead(t, "tiny.so")
	arm := mustRead(t, "aarch64-header.elf")
	key := testKey()
	enc := func(elfBytes []byte, m Manifest, signed bool) []byte {
		k := key
		if !signed {
			k = nil
		}
		b, err := Encode(elfBytes, m, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m := testManifest()
	signed := enc([]byte("\x7fELF code"), m, true)
	signedTiny := enc(tiny, m, true)
	dotdot := m
	dotdot.ID = "../../etc/x"
	flipped := bytes.Clone(signed)
	flipped[len(flipped)-footerLen-1] ^= 1
	elf32 := bytes.Clone(arm)
	elf32[4] = 1 // ELFCLASS32
	binary.LittleEndian.PutUint16(elf32[18:], 3)
	manyShdrs := bytes.Clone(tiny)
	binary.LittleEndian.PutUint16(manyShdrs[60:], 0xffff) // e_shnum
	badShstr := bytes.Clone(tiny)
	binary.LittleEndian.PutUint16(badShstr[62:], 0xfff0) // e_shstrndx
	return map[string]map[string][]byte{
		"FuzzDecode": {
			"unsigned":             enc([]byte("\x7fELF code"), m, false),
			"signed":               signed,
			"signed-tiny-elf":      signedTiny,
			"truncated-in-elf":     signedTiny[:len(tiny)/2],
			"truncated-in-trailer": signedTiny[:len(signedTiny)-footerLen-10],
			"truncated-footer":     signed[:len(signed)-1],
			"footer-only":          signed[len(signed)-footerLen:],
			"empty":                {},
			"aarch64-wrapped":      enc(arm, m, false),
			"manifest-id-dotdot":   enc([]byte("\x7fELF"), dotdot, false),
			"manifest-unknown-key": rawPatch([]byte("\x7fELF"), []byte(`{"format":1,"id":"x","plugin_path":"p","anchor":"A","targets":[{"name":"a.F"}],"extra":true}`), nil),
			"manifest-trailing":    rawPatch([]byte("\x7fELF"), []byte(`{"format":1} {}`), nil),
			"signature-short":      rawPatch([]byte("\x7fELF"), []byte(`{}`), make([]byte, 50)),
			"signature-flipped":    flipped,
			"lengths-overflow":     append(bytes.Repeat([]byte{0xff}, 16), footerMagic...),
		},
		"FuzzReadImage": {
			"tiny-so":         tiny,
			"tiny-truncated":  tiny[:len(tiny)/2],
			"aarch64-header":  arm,
			"elf32-header":    elf32,
			"shnum-huge":      manyShdrs,
			"shstrndx-beyond": badShstr,
		},
		"FuzzMatchBuild": {
			"tiny-so":        tiny,
			"tiny-truncated": tiny[:len(tiny)*3/4],
			"aarch64-header": arm,
		},
	}
}

func corpusFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

// TestSeedCorpus keeps testdata/fuzz in step with the seeds above: run
// with -update after changing them.
func TestSeedCorpus(t *testing.T) {
	for target, files := range seeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			os.MkdirAll(dir, 0o755)
		}
		for name, b := range files {
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, corpusFile(b), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, corpusFile(b)) {
				t.Errorf("%s is missing or stale (%v): run go test ./loader -run TestSeedCorpus -update", path, err)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		elfBytes := readELF(t, file)
		if file.Manifest.validate() != nil || int64(len(elfBytes)) > file.Size {
			t.Fatalf("Decode accepted an invalid file: %+v", file.Manifest)
		}
		// What Decode accepts, Encode writes back to a file that decodes
		// to the same ELF and manifest.
		again, err := Encode(elfBytes, file.Manifest, nil)
		if err != nil {
			t.Fatalf("Encode of an accepted file: %v", err)
		}
		file2, err := Decode(again)
		if err != nil || !bytes.Equal(readELF(t, file2), elfBytes) || !cmp.Equal(file2.Manifest, file.Manifest) {
			t.Fatalf("round trip: %v\n%s", err, cmp.Diff(file.Manifest, file2.Manifest))
		}
	})
}

func FuzzReadImage(f *testing.F) {
	if self, err := os.ReadFile("/proc/self/exe"); err == nil && len(self) > 4096 {
		f.Add(self[:4096])
	}
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The same bytes give the same verdict and the same description.
		img1, err1 := readImage(bytes.NewReader(b), nil)
		img2, err2 := readImage(bytes.NewReader(b), nil)
		if fmt.Sprint(err1) != fmt.Sprint(err2) || (img1 == nil) != (img2 == nil) {
			t.Fatalf("two reads differ: %v / %v", err1, err2)
		}
		if img1 != nil && (img1.buildID != img2.buildID || len(img1.funcs) != len(img2.funcs) || len(img1.own) != len(img2.own)) {
			t.Fatalf("two reads describe the file differently")
		}
		// The scan of a patch's few symbols reads the same tables.
		if img3, err3 := readImage(bytes.NewReader(b), map[string]bool{"main.main": true}); (err3 == nil) != (err1 == nil) || (img3 != nil && len(img3.pkgHash) != len(img1.pkgHash)) {
			t.Fatalf("the scan for a few symbols and the full read differ: %v / %v", err3, err1)
		}
	})
}

// FuzzMatchBuild runs every check of a patch's ELF that reads it (ELF
// kind, build information, module versions, package fingerprints,
// symbols) against a binary made from the tiny seed: a seed close to it
// gets through the build checks to the symbols. (The test binary itself
// cannot serve: go test strips its symbol table.)
func FuzzMatchBuild(f *testing.F) {
	img, err := readImage(bytes.NewReader(mustRead(f, "tiny.so")), nil)
	if err != nil {
		f.Fatal(err)
	}
	img.fileType = elf.ET_EXEC
	bin := &Binary{Path: "tiny", file: filepath.Join("testdata", "tiny.so"), img: img}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := testManifest()
		m.Host.BuildID = bin.BuildID()
		p, err := MatchBuild(&File{elf: io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))), Manifest: m}, "fuzz.so", bin)
		_, again := MatchBuild(&File{elf: io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))), Manifest: m}, "fuzz.so", bin)
		if fmt.Sprint(err) != fmt.Sprint(again) {
			t.Fatalf("the same bytes, two verdicts: %v / %v", err, again)
		}
		if err == nil {
			p.Resolve(bin)
		}
	})
}

// readELF returns the ELF bytes a decoded file holds.
func readELF(t testing.TB, f *File) []byte {
	t.Helper()
	b, err := io.ReadAll(f.ELF())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
