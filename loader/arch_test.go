package loader

import (
	"debug/elf"
	"errors"
	"strings"
	"testing"
)

// TestCheckKind: a patch is compared with the binary's machine, not the
// process's (`hotfix verify` checks an arm64 binary on amd64), and the
// refusal names both architectures.
func TestCheckKind(t *testing.T) {
	tests := []struct {
		name     string
		patch    elf.Machine
		typ      elf.Type
		binary   elf.Machine
		want     string // "" for accepted
		sentinel error
		reason   string
	}{
		{"arm64 patch, arm64 binary", elf.EM_AARCH64, elf.ET_DYN, elf.EM_AARCH64, "", nil, "verify of an arm64 release on an amd64 machine"},
		{"amd64 patch, amd64 binary", elf.EM_X86_64, elf.ET_DYN, elf.EM_X86_64, "", nil, "the usual case"},
		{"amd64 patch, arm64 binary", elf.EM_X86_64, elf.ET_DYN, elf.EM_AARCH64,
			"patch built for linux/amd64 (EM_X86_64), the binary for linux/arm64 (EM_AARCH64)", ErrIncompatible, "built without the binary's GOARCH"},
		{"arm64 patch, amd64 binary", elf.EM_AARCH64, elf.ET_DYN, elf.EM_X86_64,
			"patch built for linux/arm64 (EM_AARCH64), the binary for linux/amd64 (EM_X86_64)", ErrIncompatible, "the other way round"},
		{"unknown machine", elf.EM_RISCV, elf.ET_DYN, elf.EM_X86_64,
			"patch built for EM_RISCV, the binary for linux/amd64", ErrIncompatible, "a machine hotfix has no name for"},
		{"executable", elf.EM_AARCH64, elf.ET_EXEC, elf.EM_AARCH64, "ELF type ET_EXEC", ErrFormat, "right machine, not a plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkKind(&image{machine: tt.patch, fileType: tt.typ}, tt.binary)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("checkKind = %v, want nil (%s)", err, tt.reason)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("checkKind = %v, want %q wrapping %v (%s)", err, tt.want, tt.sentinel, tt.reason)
			}
		})
	}
}
