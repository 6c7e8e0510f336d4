package slimlink

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/patcher/prologue"
)

// mangle is the name the linker writes into a plugin's or a plugin
// host's ELF symbol tables for a symbol it names name: long type names
// and the type arguments of instantiations are replaced by a hash
// (cmd/link/internal/ld/lib.go, typeSymbolMangle; the hash is
// cmd/internal/hash.Sum32). TestMangleMatchesRelease checks it against
// a real host.
func mangle(name string) string {
	isType := strings.HasPrefix(name, "type:")
	switch {
	case !isType && !strings.Contains(name, "@"),
		strings.HasPrefix(name, "type:runtime."),
		strings.HasPrefix(name, "go:string."),
		len(name) <= 14 && !strings.Contains(name, "@"):
		return name
	}
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		h[0] ^= 0xff
		return base64.StdEncoding.EncodeToString(h[:6])
	}
	if isType {
		prefix := "type:"
		if name[5] == '.' {
			prefix = "type:."
		}
		return prefix + sum(name[5:])
	}
	i := strings.IndexByte(name, '[')
	j := strings.LastIndexByte(name, ']')
	if j == -1 || j <= i {
		j = len(name)
	}
	return name[:i+1] + sum(name[i+1:j]) + name[j:]
}

// exported returns the names of the symbols the ELF file defines in its
// dynamic symbol table: those a plugin's undefined symbols bind to.
func exported(path string) (map[string]bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := make(map[string]bool, len(syms))
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF {
			out[s.Name] = true
		}
	}
	return out, nil
}

// missing returns the undefined symbols (as the linker names them) that
// the release does not export: for a direct call to an assembly function
// (abi0CallMark), its ABI0 entry NAME.abi0.
func missing(undefined []string, release map[string]bool) []string {
	var out []string
	for _, name := range undefined {
		elfName := mangle(name)
		if fn, ok := strings.CutPrefix(name, abi0CallMark); ok {
			elfName = mangle(fn) + ".abi0"
		}
		if strings.HasPrefix(name, abi0Mark) || !release[elfName] {
			out = append(out, name)
		}
	}
	return out
}

// packageOf returns the import path of the package that defines the Go
// symbol name, "" when the name shows none (a linker-made or C symbol).
func packageOf(name string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(name, abi0Mark), abi0CallMark), "type:")
	s = strings.TrimLeft(s, "*")
	if s == "" || strings.HasPrefix(s, "go:") || strings.HasPrefix(s, "_") {
		return ""
	}
	if i := strings.IndexAny(s, "[("); i >= 0 {
		s = s[:i]
	}
	slash := strings.LastIndexByte(s, '/') + 1
	dot := strings.IndexByte(s[slash:], '.')
	if dot <= 0 {
		return ""
	}
	return strings.ReplaceAll(s[:slash+dot], "%2e", ".")
}

// Packages returns the packages whose hash the plugin soFile holds
// (go:link.pkghashbytes.P): those plugin.Open compares with the host's.
func Packages(soFile string) ([]string, error) {
	f, err := elf.Open(soFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", soFile, err)
	}
	var out []string
	for _, s := range syms {
		if p, ok := strings.CutPrefix(s.Name, "go:link.pkghashbytes."); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// notSplittable reads the functions the edited linker listed in the file
// at path (assumedSplitEnv): the link took each to grow its own stack, and
// only the release's code shows whether it does. It returns how many the
// release's code shows to, and the others (also those the release does
// not export).
func notSplittable(path, release string) (int, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("slim link: the linker's list of functions taken to check their stack: %v", err)
	}
	names := symbolLines(b)
	if len(names) == 0 {
		return 0, nil, nil
	}
	f, err := elf.Open(release)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %v", release, err)
	}
	byName := make(map[string]elf.Symbol, len(syms))
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			byName[s.Name] = s
		}
	}
	var out []string
	for _, name := range names {
		s, ok := byName[mangle(name)]
		if !ok || !prologue.StackChecked(f.Machine, codeAt(f, s.Value, 32)) {
			out = append(out, name)
		}
	}
	return len(names) - len(out), out, nil
}

// codeAt returns up to n bytes of the executable section that holds addr,
// nil when none does.
func codeAt(f *elf.File, addr uint64, n int) []byte {
	for _, sec := range f.Sections {
		if sec.Flags&elf.SHF_EXECINSTR == 0 || sec.Type != elf.SHT_PROGBITS || addr < sec.Addr || addr >= sec.Addr+sec.Size {
			continue
		}
		buf := make([]byte, min(uint64(n), sec.Addr+sec.Size-addr))
		if _, err := sec.ReadAt(buf, int64(addr-sec.Addr)); err != nil {
			return nil
		}
		return buf
	}
	return nil
}
