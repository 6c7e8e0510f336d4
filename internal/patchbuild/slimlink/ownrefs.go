package slimlink

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// relativeType is each architecture's ELF relocation that adds the load
// address to a constant: a reference the dynamic loader does not bind by
// name, so one that stays inside the plugin.
var relativeType = map[elf.Machine]uint32{
	elf.EM_X86_64:  uint32(elf.R_X86_64_RELATIVE),
	elf.EM_AARCH64: uint32(elf.R_AARCH64_RELATIVE),
}

// ownCopies returns the type descriptors the release exports that the
// plugin soFile refers to by address, in its own copy, rather than by
// name. The edited linker keeps in the plugin only the methods of such a
// type that the plugin's code reaches, because every reference to the
// descriptor binds to the release's by name; a reference that does not
// would reach a method table with methods left out, so the slim link is
// refused where there is one.
func ownCopies(soFile string, release map[string]bool) ([]string, error) {
	f, err := elf.Open(soFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	relative, ok := relativeType[f.Machine]
	if !ok {
		return nil, fmt.Errorf("%s: no relative relocation known for %s", soFile, f.Machine)
	}
	spans, err := releaseTypeSpans(f, release)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", soFile, err)
	}
	sec := f.Section(".rela.dyn")
	if sec == nil || len(spans) == 0 {
		return nil, nil
	}
	rela, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", soFile, err)
	}
	seen := map[string]bool{}
	var out []string
	for i := 0; i+24 <= len(rela); i += 24 {
		if uint32(binary.LittleEndian.Uint64(rela[i+8:])) != relative {
			continue
		}
		at := binary.LittleEndian.Uint64(rela[i+16:])
		j := sort.Search(len(spans), func(k int) bool { return spans[k].hi > at })
		if j < len(spans) && spans[j].lo <= at && !seen[spans[j].name] {
			seen[spans[j].name] = true
			out = append(out, spans[j].name)
		}
	}
	sort.Strings(out)
	return out, nil
}

type span struct {
	lo, hi uint64
	name   string
}

// releaseTypeSpans returns the address ranges of the plugin's own copies
// of type descriptors the release exports, in order.
func releaseTypeSpans(f *elf.File, release map[string]bool) ([]span, error) {
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, err
	}
	var spans []span
	for _, s := range syms {
		// "type:." names the data beside descriptors (names, equality
		// functions, import paths), which has no methods.
		if s.Section != elf.SHN_UNDEF && s.Size > 0 && strings.HasPrefix(s.Name, "type:") && !strings.HasPrefix(s.Name, "type:.") && release[s.Name] {
			spans = append(spans, span{s.Value, s.Value + s.Size, s.Name})
		}
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].lo < spans[b].lo })
	return spans, nil
}
