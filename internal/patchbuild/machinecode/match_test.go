package machinecode

import (
	"debug/elf"
	"testing"
)

// TestFieldRef: the address a relocated field of the release holds.
func TestFieldRef(t *testing.T) {
	le := func(ws ...uint32) []byte {
		var b []byte
		for _, w := range ws {
			b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		m        elf.Machine
		typ      string
		rel, fix []byte
		p, want  uint64
		err      bool
		reason   string
	}{
		{"amd64 call", elf.EM_X86_64, "R_CALL", le(0xfffffff0), le(0), 0x1000, 0x1000 + 4 - 16, false, "rel32 counts from the end of the field"},
		{"amd64 pcrel", elf.EM_X86_64, "R_PCREL", le(0x100), le(0), 0x2000, 0x2104, false, "LEAQ sym(IP)"},
		{"amd64 tls", elf.EM_X86_64, "R_TLS_LE", le(0xfffffff8), le(0), 0, 0, true, "not an address (field handles the g slot)"},
		{"absolute", elf.EM_X86_64, "R_ADDR", append(le(0x4000), 0, 0, 0, 0), make([]byte, 8), 0, 0x4000, false, "a jump table's entry"},
		{"arm64 bl back", elf.EM_AARCH64, "R_CALLARM64", le(0x97ffffff), le(0x94000000), 0x1000, 0x0ffc, false, "BL -4"},
		{"arm64 b, not bl", elf.EM_AARCH64, "R_CALLARM64", le(0x17ffffff), le(0x94000000), 0x1000, 0, true, "another instruction: the bits the linker does not set differ"},
		// ADRP x2, +2 pages; ADD x2, x2, #0x8a0
		{"arm64 adrp+add", elf.EM_AARCH64, "R_ADDRARM64", le(0x90000002|2<<29, 0x91228042), le(0x90000002, 0x91000042), 0x10123, 0x12000 + 0x8a0, false, "page of p + pages, + lo12"},
		// ADRP x27, -1 page; LDR x1, [x27, #16*8]
		{"arm64 adrp+ldr64", elf.EM_AARCH64, "R_ARM64_PCREL_LDST64", le(0x9000001b|3<<29|0x7ffff<<5, 0xf9400361|16<<10), le(0x9000001b, 0xf9400361), 0x5000, 0x4000 + 128, false, "lo12 scaled by 8"},
		{"arm64 adrp, other register", elf.EM_AARCH64, "R_ADDRARM64", le(0x90000003, 0x91000042), le(0x90000002, 0x91000042), 0, 0, true, "ADRP x3 is not the fix's ADRP x2"},
		{"unknown", elf.EM_X86_64, "R_GOTPCREL", le(0), le(0), 0, 0, true, "a plugin's relocation: never in a release's code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fieldRef(tc.m, tc.typ, tc.rel, tc.fix, tc.p)
			if (err != nil) != tc.err || !tc.err && got != tc.want {
				t.Errorf("fieldRef = %#x, %v; want %#x, error %v (%s)", got, err, tc.want, tc.err, tc.reason)
			}
		})
	}
}
