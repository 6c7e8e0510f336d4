package loader

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInlineTreeFacts checks the inline trees as Inlined reads them
// against a binary built with hotfix's flags for a policy allowing p
// (testdata/generics), with and without -l on q, which instantiates p's
// generic code. Positions are the call sites the compiler's -m output
// names (go build -gcflags=q=-m), as the runtime would print them for
// an inlined frame's caller.
func TestInlineTreeFacts(t *testing.T) {
	noL, err := ReadBinary(buildGenerics(t))
	if err != nil {
		t.Fatal(err)
	}
	withL, err := ReadBinary(buildGenerics(t, "-gcflags="+genericsPkg+"q=-l"))
	if err != nil {
		t.Fatal(err)
	}
	const qQ, qgo = genericsPkg + "q.Q", genericsPkg + "q/q.go"
	at := func(line int) InlineSite { return InlineSite{Caller: qQ, File: qgo, Line: line} }
	tests := []struct {
		fn     string
		want   []InlineSite
		reason string
	}{
		{"p.SumOf[go.shape.int]", []InlineSite{at(14), at(16)}, "SumOf[int] and SumOf[MyInt] share the shape; p.Local's call, compiled in p with -l, is not inlined"},
		{"p.SumOf[go.shape.int64]", []InlineSite{at(16)}, "q instantiates it with its own flags"},
		{"p.(*Box[go.shape.int]).Get", []InlineSite{at(14)}, "a generic method"},
		{"p.Each[go.shape.int]", []InlineSite{at(12)}, ""},
		{"q.larger", []InlineSite{at(14)}, "a plain function of a package without -l"},
		{"p.Max[go.shape.float64]", []InlineSite{{Caller: qQ, Within: genericsPkg + "q.larger", File: qgo, Line: 22}}, "inlined into larger, itself inlined into Q: the position is the call in larger"},
		{"p.Max[go.shape.int]", nil, "inlined (-m says so) but folded to a constant: no instruction, so no record, is left"},
		{"p.Plain", nil, "-l on p: its body is not in p's export data"},
		{"p.Local", nil, ""},
		{"p.NoSuchFunc", nil, "in no table"},
	}
	for _, tt := range tests {
		got, err := noL.Inlined(genericsPkg + tt.fn)
		if err != nil {
			t.Fatalf("%s: %v", tt.fn, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: sites (-want +got):\n%s\n%s", tt.fn, diff, tt.reason)
		}
		if got, err := withL.Inlined(genericsPkg + tt.fn); err != nil || len(got) > 0 {
			t.Errorf("%s with -l on q: %v, %v; want inlined nowhere", tt.fn, got, err)
		}
	}
	// What the compiler says it inlined into Q, other than through
	// larger: every call left with code has its site.
	cmd := exec.Command("go", "build", "-trimpath", "-gcflags="+genericsPkg+"p=-l", "-gcflags="+genericsPkg+"q=-m", "-o", "/dev/null", ".")
	cmd.Dir = "testdata/generics"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "q/q.go:15:12: inlining call to p.Max[go.shape.int]") ||
		!strings.Contains(string(out), "q/q.go:16:64: inlining call to p.SumOf[go.shape.int64]") {
		t.Errorf("go build -gcflags=q=-m does not say what the table above expects:\n%s", out)
	}
}

// tinyInlines is a .gopclntab with one function, p.Outer, of 16 bytes at
// text+0x40, whose inline tree has p.F inlined at line 10 (pc 0..7) and
// p.G inlined into that copy of p.F at line 20 (pc 8..11), in a.go. It
// returns the bytes and the offset of go:func.*.
func tinyInlines() ([]byte, uint64) {
	le := binary.LittleEndian
	b := make([]byte, 72)
	le.PutUint32(b[0:], go120Magic)
	b[6], b[7] = 1, 8
	le.PutUint64(b[8:], 1)
	names := len(b)
	b = append(b, "p.Outer\x00p.F\x00p.G\x00"...)
	cu := len(b)
	b = le.AppendUint32(b, 0)
	files := len(b)
	b = append(b, "a.go\x00"...)
	pctab := len(b)
	b = append(b, 0)
	zig := func(d int64) uint64 { return uint64((d << 1) ^ (d >> 63)) }
	table := func(runs ...int64) uint32 { // value, length pairs
		off, v := len(b)-pctab, int64(-1)
		for i := 0; i < len(runs); i += 2 {
			b = binary.AppendUvarint(b, zig(runs[i]-v))
			b = binary.AppendUvarint(b, uint64(runs[i+1]))
			v = runs[i]
		}
		b = append(b, 0)
		return uint32(off)
	}
	inl := table(-1, 4, 0, 4, 1, 4, -1, 4)
	file := table(0, 16)
	line := table(10, 4, 20, 8, 11, 4)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	pcln := len(b)
	b = le.AppendUint32(le.AppendUint32(b, 0x40), 16)
	b = le.AppendUint32(le.AppendUint32(b, 0x50), 0)
	f := make([]byte, funcHeaderLen+3*4+4*4)
	le.PutUint32(f[0:], 0x40)
	le.PutUint32(f[20:], file)
	le.PutUint32(f[24:], line)
	le.PutUint32(f[28:], 3) // npcdata: unsafe points, stack maps, inline index
	f[funcHeaderLen-1] = 4  // nfuncdata
	le.PutUint32(f[funcHeaderLen+2*4:], inl)
	for i := range 3 {
		le.PutUint32(f[funcHeaderLen+3*4+4*i:], ^uint32(0))
	}
	le.PutUint32(f[funcHeaderLen+3*4+4*funcdataInlTree:], 8) // after other funcdata
	b = append(b, f...)
	gofunc := len(b)
	b = append(b, make([]byte, 8)...)
	rec := func(name, parentPC int) {
		r := make([]byte, inlinedCallLen)
		le.PutUint32(r[4:], uint32(name))
		le.PutUint32(r[8:], uint32(parentPC))
		b = append(b, r...)
	}
	rec(8, 2)  // p.F, called at pc 2 (line 10)
	rec(12, 6) // p.G, called at pc 6, inside p.F (line 20)
	for i, v := range []int{names, cu, files, pctab, pcln} {
		le.PutUint64(b[8+3*8+8*i:], uint64(v))
	}
	return b, uint64(gofunc)
}

func tinyPcln(t testing.TB) *pcln {
	t.Helper()
	b, gofunc := tinyInlines()
	tab, err := readPclntab(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return &pcln{pclntab: tab, b: b, gofunc: gofunc}
}

func TestInlineTreeParse(t *testing.T) {
	p := tinyPcln(t)
	idx, err := p.index()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inlIndex{8, 12}, idx); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	tests := []struct {
		name   string
		want   []InlineSite
		reason string
	}{
		{"p.F", []InlineSite{{Caller: "p.Outer", File: "a.go", Line: 10}}, "inlined into Outer's own body"},
		{"p.G", []InlineSite{{Caller: "p.Outer", Within: "p.F", File: "a.go", Line: 20}}, "nested: the call is in F's body, the code in Outer"},
		{"p.Outer", nil, "a name that is in the table but never inlined"},
		{"G", nil, "a name is matched whole, not as the end of another"},
	}
	for _, tt := range tests {
		var got []InlineSite
		if off, ok := p.nameOff(tt.name); ok && idx.has(off) {
			if got, err = p.sites(off); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%s", tt.name, diff, tt.reason)
		}
	}
	if s := p.site(inlSite{caller: 1 << 40, tree: 1 << 40}); s.File != "?" || s.Caller != "?" {
		t.Errorf("site out of range: %+v", s)
	}
}

// FuzzInlineTrees: the inline trees are read from the binary named by
// `hotfix verify -binary`; no input may make the walk panic or loop.
func FuzzInlineTrees(f *testing.F) {
	b, gofunc := tinyInlines()
	f.Add(b, gofunc)
	f.Add(b[:len(b)-20], gofunc)
	f.Add(tinyPclntab(12, 3, 7), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, gofunc uint64) {
		tab, err := readPclntab(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		p := &pcln{pclntab: tab, b: b, gofunc: gofunc}
		idx, err := p.index()
		for _, off := range idx {
			p.sites(off)
		}
	})
}

// BenchmarkInlined measures the first Inlined call on a binary, for a
// function inlined nowhere (the agent's case for a patch of an allowed
// package): reading .gopclntab and walking every function's inline tree.
// The binaries are the go command and the compiler of the toolchain in
// use (15 and 26 MB for Go 1.26.8).
func BenchmarkInlined(b *testing.B) {
	out, err := exec.Command("go", "env", "GOROOT", "GOHOSTOS", "GOHOSTARCH").Output()
	if err != nil {
		b.Skip("no go command:", err)
	}
	env := strings.Fields(string(out))
	for _, exe := range []string{env[0] + "/bin/go", env[0] + "/pkg/tool/" + env[1] + "_" + env[2] + "/compile"} {
		bin, err := ReadBinary(exe)
		if err != nil {
			b.Skip(err)
		}
		name := exe[strings.LastIndexByte(exe, '/')+1:]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				c := &Binary{Path: bin.Path, file: bin.file, img: bin.img}
				if s, err := c.Inlined("runtime.main"); err != nil || len(s) > 0 {
					b.Fatal(s, err)
				}
			}
		})
	}
}

// TestAllInlined: the one walk AllInlined makes for every function finds
// the sites Inlined finds for each, on a real binary (the go command).
func TestAllInlined(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip("no go command:", err)
	}
	bin, err := ReadBinary(strings.TrimSpace(string(out)) + "/bin/go")
	if err != nil {
		t.Skip(err)
	}
	all, err := bin.AllInlined()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 1000 {
		t.Fatalf("%d functions inlined in the go command, want thousands", len(all))
	}
	if _, ok := all["runtime.main"]; ok {
		t.Error("runtime.main among the inlined functions")
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	for i := 0; i < len(names); i += len(names) / 40 {
		want, err := bin.Inlined(names[i])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, all[names[i]]); diff != "" {
			t.Errorf("%s: AllInlined differs from Inlined (-Inlined +AllInlined):\n%s", names[i], diff)
		}
	}
}
