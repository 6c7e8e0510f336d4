package machinecode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Sym is one symbol of the compiler's object file as its -S listing
// prints it: its bytes, with a zero in every relocated field, and its
// relocations, each naming the symbol the linker puts there. The listing
// names every symbol the code refers to, string literals by their
// content (go:string."..."), which no linked binary does.
type Sym struct {
	name   string
	kind   string // STEXT, SRODATA, SDATA, ...
	static bool   // local to its package: its name means nothing outside this object
	dupok  bool   // content-addressed: every symbol of this name has these bytes
	size   int
	data   []byte
	relocs []Reloc
}

// Reloc is one relocation: the linker writes sym+add into
// data[off:off+size] the way typ says.
type Reloc struct {
	off, size int
	typ       string // R_CALL, R_PCREL, R_ADDRARM64, ...
	sym       string
	add       int64
}

// Listing is the symbols of the compiled packages, by name.
type Listing map[string]*Sym

// Parse reads what `go build -gcflags=PKG=-S` prints: for each
// symbol, a header line ("NAME KIND [flags] size=N key=value..."), the
// assembly of a function (ignored: the bytes say the same), the bytes in
// hexadecimal lines of 16, and "rel OFF+SIZE t=TYPE SYM+ADD" lines
// (cmd/internal/obj/objfile.go, writeSymDebugNamed). Lines it does not
// know, such as the go command's "# pkg", are skipped; a symbol whose
// bytes are short of its size is an error.
func Parse(text string) (Listing, error) {
	return Read(strings.NewReader(text))
}

// Read is Parse of what r yields, line by line: a large package's
// listing is hundreds of megabytes (nats-server's server package prints
// 190 MB), most of it assembly, which is skipped without being kept.
func Read(r io.Reader) (Listing, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	syms := Listing{}
	var cur *Sym
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // a line longer than the buffer
			long = append(long, line...)
			continue
		}
		if long != nil {
			line, long = append(long, line...), nil
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0 && err == io.EOF:
		case len(line) == 0 || line[0] != '\t':
			if cerr := cur.complete(); cerr != nil {
				return nil, cerr
			}
			cur = parseHeader(string(line))
			if cur != nil && cur.name != "" && !strings.HasPrefix(cur.kind, "SDWARF") {
				syms[cur.name] = cur
			}
		case cur != nil && (bytes.HasPrefix(line[1:], []byte("rel ")) || isBytesLine(line[1:])):
			if aerr := cur.addLine(string(line[1:])); aerr != nil {
				return nil, fmt.Errorf("listing of %s: %w", cur.name, aerr)
			}
		}
		if err == io.EOF {
			break
		}
	}
	if err := cur.complete(); err != nil {
		return nil, err
	}
	return syms, nil
}

// isBytesLine reports whether an indented line is one of bytes ("0x0010
// 00 e8 ..."), not assembly ("0x0000 00000 (p.go:7)	TEXT ..."), without
// making a string of it.
func isBytesLine(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("0x")) {
		return false
	}
	i := bytes.IndexByte(l, ' ')
	return i > 0 && isHexPair(l[i+1:])
}

// parseHeader parses a symbol's header line, or returns nil. The name may
// hold spaces (type:func(int) string); it is what precedes the kind: the
// first field from the right, past the key=value fields and the flag
// words (in any order: arm64 prints "leaf" last), that looks like one
// (S followed by capitals).
func parseHeader(line string) *Sym {
	f := strings.Split(line, " ")
	i := len(f) - 1
	s := &Sym{size: -1}
	for ; i > 0 && (strings.Contains(f[i], "=") || isFlagWord(f[i])); i-- {
		if v, ok := strings.CutPrefix(f[i], "size="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil
			}
			s.size = n
		}
		s.static = s.static || f[i] == "static"
		s.dupok = s.dupok || f[i] == "dupok"
	}
	if i < 0 || s.size < 0 || !isKind(f[i]) {
		return nil
	}
	s.kind, s.name = f[i], strings.Join(f[:i], " ")
	return s
}

func isFlagWord(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isKind(w string) bool {
	if len(w) < 2 || w[0] != 'S' {
		return false
	}
	for _, c := range w[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// addLine adds one indented line of the symbol's listing: bytes, a
// relocation, or assembly (skipped).
func (s *Sym) addLine(l string) error {
	if rest, ok := strings.CutPrefix(l, "rel "); ok {
		r, err := parseReloc(rest)
		if err != nil {
			return err
		}
		if r.off < 0 || r.size < 0 || r.off+r.size > s.size {
			return fmt.Errorf("relocation %q outside the symbol's %d bytes", l, s.size)
		}
		s.relocs = append(s.relocs, r)
		return nil
	}
	off, rest, ok := strings.Cut(l, " ")
	if !ok || !strings.HasPrefix(off, "0x") {
		return nil
	}
	at, err := strconv.ParseUint(off[2:], 16, 32)
	if err != nil || !isHexPair(rest) {
		return nil // assembly: "0x0000 00000 (file.go:7)	TEXT	..."
	}
	if int(at) != len(s.data) {
		return fmt.Errorf("bytes at %#x after %d bytes", at, len(s.data))
	}
	n := min(16, s.size-len(s.data))
	for i := 0; i < n; i++ {
		if i > 0 && (len(rest) < 3*i || rest[3*i-1] != ' ' || !isHexPair(rest[3*i:])) {
			break // the compiler's bytes end here; the rest are zeros
		}
		b, _ := strconv.ParseUint(rest[3*i:3*i+2], 16, 8)
		s.data = append(s.data, byte(b))
	}
	return nil
}

// isHexPair reports whether a line of bytes follows: two hexadecimal
// digits and a space or the end; assembly has a decimal offset of five.
func isHexPair[T string | []byte](s T) bool {
	hex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
	return len(s) >= 2 && hex(s[0]) && hex(s[1]) && (len(s) == 2 || s[2] == ' ')
}

// parseReloc parses "OFF+SIZE t=TYPE SYM+ADD"; SYM may hold spaces and
// '+', ADD is the digits after the last '+'.
func parseReloc(s string) (Reloc, error) {
	var r Reloc
	pos, rest, ok1 := strings.Cut(s, " t=")
	typ, target, ok2 := strings.Cut(rest, " ")
	o, n, ok3 := strings.Cut(pos, "+")
	i := strings.LastIndex(target, "+")
	if !ok1 || !ok2 || !ok3 || i < 0 {
		return r, fmt.Errorf("relocation %q: not OFF+SIZE t=TYPE SYM+ADD", s)
	}
	var err1, err2, err3 error
	r.off, err1 = strconv.Atoi(o)
	r.size, err2 = strconv.Atoi(n)
	r.add, err3 = strconv.ParseInt(target[i+1:], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return r, fmt.Errorf("relocation %q: not OFF+SIZE t=TYPE SYM+ADD", s)
	}
	r.typ, r.sym = typ, target[:i]
	return r, nil
}

// complete fills a symbol's bytes up to its size with zeros: the
// compiler writes a symbol's bytes up to its last non-zero one, and the
// linker lays out the rest as zeros (a [4]int{1} has 8 bytes of 32).
func (s *Sym) complete() error {
	if s == nil {
		return nil
	}
	if len(s.data) > s.size {
		return fmt.Errorf("listing of %s: %d bytes, more than its size %d", s.name, len(s.data), s.size)
	}
	s.data = append(s.data, make([]byte, s.size-len(s.data))...)
	return nil
}
