package machinecode

import (
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// listingSample is `go build -gcflags=PKG=-S` output, cut down: Go 1.26
// prints align= last, Go 1.27 after size=;
// arm64 prints leaf last; names hold spaces and '+'; a
// symbol's bytes stop at its last non-zero byte.
const listingSample = `# example.com/x/p
example.com/x/p.Hello STEXT size=22 args=0x10 locals=0x40 funcid=0x0 align=0x0 leaf
	0x0000 00000 (example.com/x/p/p.go:7)	TEXT	example.com/x/p.Hello(SB), ABIInternal, $64-16
	0x0000 00000 (example.com/x/p/p.go:7)	CMPQ	SP, 16(R14)
	0x0000 49 3b 66 10 76 4d 55 48 89 e5 48 8d 05 00 00 00  I;f.vMUH..H.....
	0x0010 00 e8 00 00 00 00                                ......
	rel 2+0 t=R_USEIFACE type:string+0
	rel 13+4 t=R_PCREL go:string."a+b c"+-8
	rel 18+4 t=R_CALL type:func(int) string+0
go:string."a+b c" SRODATA dupok size=5 align=0x1
	0x0000 61 2b 62 20 63                                   a+b c
example.com/x/p..stmp_0 SRODATA static size=32 align=0x8
	0x0000 01                                               .
type:.namedata.*[1]interface {}- SRODATA dupok size=2
	0x0000 00 00                                            ..
 SDWARFVAR size=2
	0x0000 01 02                                            ..
example.com/x/p.Count SNOPTRBSS size=8
`

func TestParseListing(t *testing.T) {
	got, err := Parse(listingSample)
	if err != nil {
		t.Fatal(err)
	}
	hello := append([]byte{0x49, 0x3b, 0x66, 0x10, 0x76, 0x4d, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x8d, 0x05, 0, 0, 0}, 0, 0xe8, 0, 0, 0, 0)
	want := Listing{
		"example.com/x/p.Hello": {name: "example.com/x/p.Hello", kind: "STEXT", size: 22, data: hello, relocs: []Reloc{
			{off: 2, typ: "R_USEIFACE", sym: "type:string"},
			{off: 13, size: 4, typ: "R_PCREL", sym: `go:string."a+b c"`, add: -8},
			{off: 18, size: 4, typ: "R_CALL", sym: "type:func(int) string"},
		}},
		`go:string."a+b c"`:                {name: `go:string."a+b c"`, kind: "SRODATA", dupok: true, size: 5, data: []byte("a+b c")},
		"example.com/x/p..stmp_0":          {name: "example.com/x/p..stmp_0", kind: "SRODATA", static: true, size: 32, data: append([]byte{1}, make([]byte, 31)...)},
		"type:.namedata.*[1]interface {}-": {name: "type:.namedata.*[1]interface {}-", kind: "SRODATA", dupok: true, size: 2, data: []byte{0, 0}},
		"example.com/x/p.Count":            {name: "example.com/x/p.Count", kind: "SNOPTRBSS", size: 8, data: make([]byte, 8)},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Sym{}, Reloc{})); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseListingErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, reason string }{
		{"reloc outside", "p.F STEXT size=2\n\t0x0000 90 c3\n\trel 1+4 t=R_CALL p.G+0\n", "a field past the symbol's end"},
		{"bytes out of order", "p.F STEXT size=32\n\t0x0010 90 c3\n", "a line of bytes lost"},
		{"bad reloc", "p.F STEXT size=2\n\t0x0000 90 c3\n\trel x+4 t=R_CALL p.G+0\n", "not OFF+SIZE"},
	} {
		if _, err := Parse(tc.text); err == nil {
			t.Errorf("%s: no error (%s)", tc.name, tc.reason)
		}
	}
}

// TestReadLongLines reads the listing a byte at a time, with a header
// line longer than Read's buffer: the result is Parse's.
func TestReadLongLines(t *testing.T) {
	long := "example.com/x/p.T[" + strings.Repeat("x", 100<<10) + "].M"
	text := listingSample + long + " STEXT size=2 args=0x0 locals=0x0\n\t0x0000 90 c3\n"
	got, err := Read(iotest.OneByteReader(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(listingSample)
	if err != nil {
		t.Fatal(err)
	}
	want[long] = &Sym{name: long, kind: "STEXT", size: 2, data: []byte{0x90, 0xc3}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Sym{}, Reloc{})); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
}
