package slimlink

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// goobjMagic starts a Go object file inside an archive's _go_.o member
// (cmd/internal/goobj.Magic); the 8-byte linker fingerprint follows it.
const goobjMagic = "\x00go120ld"

// member is one member of an ar archive: its name, and its bytes at off.
type member struct {
	name string
	off  int
	body []byte
}

// members splits the archive ar into its members.
func members(ar []byte) ([]member, error) {
	const magic, hdrLen = "!<arch>\n", 60
	if !bytes.HasPrefix(ar, []byte(magic)) {
		return nil, errors.New("not an archive")
	}
	var out []member
	for off := len(magic); off+hdrLen <= len(ar); {
		hdr := ar[off : off+hdrLen]
		size, err := strconv.Atoi(strings.TrimSpace(string(hdr[48:58])))
		if err != nil || size < 0 || off+hdrLen+size > len(ar) {
			return nil, fmt.Errorf("bad archive member header at %d", off)
		}
		out = append(out, member{strings.TrimSpace(string(hdr[:16])), off + hdrLen, ar[off+hdrLen : off+hdrLen+size]})
		off += hdrLen + size + size&1
	}
	return out, nil
}

// headerAt returns the offset in the Go object obj (a text header, then
// cmd/internal/goobj's) just past the magic, where n bytes of the header
// must follow: the 8-byte fingerprint, then the flags.
func headerAt(obj []byte, n int) (int, error) {
	i := bytes.Index(obj, []byte("\n!\n"+goobjMagic))
	if i < 0 || i+3+len(goobjMagic)+n > len(obj) {
		return 0, errors.New("no Go object")
	}
	return i + 3 + len(goobjMagic), nil
}

// fingerprintAt returns the offset of the linker fingerprint of the Go
// object in the archive ar (the go command's _pkg_.a: a __.PKGDEF member
// with the export data, then _go_.o).
func fingerprintAt(ar []byte) (int, error) {
	ms, err := members(ar)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.name == "_go_.o" {
			at, err := headerAt(m.body, 8)
			if err != nil {
				return 0, errors.New("_go_.o holds no Go object")
			}
			return m.off + at, nil
		}
	}
	return 0, errors.New("no _go_.o member")
}

// fingerprint returns the linker fingerprint of the Go object in ar.
func fingerprint(ar []byte) ([8]byte, error) {
	var fp [8]byte
	at, err := fingerprintAt(ar)
	if err != nil {
		return fp, err
	}
	copy(fp[:], ar[at:])
	return fp, nil
}

// withFingerprint returns a copy of ar with the fingerprint fp.
func withFingerprint(ar []byte, fp [8]byte) ([]byte, error) {
	at, err := fingerprintAt(ar)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(ar)
	copy(out[at:], fp[:])
	return out, nil
}

// Fingerprint returns the linker fingerprint of the package archive at
// path, in hex, as plugin.Open's package hashes write it.
func Fingerprint(path string) (string, error) {
	fp, err := fileFingerprint(path)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(fp[:]), nil
}

// fileFingerprint returns the linker fingerprint of the archive at path.
func fileFingerprint(path string) ([8]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return [8]byte{}, err
	}
	fp, err := fingerprint(b)
	if err != nil {
		return fp, fmt.Errorf("%s: %v", path, err)
	}
	return fp, nil
}
