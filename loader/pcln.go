package loader

import (
	"encoding/binary"
	"io"
)

// pclntab reads the one table of a Go binary's .gopclntab that the
// patcher needs and debug/gosym does not expose: PCDATA_UnsafePoint, which
// says at which instructions the runtime may park a goroutine by
// asynchronous preemption (runtime/preempt.go isAsyncSafePoint). The
// layout is Go 1.20's and is still current in Go 1.26 and 1.27 (see
// runtime/symtab.go pcHeader, runtime/runtime2.go _func, internal/abi
// symtab.go); TestUnsafePointFacts checks it against the running binary.
type pclntab struct {
	r       io.ReaderAt // the .gopclntab section
	size    int64
	nfunc   uint64
	quantum uint64
	pctab   uint64 // offset of the pc-value tables
	pcln    uint64 // offset of the function table
	// Offsets of the function names, the compilation units' file
	// indexes and the file names (for inline trees, inltree.go).
	funcnametab, cutab, filetab uint64
}

const (
	go120Magic = 0xfffffff1
	// Values of the PCDATA_UnsafePoint table (internal/abi/symtab.go).
	unsafePointTable  = 0
	unsafePointUnsafe = -2
	funcHeaderLen     = 44 // _func up to and including nfuncdata
)

func readPclntab(r io.ReaderAt, size int64) (*pclntab, error) {
	var h [8 + 8*8]byte
	if size < int64(len(h)) {
		return nil, errorf(ErrFormat, ".gopclntab of %d bytes", size)
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, errorf(ErrFormat, "read .gopclntab header: %v", err)
	}
	le := binary.LittleEndian
	if m := le.Uint32(h[0:]); m != go120Magic || h[4] != 0 || h[5] != 0 || h[7] != 8 {
		return nil, errorf(ErrIncompatible, ".gopclntab magic %#x (pointer size %d): not the layout of Go 1.20 and later", m, h[7])
	}
	t := &pclntab{r: r, size: size, quantum: uint64(h[6]), nfunc: le.Uint64(h[8:]), pctab: le.Uint64(h[8+6*8:]), pcln: le.Uint64(h[8+7*8:]),
		funcnametab: le.Uint64(h[8+3*8:]), cutab: le.Uint64(h[8+4*8:]), filetab: le.Uint64(h[8+5*8:])}
	if t.quantum == 0 || t.nfunc > uint64(size)/8 || t.pctab > uint64(size) || t.pcln > uint64(size) ||
		t.funcnametab > uint64(size) || t.cutab > uint64(size) || t.filetab > uint64(size) {
		return nil, errorf(ErrFormat, ".gopclntab header out of range")
	}
	return t, nil
}

func (t *pclntab) u32(off uint64) (uint32, error) {
	var b [4]byte
	if off > uint64(t.size)-4 {
		return 0, errorf(ErrFormat, ".gopclntab offset %#x out of range", off)
	}
	if _, err := t.r.ReadAt(b[:], int64(off)); err != nil {
		return 0, errorf(ErrFormat, "read .gopclntab at %#x: %v", off, err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// funcOffset finds the _func of the function whose entry is entryOff bytes
// past the start of the text, by binary search of the function table.
func (t *pclntab) funcOffset(entryOff uint64) (uint64, error) {
	lo, hi := uint64(0), t.nfunc
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := t.u32(t.pcln + mid*8)
		if err != nil {
			return 0, err
		}
		switch {
		case uint64(e) == entryOff:
			off, err := t.u32(t.pcln + mid*8 + 4)
			return t.pcln + uint64(off), err
		case uint64(e) < entryOff:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, errorf(ErrSymbol, "no function starts at text+%#x in .gopclntab", entryOff)
}

// asyncSafe returns, for each byte offset of a function of size bytes, whether
// the unsafe-point table lets the runtime park a goroutine there. A function
// without the table is safe everywhere (runtime pcvalue answers -1).
func (t *pclntab) asyncSafe(entryOff uint64, size int) ([]bool, error) {
	f, err := t.funcOffset(entryOff)
	if err != nil {
		return nil, err
	}
	safe := make([]bool, size)
	for i := range safe {
		safe[i] = true
	}
	npcdata, err := t.u32(f + 28)
	if err != nil || npcdata <= unsafePointTable {
		return safe, err
	}
	tab, err := t.u32(f + funcHeaderLen + 4*unsafePointTable)
	if err != nil || tab == 0 {
		return safe, err
	}
	return safe, t.fillPCValue(t.pctab+uint64(tab), safe)
}

// fillPCValue marks the offsets of a function whose value in the
// unsafe-point table at off is UnsafePointUnsafe.
func (t *pclntab) fillPCValue(off uint64, safe []bool) error {
	if off >= uint64(t.size) {
		return errorf(ErrFormat, "pc-value table at %#x out of range", off)
	}
	buf := make([]byte, min(int64(4096), t.size-int64(off)))
	n, err := t.r.ReadAt(buf, int64(off))
	if n == 0 {
		return errorf(ErrFormat, "read pc-value table: %v", err)
	}
	size := uint64(len(safe))
	return pcRuns(buf[:n], t.quantum, func(pc, end uint64, val int64) bool {
		for i := pc; i < min(end, size); i++ {
			safe[i] = val != unsafePointUnsafe
		}
		return end < size
	})
}

// pcRuns decodes a pc-value table (runtime/symtab.go step): pairs of
// zig-zag value deltas and pc deltas in quanta, starting at value -1, up
// to a zero value delta after the first pair. It calls fn with each run of
// offsets [pc, end) from the function's entry and their value, until fn
// returns false or the table ends.
func pcRuns(p []byte, quantum uint64, fn func(pc, end uint64, val int64) bool) error {
	val, pc := int64(-1), uint64(0)
	for first := true; ; first = false {
		uv, k := binary.Uvarint(p)
		if k <= 0 || (uv == 0 && !first) {
			return nil
		}
		p = p[k:]
		val += int64(-(uv & 1) ^ (uv >> 1))
		pd, k := binary.Uvarint(p)
		if k <= 0 {
			return errorf(ErrFormat, "pc-value table truncated")
		}
		p = p[k:]
		end := pc + pd*quantum
		if !fn(pc, end, val) {
			return nil
		}
		pc = end
	}
}
