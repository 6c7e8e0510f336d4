package loader

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"
)

// Dictionaries reads the runtime dictionaries of generic code named by
// syms (symbols "pkg..dict.F[int]") from the ELF file at path, a Go
// executable or a plugin, and describes each word of each one:
//
//	type T        a runtime type descriptor (its name, as reflect prints it)
//	itab I        an itab symbol, go:itab.T,I without the prefix
//	dict D        a sub-dictionary, by symbol
//	func F        a function (a method expression of a type parameter)
//	nil           a zero word
//
// A shape function reads the words of the dictionary its caller passes
// at the indices its own body was compiled for (cmd/compile/internal/
// noder/reader.go, readerDict: type arguments' method expressions,
// sub-dictionaries, runtime types, itabs), so new code compiled with its
// own dictionary may run with the release's only where the two agree
// word for word. A plugin's words are relocations (.rela.dyn); an
// executable's are link-time addresses. A symbol missing from the file
// is missing from the result.
func Dictionaries(path string, syms []string) (m map[string][]string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, errorf(ErrFormat, "%s: malformed ELF: %v", path, r)
		}
	}()
	d, err := newDictReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m = map[string][]string{}
	for _, s := range syms {
		sym, ok := d.byName[s]
		if !ok {
			continue
		}
		var words []string
		for off := uint64(0); off+8 <= sym.Size; off += 8 {
			words = append(words, d.word(sym.Value+off))
		}
		m[s] = words
	}
	return m, nil
}

type dictReader struct {
	f              *elf.File
	byName         map[string]elf.Symbol
	byAddr         map[uint64]string // OBJECT and FUNC symbols by value
	types, etypes  uint64
	rela           map[uint64]elf.Rela64
	dynsyms        []elf.Symbol
	abs64, relativ uint32 // the machine's relocation types
}

func newDictReader(f *elf.File) (*dictReader, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, errorf(ErrFormat, "read symbol table: %v", err)
	}
	d := &dictReader{f: f, byName: map[string]elf.Symbol{}, byAddr: map[uint64]string{}, rela: map[uint64]elf.Rela64{}}
	for _, s := range syms {
		name := strings.TrimPrefix(s.Name, "local.")
		switch name {
		case "runtime.types":
			d.types = s.Value
		case "runtime.etypes":
			d.etypes = s.Value
		}
		t := elf.ST_TYPE(s.Info)
		if t != elf.STT_OBJECT && t != elf.STT_FUNC || s.Section == elf.SHN_UNDEF {
			continue
		}
		if _, dup := d.byName[name]; !dup {
			d.byName[name] = s
		}
		if old, dup := d.byAddr[s.Value]; !dup || strings.HasPrefix(old, "type:") {
			d.byAddr[s.Value] = name
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		d.abs64, d.relativ = uint32(elf.R_X86_64_64), uint32(elf.R_X86_64_RELATIVE)
	case elf.EM_AARCH64:
		d.abs64, d.relativ = uint32(elf.R_AARCH64_ABS64), uint32(elf.R_AARCH64_RELATIVE)
	}
	if s := f.Section(".rela.dyn"); s != nil {
		data, err := s.Data()
		if err != nil {
			return nil, errorf(ErrFormat, "read .rela.dyn: %v", err)
		}
		for i := 0; i+24 <= len(data); i += 24 {
			r := elf.Rela64{Off: f.ByteOrder.Uint64(data[i:]), Info: f.ByteOrder.Uint64(data[i+8:]), Addend: int64(f.ByteOrder.Uint64(data[i+16:]))}
			d.rela[r.Off] = r
		}
		d.dynsyms, _ = f.DynamicSymbols()
	}
	return d, nil
}

// word describes the pointer-sized word at addr.
func (d *dictReader) word(addr uint64) string {
	if r, ok := d.rela[addr]; ok {
		typ, idx := uint32(r.Info), r.Info>>32
		switch {
		case typ == d.relativ:
			return d.target(uint64(r.Addend))
		case typ == d.abs64 && idx >= 1 && int(idx) <= len(d.dynsyms):
			s := d.dynsyms[idx-1] // DynamicSymbols drops the null entry
			if s.Section != elf.SHN_UNDEF {
				return d.target(s.Value + uint64(r.Addend))
			}
			if t, ok := strings.CutPrefix(s.Name, "type:"); ok && r.Addend == 0 {
				return "type " + t
			}
			return fmt.Sprintf("%s%+d", s.Name, r.Addend)
		}
		return fmt.Sprintf("relocation %d", typ)
	}
	b := d.read(addr, 8)
	if b == nil {
		return "unreadable"
	}
	v := d.f.ByteOrder.Uint64(b)
	if v == 0 {
		return "nil"
	}
	return d.target(v)
}

// target names what an address points to.
func (d *dictReader) target(a uint64) string {
	name, ok := d.byAddr[a]
	switch {
	case ok && strings.Contains(name, "..dict."):
		return "dict " + name
	case ok && strings.HasPrefix(name, "go:itab."):
		return "itab " + strings.TrimPrefix(name, "go:itab.")
	case a >= d.types && a < d.etypes:
		if t := d.typeName(a); t != "" {
			return "type " + t
		}
	case ok && !strings.HasPrefix(name, "type:"):
		return "func " + name
	}
	return fmt.Sprintf("%#x", a)
}

// typeName decodes the name of the runtime type descriptor at a: its Str
// field (internal/abi.Type, at offset 40 on 64-bit machines) is an offset
// from runtime.types to a name (internal/abi.Name: a flags byte, a varint
// length, the bytes), with a '*' to drop under TFlagExtraStar.
func (d *dictReader) typeName(a uint64) string {
	hdr := d.read(a, 48)
	if hdr == nil {
		return ""
	}
	tflag := hdr[20]
	str := int32(binary.LittleEndian.Uint32(hdr[40:]))
	if d.f.ByteOrder != binary.LittleEndian {
		str = int32(d.f.ByteOrder.Uint32(hdr[40:]))
	}
	nb := d.read(d.types+uint64(int64(str)), 12)
	if nb == nil {
		return ""
	}
	n, w := binary.Uvarint(nb[1:])
	if w <= 0 || n > 1<<16 {
		return ""
	}
	s := d.read(d.types+uint64(int64(str))+1+uint64(w), n)
	if s == nil {
		return ""
	}
	name := string(s)
	if tflag&(1<<1) != 0 { // abi.TFlagExtraStar
		name = strings.TrimPrefix(name, "*")
	}
	return name
}

// read returns n bytes at address a, or nil.
func (d *dictReader) read(a, n uint64) []byte {
	for _, s := range d.f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Addr == 0 || a < s.Addr || a+n > s.Addr+s.Size {
			continue
		}
		b := make([]byte, n)
		if _, err := s.ReadAt(b, int64(a-s.Addr)); err != nil {
			return nil
		}
		return b
	}
	return nil
}
