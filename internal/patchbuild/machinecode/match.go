package machinecode

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gohotfix/hotfix/loader"
)

// Matcher decides whether a function of the release binary is, byte for
// byte, what the linker would have made of the fix's compiled function
// at the same address: every byte outside a relocated field equal, and
// every relocated field referring to the same thing. The same thing is
// the symbol of the same name, when the release's symbol table has it
// and its name says what it is (a function, a package variable, a type
// descriptor: one per name in a program); and otherwise, for read-only
// data such as a string literal (no binary names those) or a composite
// literal's static bytes (their names are numbered per compilation),
// bytes equal to the fix's, checked the same way. Anything else cannot
// be proven the same, and is not.
type Matcher struct {
	bin  *loader.Binary
	syms Listing
	// redirected are the functions the patch redirects. A function of the
	// Listing the release names but the patch does not redirect is the
	// same thing only if its code is the same too: a closure whose
	// captures changed, or a function whose signature changed, keeps the
	// release's code, and a caller that refers to it by name would run
	// that old code if it were left out as the same.
	redirected map[string]bool
	// seen holds the read-only data compared at an address: nil when
	// proven the same, or being proven further up the chain (a cycle of
	// references is the same if all else is), else why it is not.
	seen   map[symAt]error
	proven []symAt // the keys of seen proven the same, in order
	tls    *uint32 // the g slot's offset from FS (amd64), once seen
	// NewSig: functions whose signature the patch changes. The release's
	// function of that name is the old one, left in place and never
	// redirected (signature.go): a call to it in the release is not the
	// patch's call, whatever the bytes.
	NewSig map[string]bool
}

type symAt struct {
	name string
	at   uint64
}

// NewMatcher compares the functions of the release binary bin with the
// compiled code of syms; redirected are the functions the patch redirects.
func NewMatcher(bin *loader.Binary, syms Listing, redirected []string) *Matcher {
	m := &Matcher{bin: bin, syms: syms, seen: map[symAt]error{}, redirected: map[string]bool{}}
	for _, n := range redirected {
		m.redirected[n] = true
	}
	return m
}

// Same returns nil when the release's function name is the code the
// Listing has for it, or says why it is not, or cannot be proven so.
func (m *Matcher) Same(name string) error {
	s := m.syms[name]
	if s == nil || s.kind != "STEXT" {
		return fmt.Errorf("no code for %s in the fix's Listing", name)
	}
	at, size, ok := m.bin.Symbol(name)
	if !ok {
		return fmt.Errorf("%s: not in the release's symbol table", name)
	}
	if int(size) != s.size {
		return fmt.Errorf("%d bytes in the release, %d in the fix", size, s.size)
	}
	return m.bytesAt(s, at)
}

// bytesAt compares the bytes of s with the release's at address at, and
// each of its relocations with the field the release has there.
func (m *Matcher) bytesAt(s *Sym, at uint64) error {
	if len(s.data) != s.size {
		return fmt.Errorf("%s: no bytes in the Listing", s.name)
	}
	rel, err := m.bin.Bytes(at, s.size)
	if err != nil {
		return err
	}
	fixed := bytes.Clone(s.data)
	for _, r := range s.relocs {
		if r.size == 0 {
			continue // marks for the linker (R_USEIFACE, R_CALLIND...): no bytes
		}
		if err := m.field(r, rel[r.off:r.off+r.size], s.data[r.off:r.off+r.size], at+uint64(r.off)); err != nil {
			return fmt.Errorf("%s+%d: %w", s.name, r.off, err)
		}
		copy(fixed[r.off:r.off+r.size], rel[r.off:r.off+r.size])
	}
	if i := firstDiff(fixed, rel); i >= 0 {
		return fmt.Errorf("%s+%d: byte %#02x in the release, %#02x in the fix", s.name, i, rel[i], fixed[i])
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// field checks one relocated field of the release's, at address p.
func (m *Matcher) field(r Reloc, rel, fix []byte, p uint64) error {
	if r.typ == "R_TLS_LE" && r.sym == "TLS" && m.bin.Machine() == elf.EM_X86_64 && len(rel) == 4 {
		// The g slot, which an ABI wrapper reloads R14 from after a call
		// to assembly: its offset from FS is one constant per binary, and
		// Go code refers to no other thread-local variable.
		v := binary.LittleEndian.Uint32(rel)
		if m.tls == nil {
			m.tls = &v
		}
		if *m.tls != v {
			return fmt.Errorf("thread-local offset %#x, elsewhere %#x", v, *m.tls)
		}
		return nil
	}
	ref, err := fieldRef(m.bin.Machine(), r.typ, rel, fix, p)
	if err != nil {
		return err
	}
	return m.refersTo(r, ref)
}

// refersTo checks that the release's field, which refers to address ref,
// refers to what the fix's relocation r names.
func (m *Matcher) refersTo(r Reloc, ref uint64) error {
	name := r.sym
	if m.NewSig[name] {
		return fmt.Errorf("refers to %s, whose signature changed: the release's is the old function, which stays", name)
	}
	at := ref - uint64(r.add)
	s := m.syms[name]
	if s != nil && s.static {
		// Numbered per compilation (..stmp_3, F.jump5): the name says
		// nothing; the bytes say all, if they are read-only.
		return m.readOnlyAt(s, at)
	}
	if addr, ok := m.named(name); ok {
		if addr != at {
			return fmt.Errorf("refers to %#x, the fix to %s at %#x", at, name, addr)
		}
		if s != nil && s.kind == "STEXT" && !m.redirected[name] {
			return m.prove(symAt{name, at}, func() error { return m.Same(name) })
		}
		return nil
	}
	if s != nil {
		return m.readOnlyAt(s, at) // a string literal: no binary names it
	}
	return fmt.Errorf("refers to %s, which the release's symbol table does not name", name)
}

// named returns the release's address of the symbol the compiler calls
// name: a function's ABI0 body (assembly) is NAME.abi0 in a binary, and
// the Listing names both ABIs alike.
func (m *Matcher) named(name string) (uint64, bool) {
	if name == "" {
		return 0, false
	}
	for _, n := range []string{name, name + ".abi0", MangledType(name)} {
		if addr, _, ok := m.bin.Symbol(n); ok {
			return addr, true
		}
	}
	return 0, false
}

// MangledType returns the name a binary that can load plugins gives the
// type descriptor the compiler calls name, when it is longer than 14
// bytes and not the runtime's: "type:" and a hash
// (cmd/link/internal/ld/lib.go typeSymbolMangle, with cmd/internal/hash
// Sum32: SHA-256 with its first byte inverted), or "".
func MangledType(name string) string {
	rest, ok := strings.CutPrefix(name, "type:")
	if !ok || len(name) <= 14 || strings.HasPrefix(name, "type:runtime.") || strings.Contains(name, "@") {
		return ""
	}
	sum := sha256.Sum256([]byte(rest))
	sum[0] ^= 0xff
	prefix := "type:"
	if rest[0] == '.' {
		prefix = "type:."
	}
	return prefix + base64.StdEncoding.EncodeToString(sum[:6])
}

// readOnlyAt checks read-only data of the fix against the release's bytes
// at address at. Writable data is state: two copies are never the same
// thing, however equal their bytes.
func (m *Matcher) readOnlyAt(s *Sym, at uint64) error {
	if s.kind != "SRODATA" {
		return fmt.Errorf("refers to %s (%s), whose release copy cannot be identified", s.name, s.kind)
	}
	return m.prove(symAt{s.name, at}, func() error { return m.bytesAt(s, at) })
}

// prove compares what k names once: while it is being compared it is
// taken for the same (a cycle of references is the same if all else is);
// what was proven while a comparison that failed was taken for the same
// is forgotten, to be compared again.
func (m *Matcher) prove(k symAt, compare func() error) error {
	if err, ok := m.seen[k]; ok {
		return err
	}
	m.seen[k] = nil
	from := len(m.proven)
	if err := compare(); err != nil {
		for _, p := range m.proven[from:] {
			delete(m.seen, p)
		}
		m.proven = m.proven[:from]
		m.seen[k] = fmt.Errorf("refers to %s: %w", strings.TrimSpace(k.name), err)
		return m.seen[k]
	}
	m.proven = append(m.proven, k)
	return nil
}

// fieldRef decodes the address sym+add that a relocated field of the
// release's code or data holds, at address p, and checks that the bits
// the relocation does not set are the fix's (on arm64 a relocation sets
// the immediate of whole instructions). It knows the relocations the
// compiler emits for Go code in an executable on amd64 and arm64
// (cmd/link/internal/amd64/asm.go, arm64/asm.go, ld/data.go); any other
// is an error, never a match.
func fieldRef(m elf.Machine, typ string, rel, fix []byte, p uint64) (uint64, error) {
	le := binary.LittleEndian
	switch {
	case typ == "R_ADDR" && len(rel) == 8:
		return le.Uint64(rel), nil
	case typ == "R_ADDR" && len(rel) == 4:
		return uint64(le.Uint32(rel)), nil
	case m == elf.EM_X86_64 && (typ == "R_CALL" || typ == "R_PCREL") && len(rel) == 4:
		// The displacement counts from the end of the field.
		return p + 4 + uint64(int64(int32(le.Uint32(rel)))), nil
	case m == elf.EM_AARCH64 && typ == "R_CALLARM64" && len(rel) == 4:
		return arm64Branch(le.Uint32(rel), le.Uint32(fix), p)
	case m == elf.EM_AARCH64 && len(rel) == 8:
		if scale, ok := arm64PageScale[typ]; ok {
			return arm64Page(le.Uint32(rel), le.Uint32(rel[4:]), le.Uint32(fix), le.Uint32(fix[4:]), p, scale)
		}
	}
	return 0, fmt.Errorf("relocation %s of %d bytes: not one this check reads", typ, len(rel))
}

// arm64PageScale is, for each ADRP-and-second-instruction relocation, how
// the second instruction's 12-bit immediate counts: an ADD adds it, a
// load or store of n bytes scales it by n.
var arm64PageScale = map[string]uint64{
	"R_ADDRARM64":          1,
	"R_ARM64_PCREL":        1,
	"R_ARM64_PCREL_LDST8":  1,
	"R_ARM64_PCREL_LDST16": 2,
	"R_ARM64_PCREL_LDST32": 4,
	"R_ARM64_PCREL_LDST64": 8,
}

// arm64Branch decodes a B or BL: imm26, in instructions, from p.
func arm64Branch(rel, fix uint32, p uint64) (uint64, error) {
	const imm = 0x03ffffff
	if rel&^imm != fix&^imm {
		return 0, fmt.Errorf("instruction %#08x in the release, %#08x in the fix", rel, fix)
	}
	off := int64(int32(rel<<6)>>6) * 4
	return p + uint64(off), nil
}

// arm64Page decodes ADRP (page of p plus immhi:immlo pages) followed by an
// instruction with a 12-bit unsigned immediate at bits 10-21.
func arm64Page(adrp, lo, fixAdrp, fixLo uint32, p, scale uint64) (uint64, error) {
	const adrpImm, loImm = 0x60ffffe0, 0x003ffc00
	if adrp&0x9f000000 != 0x90000000 || adrp&^adrpImm != fixAdrp&^adrpImm || lo&^loImm != fixLo&^loImm {
		return 0, fmt.Errorf("instructions %#08x %#08x in the release, %#08x %#08x in the fix", adrp, lo, fixAdrp, fixLo)
	}
	pages := int64(int32(((adrp>>5)&0x7ffff)<<2|(adrp>>29)&3) << 11 >> 11)
	return p&^0xfff + uint64(pages<<12) + uint64((lo>>10)&0xfff)*scale, nil
}
