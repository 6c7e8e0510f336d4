package loader

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// image is what hotfix needs of one ELF file, the running binary or a
// patch: read from its headers and tables, never by running it.
type image struct {
	buildID string
	info    *debug.BuildInfo
	funcs   map[string]uint64 // symbol name -> value, FUNC symbols
	sizes   map[string]uint64 // symbol name -> size, FUNC symbols
	// own maps a function to the file's own copy of it: the FUNC symbols
	// bound LOCAL, with the "local." prefix the linker gives the local
	// alias of a global function taken off (see ownCode).
	own      map[string]uint64
	objects  map[string]uint64 // symbol name -> value, OBJECT symbols
	objSizes map[string]uint64 // symbol name -> size, OBJECT symbols
	pkgHash  map[string]string // package path -> link fingerprint (hex)
	machine  elf.Machine
	fileType elf.Type
	code     []section // executable sections
	mapped   []section // every section loaded with bytes from the file: code and data
	pclntab  section   // .gopclntab
	text     uint64    // runtime.text: function entries in .gopclntab count from it
}

// section is where an ELF section's bytes lie in the file.
type section struct{ addr, size, offset uint64 }

func (s section) holds(addr, n uint64) bool { return addr >= s.addr && addr+n <= s.addr+s.size }

const pkgHashPrefix = "go:link.pkghashbytes."

// nativeMachine is the ELF machine of each GOARCH hotfix knows.
var nativeMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// readImage parses an ELF image. With want set, it keeps only the symbols
// want names and the package fingerprints: a patch's checks need a few of
// its tens of thousands of symbols. debug/elf panics on some hostile
// inputs; that becomes an ErrFormat here, at our boundary.
func readImage(r io.ReaderAt, want map[string]bool) (img *image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, errorf(ErrFormat, "malformed ELF: %v", r)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, errorf(ErrFormat, "not an ELF file: %v", err)
	}
	img = &image{machine: f.Machine, fileType: f.Type, funcs: map[string]uint64{}, sizes: map[string]uint64{}, own: map[string]uint64{}, objects: map[string]uint64{}, objSizes: map[string]uint64{}, pkgHash: map[string]string{}}
	if f.Class != elf.ELFCLASS64 {
		return img, nil // the caller names the class/machine mismatch
	}
	img.addSections(f)
	if s := f.Section(".note.go.buildid"); s != nil {
		data, err := s.Data()
		if err != nil {
			return nil, errorf(ErrFormat, "read build id note: %v", err)
		}
		img.buildID = parseGoNote(data)
	}
	if info, err := buildinfo.Read(r); err == nil {
		img.info = info
	}
	var syms []elf.Symbol
	if want != nil {
		syms, err = wantedSymbols(f, want)
	} else {
		syms, err = f.Symbols()
	}
	if err != nil {
		if f.Machine != nativeMachine[runtime.GOARCH] {
			// An ELF for another machine, say a bare hand-made header: the
			// caller names the machine, which says more than "no symbols".
			return img, nil
		}
		return nil, fmt.Errorf("%w: read symbol table: %w", ErrFormat, err)
	}
	hashSyms := img.addSymbols(syms)
	for _, s := range hashSyms {
		data, err := symbolData(f, s)
		if err != nil {
			return nil, err
		}
		img.pkgHash[strings.TrimPrefix(s.Name, pkgHashPrefix)] = fmt.Sprintf("%x", data)
	}
	return img, nil
}

// addSections records where the code and .gopclntab lie in the file.
func (img *image) addSections(f *elf.File) {
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS {
			continue
		}
		sec := section{s.Addr, s.Size, s.Offset}
		if s.Flags&elf.SHF_ALLOC != 0 {
			img.mapped = append(img.mapped, sec)
		}
		if s.Flags&elf.SHF_EXECINSTR != 0 {
			img.code = append(img.code, sec)
		}
		if s.Name == ".gopclntab" {
			img.pclntab = sec
		}
	}
}

// wantedSymbols returns the symbols of f's symbol table that want names
// (with or without the "local." prefix of a plugin's own copy) and the
// package fingerprints. It makes a string of those names only: a patch's
// symbol table has tens of thousands, and elf.File.Symbols made a string
// and a struct of each, several milliseconds and megabytes per patch.
func wantedSymbols(f *elf.File, want map[string]bool) ([]elf.Symbol, error) {
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil || symtab.Link == 0 || int(symtab.Link) >= len(f.Sections) {
		return nil, elf.ErrNoSymbols
	}
	data, err := symtab.Data()
	if err != nil {
		return nil, err
	}
	strs, err := f.Sections[symtab.Link].Data()
	if err != nil {
		return nil, err
	}
	const entLen = 24 // Elf64_Sym
	bo := f.ByteOrder
	var keep []elf.Symbol
	for i := entLen; i+entLen <= len(data); i += entLen { // entry 0 is the null symbol
		e := data[i : i+entLen]
		off := uint64(bo.Uint32(e[0:4]))
		if off >= uint64(len(strs)) {
			continue
		}
		name := strs[off:]
		if n := bytes.IndexByte(name, 0); n >= 0 {
			name = name[:n]
		}
		if !want[string(bytes.TrimPrefix(name, []byte("local.")))] && !bytes.HasPrefix(name, []byte(pkgHashPrefix)) {
			continue
		}
		keep = append(keep, elf.Symbol{
			Name: string(name), Info: e[4], Other: e[5], Section: elf.SectionIndex(bo.Uint16(e[6:8])),
			Value: bo.Uint64(e[8:16]), Size: bo.Uint64(e[16:24]),
		})
	}
	return keep, nil
}

// addSymbols records the functions and objects of the symbol table, and
// returns the package fingerprint symbols, whose bytes are read next.
func (img *image) addSymbols(syms []elf.Symbol) (hashSyms []elf.Symbol) {
	for _, s := range syms {
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_FUNC:
			name := s.Name
			if elf.ST_BIND(s.Info) == elf.STB_LOCAL && s.Section != elf.SHN_UNDEF {
				img.own[strings.TrimPrefix(name, "local.")] = s.Value
			}
			if strings.HasPrefix(name, "local.") {
				// The copy of a function in a plugin is a local symbol
				// with this prefix; keep both spellings.
				img.funcs[name], img.sizes[name] = s.Value, s.Size
				continue
			}
			if name == "runtime.text" {
				img.text = s.Value
			}
			if _, dup := img.funcs[name]; !dup {
				img.funcs[name], img.sizes[name] = s.Value, s.Size
			}
		case elf.STT_OBJECT:
			img.objects[s.Name], img.objSizes[s.Name] = s.Value, s.Size
			if strings.HasPrefix(s.Name, pkgHashPrefix) && s.Size > 0 && s.Size <= 64 {
				hashSyms = append(hashSyms, s)
			}
		}
	}
	return hashSyms
}

// ownCode returns the address of the file's own copy of function sym. In a
// plugin, a global function is both a global symbol, which the dynamic
// linker may bind to the host's copy, and a local alias "local.<sym>" for
// the plugin's; Go 1.27 makes closures static, bound LOCAL under their
// plain name with no alias (TestPluginClosureSymbols). Either is the
// plugin's own code.
func (img *image) ownCode(sym string) (uint64, bool) {
	v, ok := img.own[sym]
	return v, ok
}

// PluginCode reports which of syms the plugin file at path has code of its
// own for.
func PluginCode(path string, syms []string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, s := range syms {
		want[s] = true
	}
	img, err := readImage(f, want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	has := map[string]bool{}
	for _, s := range syms {
		_, has[s] = img.ownCode(s)
	}
	return has, nil
}

func symbolData(f *elf.File, s elf.Symbol) ([]byte, error) {
	b, _, err := SymbolBytes(f, s)
	return b, err
}

// SymbolBytes returns a symbol's bytes and their offset in the file, for
// a builder that rewrites them (patchbuild's fingerprint adoption).
func SymbolBytes(f *elf.File, s elf.Symbol) ([]byte, int64, error) {
	if int(s.Section) <= 0 || int(s.Section) >= len(f.Sections) {
		return nil, 0, errorf(ErrFormat, "symbol %s in no section", s.Name)
	}
	sec := f.Sections[s.Section]
	if sec.Type == elf.SHT_NOBITS || s.Value < sec.Addr || s.Value-sec.Addr+s.Size > sec.Size {
		return nil, 0, errorf(ErrFormat, "symbol %s outside its section's bytes", s.Name)
	}
	b := make([]byte, s.Size)
	if _, err := sec.ReadAt(b, int64(s.Value-sec.Addr)); err != nil {
		return nil, 0, errorf(ErrFormat, "read symbol %s: %v", s.Name, err)
	}
	return b, int64(sec.Offset + s.Value - sec.Addr), nil
}

// parseGoNote extracts the Go build ID from a .note.go.buildid section:
// namesz, descsz, type, "Go\x00\x00", then the ID (cmd/internal/buildid).
func parseGoNote(b []byte) string {
	if len(b) < 16 {
		return ""
	}
	namesz := binary.LittleEndian.Uint32(b[0:4])
	descsz := binary.LittleEndian.Uint32(b[4:8])
	if namesz != 4 || string(b[12:16]) != "Go\x00\x00" || uint64(descsz) > uint64(len(b)-16) {
		return ""
	}
	return string(b[16 : 16+descsz])
}
