package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
)

// Inline trees: where the compiler copied a function's body into another
// function. No jump at the function's entry reaches such a copy, so a
// patch for it would fix only some of its callers. The runtime keeps the
// trees to print inlined frames in tracebacks (runtime/symtabinl.go): per
// function, FUNCDATA_InlTree points to an array of inlinedCall records
// in go:func.*, and the PCDATA_InlTreeIndex table gives, for each
// instruction, the record of the innermost inlined call it belongs to
// (-1 for the function's own code). Every record is the value of some
// instruction: the compiler keeps only the records its instructions
// reference and their parents, and a parent's record is the value at its
// child's parentPc, the call site (cmd/internal/obj/pcln.go,
// pcinlineState.addBranch). TestInlineTreeFacts checks this reading
// against binaries built by the toolchain in use.

const (
	pcdataInlTreeIndex = 2  // internal/abi PCDATA_InlTreeIndex
	funcdataInlTree    = 3  // internal/abi FUNCDATA_InlTree
	inlinedCallLen     = 16 // runtime.inlinedCall: funcID, pad, nameOff, parentPc, startLine
	goFuncSym          = "go:func.*"
)

// InlineSite is one place where a function was inlined.
type InlineSite struct {
	Caller string // the function of the binary whose code holds the copy
	// Within is the inlined function whose body makes the call when the
	// copy is nested (inlined into a function itself inlined into
	// Caller); empty when Caller's own body makes it.
	Within string
	File   string // the call's position, as the binary records it
	Line   int
}

func (s InlineSite) String() string {
	str := fmt.Sprintf("inlined into %s at %s:%d", s.Caller, s.File, s.Line)
	if s.Within != "" {
		str += " (in " + s.Within + ", itself inlined there)"
	}
	return str
}

// inlSite is an InlineSite before its names and position are read.
type inlSite struct {
	caller   uint64 // offset of the caller's _func in .gopclntab
	tree     uint64 // offset of the caller's inline tree in .gopclntab
	parentPC uint32 // the call site, from the caller's entry
}

// inlIndex holds the name offsets (into the function name table) of every
// function inlined somewhere in a binary, sorted: a few KB where a map of
// every site would take megabytes and most of the time to build.
type inlIndex []uint32

func (x inlIndex) has(nameOff uint32) bool {
	_, ok := slices.BinarySearch(x, nameOff)
	return ok
}

// pcln is a whole .gopclntab in memory, for walking every function.
type pcln struct {
	*pclntab
	b      []byte
	gofunc uint64 // offset of go:func.*, where funcdata offsets count from
}

func (p *pcln) u32(off uint64) (uint32, bool) {
	if off > uint64(len(p.b)) || uint64(len(p.b))-off < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(p.b[off:]), true
}

// cstring reads a NUL-terminated string at off.
func (p *pcln) cstring(off uint64) (string, bool) {
	if off >= uint64(len(p.b)) {
		return "", false
	}
	i := bytes.IndexByte(p.b[off:], 0)
	if i < 0 {
		return "", false
	}
	return string(p.b[off : off+uint64(i)]), true
}

// table returns the offset of pc-value table i of the _func at f (0: none).
func (p *pcln) table(f uint64, i uint32) uint32 {
	n, ok := p.u32(f + 28)
	if !ok || i >= n {
		return 0
	}
	off, _ := p.u32(f + funcHeaderLen + 4*uint64(i))
	return off
}

// inlTree returns the offset of the inline tree of the _func at f.
func (p *pcln) inlTree(f uint64) (uint64, bool) {
	if f+funcHeaderLen > uint64(len(p.b)) || p.b[f+funcHeaderLen-1] <= funcdataInlTree {
		return 0, false
	}
	npcdata, _ := p.u32(f + 28)
	off, ok := p.u32(f + funcHeaderLen + 4*uint64(npcdata) + 4*funcdataInlTree)
	if !ok || off == ^uint32(0) {
		return 0, false
	}
	return p.gofunc + uint64(off), true
}

// valueAt returns the value at offset pc of the pc-value table at tab
// (relative to the pc-value tables); -1 when there is none.
func (p *pcln) valueAt(tab uint32, pc uint64) int64 {
	v := int64(-1)
	if tab == 0 || p.pctab+uint64(tab) >= uint64(len(p.b)) {
		return v
	}
	pcRuns(p.b[p.pctab+uint64(tab):], p.quantum, func(from, end uint64, val int64) bool {
		if pc >= from && pc < end {
			v = val
			return false
		}
		return pc >= end
	})
	return v
}

// calls returns which records of the inline tree of the _func at f its
// instructions reference, by index. The values of its
// PCDATA_InlTreeIndex table are decoded as pcRuns does, without the
// positions: this loop runs over every function of the binary.
func (p *pcln) calls(f uint64, seen []bool) []bool {
	seen = seen[:0]
	tab := p.table(f, pcdataInlTreeIndex)
	if tab == 0 || p.pctab+uint64(tab) >= uint64(len(p.b)) {
		return seen
	}
	t := p.b[p.pctab+uint64(tab):]
	limit := int64(len(p.b)) / inlinedCallLen
	val := int64(-1)
	for first := true; ; first = false {
		uv, k := binary.Uvarint(t)
		if k <= 0 || (uv == 0 && !first) {
			return seen
		}
		_, k2 := binary.Uvarint(t[k:])
		if k2 <= 0 {
			return seen
		}
		t = t[k+k2:]
		val += int64(-(uv & 1) ^ (uv >> 1))
		if val >= 0 && val < limit {
			for int64(len(seen)) <= val {
				seen = append(seen, false)
			}
			seen[val] = true
		}
	}
}

// walk calls fn with every inlining of the binary, in address order:
// the name offset of the inlined function, and the site.
func (p *pcln) walk(fn func(name uint32, s inlSite)) error {
	var scratch []bool
	for i := uint64(0); i < p.nfunc; i++ {
		fo, ok := p.u32(p.pcln + i*8 + 4)
		if !ok {
			return errorf(ErrFormat, ".gopclntab function table out of range")
		}
		f := p.pcln + uint64(fo)
		tree, ok := p.inlTree(f)
		if !ok {
			continue
		}
		scratch = p.calls(f, scratch)
		for n, ok := range scratch {
			if !ok {
				continue
			}
			e := tree + uint64(n)*inlinedCallLen
			name, ok1 := p.u32(e + 4)
			parent, ok2 := p.u32(e + 8)
			if !ok1 || !ok2 {
				return errorf(ErrFormat, "inline tree at %#x out of range", e)
			}
			fn(name, inlSite{caller: f, tree: tree, parentPC: parent})
		}
	}
	return nil
}

// index lists every function inlined somewhere in the binary.
func (p *pcln) index() (inlIndex, error) {
	seen := make([]uint64, (p.size-int64(p.funcnametab))/64+1)
	var idx inlIndex
	err := p.walk(func(name uint32, _ inlSite) {
		w, bit := uint64(name)/64, uint64(1)<<(name%64)
		if w < uint64(len(seen)) && seen[w]&bit == 0 {
			seen[w] |= bit
			idx = append(idx, name)
		}
	})
	slices.Sort(idx)
	return idx, err
}

// sites returns every inlining of the function whose name is at nameOff.
func (p *pcln) sites(nameOff uint32) ([]InlineSite, error) {
	var out []InlineSite
	err := p.walk(func(name uint32, s inlSite) {
		if name == nameOff {
			out = append(out, p.site(s))
		}
	})
	return out, err
}

// nameOff finds a function name in the name table.
func (p *pcln) nameOff(name string) (uint32, bool) {
	tab := p.b[min(p.funcnametab, uint64(len(p.b))):]
	key := []byte(name + "\x00")
	for at := 0; at < len(tab); {
		i := bytes.Index(tab[at:], key)
		if i < 0 {
			return 0, false
		}
		if at+i == 0 || tab[at+i-1] == 0 {
			return uint32(at + i), true
		}
		at += i + 1
	}
	return 0, false
}

// funcName returns the name of the _func at f.
func (p *pcln) funcName(f uint64) string {
	off, ok := p.u32(f + 4)
	s, ok2 := p.cstring(p.funcnametab + uint64(off))
	if !ok || !ok2 {
		return "?"
	}
	return s
}

// site reads the names and position of an inlining: the position the
// binary records for the call site's instruction, as a traceback would
// print it (runtime/symtab.go funcline1).
func (p *pcln) site(s inlSite) InlineSite {
	out := InlineSite{Caller: p.funcName(s.caller), File: "?"}
	pc := uint64(s.parentPC)
	pcfile, _ := p.u32(s.caller + 20)
	pcline, _ := p.u32(s.caller + 24)
	out.Line = max(0, int(p.valueAt(pcline, pc)))
	if fileno := p.valueAt(pcfile, pc); fileno >= 0 {
		cu, _ := p.u32(s.caller + 32)
		if off, ok := p.u32(p.cutab + 4*(uint64(cu)+uint64(fileno))); ok && off != ^uint32(0) {
			if name, ok := p.cstring(p.filetab + uint64(off)); ok {
				out.File = name
			}
		}
	}
	if n := p.valueAt(p.table(s.caller, pcdataInlTreeIndex), pc); n >= 0 {
		if name, ok := p.u32(s.tree + uint64(n)*inlinedCallLen + 4); ok {
			out.Within, _ = p.cstring(p.funcnametab + uint64(name))
		}
	}
	return out
}

// withPcln calls fn with the binary's .gopclntab, mapped, and go:func.*
// found in it (the linker lays the funcdata out inside the section:
// TestInlineTreeFacts fails otherwise). A fault reading the mapped file
// (truncated meanwhile) is an error, not a crash.
func (b *Binary) withPcln(fn func(p *pcln) error) (err error) {
	sec := b.img.pclntab
	if sec.size == 0 || sec.size > 1<<31 {
		return errorf(ErrFormat, "%s: .gopclntab of %d bytes", b.Path, sec.size)
	}
	gf, ok := b.img.objects[goFuncSym]
	if !ok || gf < sec.addr || gf >= sec.addr+sec.size {
		return errorf(ErrIncompatible, "%s: no symbol %s inside .gopclntab", b.Path, goFuncSym)
	}
	data, unmap, err := mapSection(b.file, sec.offset, sec.size)
	if err != nil {
		return fmt.Errorf("%s: read .gopclntab: %w", b.Path, err)
	}
	defer unmap()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = errorf(ErrFormat, "%s: read .gopclntab: %v", b.Path, r)
		}
	}()
	t, err := readPclntab(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%s: %w", b.Path, err)
	}
	return fn(&pcln{pclntab: t, b: data, gofunc: gf - sec.addr})
}

// Inlined returns every place where the compiler inlined the function
// named (a linker symbol, as Func takes it) in the binary, in address
// order; none when it was inlined nowhere. The first call walks every
// function's inline tree and keeps which functions were inlined
// (BenchmarkInlined); later calls for a function inlined nowhere only
// look its name up. Safe for concurrent use.
func (b *Binary) Inlined(name string) ([]InlineSite, error) {
	if err := b.IndexInlined(); err != nil {
		return nil, err
	}
	off, ok, err := b.funcNameOff(name)
	if err != nil || (ok && !b.inl.idx.has(off)) {
		return nil, err
	}
	// Inlined, or not in the symbol table (dead, or inlined everywhere):
	// read the sites.
	var sites []InlineSite
	err = b.withPcln(func(p *pcln) (err error) {
		if !ok {
			if off, ok = p.nameOff(name); !ok || !b.inl.idx.has(off) {
				return nil
			}
		}
		sites, err = p.sites(off)
		return err
	})
	return sites, err
}

// IndexInlined walks every function's inline tree once, keeping which
// functions were inlined: the first call costs a few milliseconds
// (BenchmarkInlined), which the agent pays in the background at start,
// not when the first patch arrives. Safe for concurrent use.
func (b *Binary) IndexInlined() error {
	b.inl.once.Do(func() {
		b.inl.err = b.withPcln(func(p *pcln) (err error) {
			b.inl.idx, err = p.index()
			return err
		})
	})
	return b.inl.err
}

// AllInlined returns every function inlined somewhere in the binary, by
// name, with its sites in address order as Inlined returns them: one walk
// of the inline trees for all, where Inlined walks them once per function
// (a few milliseconds each), which a question about every function of a
// large binary cannot afford. Safe for concurrent use.
func (b *Binary) AllInlined() (map[string][]InlineSite, error) {
	all := map[string][]InlineSite{}
	err := b.withPcln(func(p *pcln) error {
		names := map[uint32]string{}
		return p.walk(func(off uint32, s inlSite) {
			name, ok := names[off]
			if !ok {
				name, _ = p.cstring(p.funcnametab + uint64(off))
				names[off] = name
			}
			all[name] = append(all[name], p.site(s))
		})
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// InlinedWithPrefix returns the names of the functions inlined somewhere
// in the binary whose names start with prefix. A generic function's
// shape instantiation may exist only inlined, into a package built
// without -l, with no function of its own to find by name.
func (b *Binary) InlinedWithPrefix(prefix string) ([]string, error) {
	if err := b.IndexInlined(); err != nil {
		return nil, err
	}
	var out []string
	err := b.withPcln(func(p *pcln) error {
		for _, off := range b.inl.idx {
			if n, ok := p.cstring(p.funcnametab + uint64(off)); ok && strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return nil
	})
	return out, err
}

// funcNameOff returns the name offset of a function of the symbol table,
// read from its _func (a few small reads).
func (b *Binary) funcNameOff(name string) (uint32, bool, error) {
	v, ok := b.img.funcs[name]
	if !ok || v < b.img.text {
		return 0, false, nil
	}
	sec := b.img.pclntab
	f, err := os.Open(b.file)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	tab, err := readPclntab(io.NewSectionReader(f, int64(sec.offset), int64(sec.size)), int64(sec.size))
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", b.Path, err)
	}
	fo, err := tab.funcOffset(v - b.img.text)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", name, err)
	}
	off, err := tab.u32(fo + 4)
	return off, err == nil, err
}
