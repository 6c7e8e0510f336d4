package loader

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	debugelf "debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
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
// uint32, signature block length uint32, magic "HOTFIX02". The signature
// block is empty (unsigned) or an ed25519 public key (32 bytes) followed by
// the signature (64 bytes) of signedMessage: the SHA-256 of the ELF bytes
// and the manifest, so that checking it costs microseconds, not another
// pass over megabytes. The manifest also carries the ELF's SHA-256, which
// binds an unsigned patch's code to its manifest.

const (
	footerLen   = 24
	footerMagic = "HOTFIX02"
	// oldMagic is the first format, which signed the whole ELF.
	oldMagic    = "HOTFIX01"
	sigBlockLen = ed25519.PublicKeySize + ed25519.SignatureSize
	// maxManifest bounds what a hostile trailer can make us allocate.
	maxManifest = 1 << 20
	// FormatVersion is the manifest format this package writes and reads.
	FormatVersion = 2
)

// Manifest describes a patch. It travels inside the patch file and is read
// without loading the file.
type Manifest struct {
	Format       int      `json:"format"`
	ID           string   `json:"id"`                      // unique per build
	Version      string   `json:"version"`                 // operator-facing
	Sequence     int64    `json:"sequence"`                // apply order
	BaseRevision string   `json:"base_revision,omitempty"` // source of the running release
	PluginPath   string   `json:"plugin_path"`             // import path of the generated main package
	Anchor       string   `json:"anchor"`                  // exported variable used to find the load address
	Targets      []Target `json:"targets"`
	GoVersion    string   `json:"go_version"`
	BuildFlags   []string `json:"build_flags"` // exactly as passed to go build
	ELFSHA256    string   `json:"elf_sha256"`  // of the ELF bytes, hex
	// Adopted lists the packages compiled from the fix's own files whose
	// linker fingerprint the builder set to the release's, having checked
	// what the release's code depends on (internal/patchbuild, rebuild.go).
	Adopted []string  `json:"adopted,omitempty"`
	Host    Host      `json:"host"`
	Built   time.Time `json:"built"`
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

// File is a patch file split into its parts, its signature verified and
// its manifest read. The ELF bytes are not held in memory: ELF reads them
// from where the checks read them (for the agent, a private copy).
type File struct {
	Manifest  Manifest
	RawJSON   []byte
	Signature *Signature // nil when unsigned
	SHA256    string     // of the whole file
	Size      int64
	elf       *io.SectionReader
	// stage is the private copy ReadPatch read the file into: Open gives
	// it its final name, Close removes it if Open did not.
	stage *os.File
	src   *os.File // the file ReadOffline reads, closed by Close
}

// ELF returns a reader of the ELF bytes that were checked.
func (f *File) ELF() *io.SectionReader { return io.NewSectionReader(f.elf, 0, f.elf.Size()) }

// Close releases what the read holds: the private copy, unless Open has
// taken it. It is safe to call more than once.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	if f.src != nil {
		f.src.Close()
		f.src = nil
	}
	if f.stage == nil {
		return nil
	}
	err := f.stage.Close()
	if rerr := os.Remove(f.stage.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	f.stage = nil
	return err
}

// Encode returns the bytes of a patch file: elf with m appended, signed
// with key when key is not nil.
func Encode(elf []byte, m Manifest, key ed25519.PrivateKey) ([]byte, error) {
	m.Format = FormatVersion
	elfSum := sha256.Sum256(elf)
	m.ELFSHA256 = hex.EncodeToString(elfSum[:])
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
		buf.Write(ed25519.Sign(key, signedMessage(elfSum[:], js)))
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

// signedMessage binds the ELF bytes, by their SHA-256, and the manifest
// bytes.
func signedMessage(elfSum, manifest []byte) []byte {
	msg := make([]byte, 0, 16+len(elfSum)+len(manifest))
	msg = append(msg, "hotfix-patch-v2\x00"...)
	msg = append(msg, elfSum...)
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
	// Stage is the private directory ReadPatch copies the file into as it
	// reads it (state_dir/loaded, which Open opens plugins from).
	Stage string
}

// stagePrefix names the private copies being written or not yet opened;
// whatever has it in the private directory when an agent starts is left
// over from a process that ended (RemoveUnmapped).
const stagePrefix = ".read-"

// Decode splits the bytes of a patch file and verifies its signature, if
// it has one. It makes no trust decision (see DecodeTrusted). It never
// panics on hostile input.
func Decode(b []byte) (*File, error) { return DecodeTrusted(b, nil) }

// DecodeTrusted is Decode with the trust decision made in its place in
// the fixed order of checks: trailer, signature, trust (when trust is not
// nil), manifest. Each is refused with the first rule it breaks.
func DecodeTrusted(b []byte, trust TrustFunc) (*File, error) {
	return decode(bytes.NewReader(b), int64(len(b)), trust, nil)
}

// decode checks the size bytes of a patch file in src, in the order of
// DecodeTrusted. It reads src once from end to end, hashing it; with stage
// set it writes what it reads there, and from then on reads only that
// copy: the bytes checked are the bytes kept, without holding them in
// memory.
func decode(src io.ReaderAt, size int64, trust TrustFunc, stage *os.File) (*File, error) {
	ft, err := readFooter(src, size)
	if err != nil {
		return nil, err
	}
	var copyTo io.Writer // not a typed nil
	if stage != nil {
		copyTo = stage
	}
	sum, err := hashCopy(src, size, ft.elfLen, copyTo)
	if err != nil {
		return nil, err
	}
	if stage != nil {
		// The split was read before the copy: it must be the copy's.
		if again, err := readFooter(stage, size); err != nil || again != ft {
			return nil, errorf(ErrFormat, "the trailer changed while the file was read (file changed while being read?)")
		}
		src = stage
	}
	f, err := decodeHashed(src, size, ft, sum, trust)
	if err != nil {
		return nil, &HashedError{SHA256: hex.EncodeToString(sum.file), Err: err}
	}
	return f, nil
}

// HashedError is a refusal of a file read whole: it carries the file's
// SHA-256, by which an operator's tools recognize the file they dropped.
type HashedError struct {
	SHA256 string
	Err    error
}

func (e *HashedError) Error() string { return e.Err.Error() }
func (e *HashedError) Unwrap() error { return e.Err }

// SHA256Of returns the SHA-256 of the file a refusal was about, or "" if
// it was refused before it was read whole.
func SHA256Of(err error) string {
	var h *HashedError
	if errors.As(err, &h) {
		return h.SHA256
	}
	return ""
}

// decodeHashed is decode's part after the file was hashed: signature,
// trust and manifest.
func decodeHashed(src io.ReaderAt, size int64, ft footer, sum fileSums, trust TrustFunc) (*File, error) {
	tail := make([]byte, ft.manLen+ft.sigLen)
	if _, err := src.ReadAt(tail, ft.elfLen); err != nil {
		return nil, errorf(ErrFormat, "read the manifest: %v", err)
	}
	js := tail[:ft.manLen]
	f := &File{RawJSON: js, SHA256: hex.EncodeToString(sum.file), Size: size, elf: io.NewSectionReader(src, 0, ft.elfLen)}
	var signer ed25519.PublicKey
	if ft.sigLen != 0 {
		sb := tail[ft.manLen:]
		f.Signature = &Signature{PublicKey: ed25519.PublicKey(sb[:ed25519.PublicKeySize]), Sig: sb[ed25519.PublicKeySize:]}
		if !ed25519.Verify(f.Signature.PublicKey, signedMessage(sum.elf, js), f.Signature.Sig) {
			return nil, errorf(ErrSignature, "signature by %s does not match the file's bytes (changed after signing)", Fingerprint(f.Signature.PublicKey))
		}
		signer = f.Signature.PublicKey
	}
	if trust != nil {
		if err := trust(signer); err != nil {
			return nil, err
		}
	}
	if err := f.readManifest(hex.EncodeToString(sum.elf)); err != nil {
		return nil, err
	}
	return f, nil
}

// readManifest parses and checks the manifest, which must name the ELF
// bytes' SHA-256 (elfSum).
func (f *File) readManifest(elfSum string) error {
	dec := json.NewDecoder(bytes.NewReader(f.RawJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f.Manifest); err != nil {
		return errorf(ErrFormat, "manifest: %v", err)
	}
	if dec.More() {
		return errorf(ErrFormat, "manifest: trailing data")
	}
	if err := f.Manifest.validate(); err != nil {
		return err
	}
	if f.Manifest.ELFSHA256 != elfSum {
		return errorf(ErrFormat, "the ELF bytes' SHA-256 is %s, the manifest says %s (code altered or cut after the build)", elfSum, f.Manifest.ELFSHA256)
	}
	return nil
}

// readFooter reads and checks the trailer at the end of the size bytes of
// src, naming what a file without one looks like.
func readFooter(src io.ReaderAt, size int64) (footer, error) {
	if size < footerLen {
		return footer{}, errorf(ErrFormat, "%d bytes is too short for a patch", size)
	}
	var b [footerLen]byte
	if _, err := src.ReadAt(b[:], size-footerLen); err != nil {
		return footer{}, errorf(ErrFormat, "read the trailer: %v", err)
	}
	ft, err := parseFooter(b[:], size)
	if err == nil {
		return ft, nil
	}
	switch string(b[footerLen-len(footerMagic):]) {
	case footerMagic:
		return footer{}, err
	case oldMagic:
		return footer{}, errorf(ErrFormat, "patch file format %s, written by an older hotfix: rebuild the patch with this one (format %s)", oldMagic, footerMagic)
	}
	head := make([]byte, min(size, 20))
	src.ReadAt(head, 0)
	return footer{}, errorf(ErrFormat, "no hotfix trailer: %s, not a patch built by `hotfix build` (or a copy cut short)", sniff(head))
}

// fileSums are the SHA-256 of a patch file's ELF bytes and of the whole
// file, taken in one pass.
type fileSums struct{ elf, file []byte }

// hashCopy reads the size bytes of src once, hashing them, and writes them
// to stage when it is not nil. Hashing is the slow part (a 12 MB patch
// takes about 9 ms here); it runs on its own goroutine, on chunks the
// reader has already written, so that copying adds little to it.
func hashCopy(src io.ReaderAt, size, elfLen int64, stage io.Writer) (fileSums, error) {
	type chunk struct {
		b        []byte
		endOfELF bool
	}
	const chunkLen, chunks = 256 << 10, 4
	free, full := make(chan []byte, chunks), make(chan chunk, chunks)
	for range chunks {
		free <- make([]byte, chunkLen)
	}
	sums := make(chan fileSums, 1)
	go func() {
		h := sha256.New()
		var sum fileSums
		if elfLen == 0 {
			sum.elf = h.Sum(nil)
		}
		for c := range full {
			h.Write(c.b)
			if c.endOfELF {
				sum.elf = h.Sum(nil)
			}
			free <- c.b[:cap(c.b)]
		}
		sum.file = h.Sum(nil)
		sums <- sum
	}()
	err := readChunks(src, size, elfLen, free, func(b []byte, endOfELF bool) error {
		if stage != nil {
			if _, err := stage.Write(b); err != nil {
				return err
			}
		}
		full <- chunk{b, endOfELF}
		return nil
	})
	close(full)
	sum := <-sums
	if err != nil {
		return sum, errorf(ErrFormat, "read %d bytes: %v (file changed while being read?)", size, err)
	}
	return sum, nil
}

// readChunks reads src from 0 to size into buffers from free and hands
// each to use, with a chunk ending exactly at elfLen.
func readChunks(src io.ReaderAt, size, elfLen int64, free chan []byte, use func(b []byte, endOfELF bool) error) error {
	for off := int64(0); off < size; {
		end := size
		if off < elfLen {
			end = elfLen
		}
		b := <-free
		n := int(min(int64(len(b)), end-off))
		if _, err := src.ReadAt(b[:n], off); err != nil {
			free <- b
			return err
		}
		off += int64(n)
		if err := use(b[:n], off == elfLen); err != nil {
			return err
		}
	}
	return nil
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
// and trust, manifest. It is for offline checks (hotfix verify). The File
// reads the ELF bytes from the file; Close it when done.
func ReadOffline(path string, r ReadOptions) (*File, error) {
	fd, err := openNoBlock(path, false)
	if err != nil {
		return nil, err
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, errorf(ErrFileRule, "%s, not a regular file", fileKind(st.Mode()))
	}
	if err := checkSize(st.Size(), r.MaxBytes); err != nil {
		fd.Close()
		return nil, err
	}
	f, err := decode(fd, st.Size(), r.Trust, nil)
	if err != nil {
		fd.Close()
		return nil, err
	}
	f.src = fd
	return f, nil
}

// checkSize refuses a file over the limit before a byte of it is read.
func checkSize(size, maxBytes int64) error {
	if maxBytes > 0 && size > maxBytes {
		return errorf(ErrFileRule, "%d bytes, over the limit of %d (limits.max_file_bytes)", size, maxBytes)
	}
	return nil
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
