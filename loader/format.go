package loader

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	debugelf "debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gohotfix/hotfix/internal/keys"
)

// A patch file is one ELF shared object built with -buildmode=plugin, with
// a trailer appended; the dynamic loader maps only what the program headers
// name, so the trailer is invisible to it:
//
//	ELF bytes | manifest JSON | signature block | footer
//
// footer (24 bytes, little endian): ELF length uint64, manifest length
// uint32, signature block length uint32, magic "HOTFIX01". The signature
// block is empty (unsigned) or an ed25519 public key (32 bytes) followed by
// the signature (64 bytes) of signedMessage.

const (
	footerLen   = 24
	footerMagic = "HOTFIX01"
	sigBlockLen = ed25519.PublicKeySize + ed25519.SignatureSize
	// maxManifest bounds what a hostile trailer can make us allocate.
	maxManifest = 1 << 20
	// FormatVersion is the manifest format this package writes and reads.
	FormatVersion = 1
)

// Manifest describes a patch. It travels inside the patch file and is read
// without loading the file.
type Manifest struct {
	Format       int       `json:"format"`
	ID           string    `json:"id"`                      // unique per build
	Version      string    `json:"version"`                 // operator-facing
	Sequence     int64     `json:"sequence"`                // apply order
	BaseRevision string    `json:"base_revision,omitempty"` // source of the running release
	PluginPath   string    `json:"plugin_path"`             // import path of the generated main package
	Anchor       string    `json:"anchor"`                  // exported variable used to find the load address
	Targets      []Target  `json:"targets"`
	GoVersion    string    `json:"go_version"`
	BuildFlags   []string  `json:"build_flags"` // exactly as passed to go build
	Host         Host      `json:"host"`
	Built        time.Time `json:"built"`
}

// Target is one function the patch replaces.
type Target struct {
	Name      string `json:"name"`                // linker symbol, e.g. example.com/app/router.(*Server).handle
	Signature string `json:"signature,omitempty"` // Go type, for people
	Reason    string `json:"reason,omitempty"`    // why the builder chose it
	// PluginSymbol is the linker symbol of the new code in the patch when
	// it differs from Name: a function of package main is compiled into
	// the patch's own package (e.g. example.com/app/hotfix_patch_X.main.func1
	// replaces main.main.func1). Empty: the same as Name.
	PluginSymbol string `json:"plugin_symbol,omitempty"`
}

// Host identifies the binary a patch was built for.
type Host struct {
	BuildID  string `json:"build_id"`
	MainPath string `json:"main_path"` // import path of its main package
}

// Signature is the signer of a patch, if any.
type Signature struct {
	PublicKey ed25519.PublicKey
	Sig       []byte
}

// Fingerprint is the short form of a public key shown to operators.
func Fingerprint(pub ed25519.PublicKey) string { return keys.Fingerprint(pub) }

// File is a patch file split into its parts.
type File struct {
	ELF       []byte
	Manifest  Manifest
	RawJSON   []byte
	Signature *Signature // nil when unsigned
	SHA256    string     // of the whole file
	Size      int64
}

// Encode returns the bytes of a patch file: elf with m appended, signed
// with key when key is not nil.
func Encode(elf []byte, m Manifest, key ed25519.PrivateKey) ([]byte, error) {
	m.Format = FormatVersion
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(elf) + len(js) + sigBlockLen + footerLen)
	buf.Write(elf)
	buf.Write(js)
	sigLen := 0
	if key != nil {
		pub := key.Public().(ed25519.PublicKey)
		buf.Write(pub)
		buf.Write(ed25519.Sign(key, signedMessage(elf, js)))
		sigLen = sigBlockLen
	}
	var f [footerLen]byte
	binary.LittleEndian.PutUint64(f[0:8], uint64(len(elf)))
	binary.LittleEndian.PutUint32(f[8:12], uint32(len(js)))
	binary.LittleEndian.PutUint32(f[12:16], uint32(sigLen))
	copy(f[16:], footerMagic)
	buf.Write(f[:])
	return buf.Bytes(), nil
}

// signedMessage binds the ELF bytes and the manifest bytes; the lengths
// keep a byte from moving across the boundary unnoticed.
func signedMessage(elf, manifest []byte) []byte {
	msg := make([]byte, 0, 32+len(elf)+len(manifest))
	msg = append(msg, "hotfix-patch-v1\x00"...)
	msg = binary.LittleEndian.AppendUint64(msg, uint64(len(elf)))
	msg = binary.LittleEndian.AppendUint64(msg, uint64(len(manifest)))
	msg = append(msg, elf...)
	return append(msg, manifest...)
}

type footer struct {
	elfLen, manLen, sigLen int64
}

func parseFooter(b []byte, size int64) (footer, error) {
	if size < footerLen {
		return footer{}, errorf(ErrFormat, "%d bytes is too short for a patch", size)
	}
	if string(b[16:24]) != footerMagic {
		return footer{}, errorf(ErrFormat, "no hotfix trailer (built without `hotfix build`?)")
	}
	f := footer{
		elfLen: int64(binary.LittleEndian.Uint64(b[0:8])),
		manLen: int64(binary.LittleEndian.Uint32(b[8:12])),
		sigLen: int64(binary.LittleEndian.Uint32(b[12:16])),
	}
	if f.manLen > maxManifest || (f.sigLen != 0 && f.sigLen != sigBlockLen) || f.elfLen < 0 || f.elfLen > size {
		return footer{}, errorf(ErrFormat, "trailer lengths out of range (elf %d, manifest %d, signature %d)", f.elfLen, f.manLen, f.sigLen)
	}
	if f.elfLen+f.manLen+f.sigLen+footerLen != size {
		return footer{}, errorf(ErrFormat, "trailer says %d bytes, file has %d", f.elfLen+f.manLen+f.sigLen+footerLen, size)
	}
	return f, nil
}

// sniff names what a file without a trailer looks like, from its first
// bytes, for the operator who dropped it.
func sniff(b []byte) string {
	if len(b) < 20 || string(b[:4]) != "\x7fELF" {
		return "not an ELF file"
	}
	typ := debugelf.Type(binary.LittleEndian.Uint16(b[16:18]))
	mach := debugelf.Machine(binary.LittleEndian.Uint16(b[18:20]))
	if b[5] == byte(debugelf.ELFDATA2MSB) {
		typ = debugelf.Type(binary.BigEndian.Uint16(b[16:18]))
		mach = debugelf.Machine(binary.BigEndian.Uint16(b[18:20]))
	}
	return fmt.Sprintf("an ELF file (%v, %v)", typ, mach)
}

// Complete reports whether the file at path ends with a trailer whose
// lengths add up to the file's size: a copy in progress does not, because
// the trailer is written last. It reads 24 bytes, and never blocks: it
// does not follow a symbolic link and does not wait for a FIFO's writer.
func Complete(path string) bool {
	f, err := openNoBlock(path, true)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < footerLen {
		return false
	}
	var b [footerLen]byte
	if _, err := f.ReadAt(b[:], st.Size()-footerLen); err != nil {
		return false
	}
	_, err = parseFooter(b[:], st.Size())
	return err == nil
}

// TrustFunc decides whether the signer of a patch may run code in this
// process; signer is nil for an unsigned patch. It is called after the
// signature has been verified against the file's bytes and before the
// manifest is parsed, so that nothing an untrusted signer wrote is read.
// policy.(*Policy).TrustSigner is one.
type TrustFunc func(signer ed25519.PublicKey) error

// ReadOptions are the checks a patch file must pass before ReadPatch or
// ReadOffline return it. The zero value checks the signature if there is
// one and decides nothing about trust.
type ReadOptions struct {
	MaxBytes int64     // limits.max_file_bytes; 0 means no limit
	Trust    TrustFunc // nil: any signer, or none
}

// Decode splits the bytes of a patch file and verifies its signature, if
// it has one. It makes no trust decision (see DecodeTrusted). It never
// panics on hostile input.
func Decode(b []byte) (*File, error) { return DecodeTrusted(b, nil) }

// DecodeTrusted is Decode with the trust decision made in its place in
// the fixed order of checks: trailer, signature, trust (when trust is not
// nil), manifest. Each is refused with the first rule it breaks.
func DecodeTrusted(b []byte, trust TrustFunc) (*File, error) {
	size := int64(len(b))
	if size < footerLen {
		return nil, errorf(ErrFormat, "%d bytes is too short for a patch", size)
	}
	ft, err := parseFooter(b[size-footerLen:], size)
	if err != nil {
		if string(b[len(b)-len(footerMagic):]) != footerMagic {
			return nil, errorf(ErrFormat, "no hotfix trailer: %s, not a patch built by `hotfix build` (or a copy cut short)", sniff(b))
		}
		return nil, err
	}
	elf := b[:ft.elfLen]
	js := b[ft.elfLen : ft.elfLen+ft.manLen]
	sum := sha256.Sum256(b)
	f := &File{ELF: elf, RawJSON: bytes.Clone(js), SHA256: hex.EncodeToString(sum[:]), Size: size}
	var signer ed25519.PublicKey
	if ft.sigLen != 0 {
		sb := b[ft.elfLen+ft.manLen : ft.elfLen+ft.manLen+ft.sigLen]
		f.Signature = &Signature{
			PublicKey: ed25519.PublicKey(bytes.Clone(sb[:ed25519.PublicKeySize])),
			Sig:       bytes.Clone(sb[ed25519.PublicKeySize:]),
		}
		if !ed25519.Verify(f.Signature.PublicKey, signedMessage(elf, js), f.Signature.Sig) {
			return nil, errorf(ErrSignature, "signature by %s does not match the file's bytes (changed after signing)", Fingerprint(f.Signature.PublicKey))
		}
		signer = f.Signature.PublicKey
	}
	if trust != nil {
		if err := trust(signer); err != nil {
			return nil, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f.Manifest); err != nil {
		return nil, errorf(ErrFormat, "manifest: %v", err)
	}
	if dec.More() {
		return nil, errorf(ErrFormat, "manifest: trailing data")
	}
	if err := f.Manifest.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// maxField bounds the manifest's names: they end up in file names, log
// records and the ledger.
const maxField = 256

func (m *Manifest) validate() error {
	switch {
	case m.Format != FormatVersion:
		return errorf(ErrFormat, "manifest format %d, want %d", m.Format, FormatVersion)
	case m.ID == "":
		return errorf(ErrFormat, "manifest has no id")
	case !safeID(m.ID):
		// The ID names the private copy under state_dir: "../x" must not
		// put it anywhere else.
		return errorf(ErrFormat, "manifest id %q: want at most %d of [A-Za-z0-9._-], not starting with a dot", m.ID, maxField)
	case m.PluginPath == "" || m.Anchor == "":
		return errorf(ErrFormat, "manifest has no plugin path or anchor")
	case len(m.PluginPath) > maxField || len(m.Anchor) > maxField || len(m.Version) > maxField:
		return errorf(ErrFormat, "manifest plugin path, anchor or version longer than %d bytes", maxField)
	case len(m.Targets) == 0:
		return errorf(ErrFormat, "manifest lists no target functions")
	}
	seen := map[string]bool{}
	for _, t := range m.Targets {
		if t.Name == "" || seen[t.Name] {
			return errorf(ErrFormat, "manifest target %q empty or repeated", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

func safeID(id string) bool {
	if id == "" || len(id) > maxField || id[0] == '.' {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// ReadFile reads and decodes a patch file, refusing one larger than
// maxBytes (0: no limit) before reading it. It is ReadOffline without a
// trust decision, for tools that show what a file holds.
func ReadFile(path string, maxBytes int64) (*File, error) {
	return ReadOffline(path, ReadOptions{MaxBytes: maxBytes})
}

// ReadOffline reads the patch file at path and checks it the way ReadPatch
// does, in the same order, except for the file rules, which are about
// where a file sits in patch_dir and who put it there: size, signature
// and trust, manifest. It is for offline checks (hotfix verify).
func ReadOffline(path string, r ReadOptions) (*File, error) {
	fd, err := openNoBlock(path, false)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errorf(ErrFileRule, "%s, not a regular file", fileKind(st.Mode()))
	}
	b, err := readAll(fd, st.Size(), r.MaxBytes)
	if err != nil {
		return nil, err
	}
	return DecodeTrusted(b, r.Trust)
}

// readAll reads size bytes from fd after checking them against the limit.
// A file that shrank while being read is reported as ErrFormat, like one
// that is still being written: the agent waits for it to settle.
func readAll(fd *os.File, size, maxBytes int64) ([]byte, error) {
	if maxBytes > 0 && size > maxBytes {
		return nil, errorf(ErrFileRule, "%d bytes, over the limit of %d (limits.max_file_bytes)", size, maxBytes)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(fd, b); err != nil {
		return nil, errorf(ErrFormat, "read %d bytes: %v (file changed while being read?)", size, err)
	}
	return b, nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a " + m.Type().String() + " file"
}
