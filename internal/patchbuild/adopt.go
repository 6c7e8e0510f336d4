package patchbuild

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gohotfix/hotfix/loader"
)

// adoptFingerprints writes the release's linker fingerprint of each
// rebuilt package (rebuild.go) over the plugin's, so that plugin.Open,
// which compares the two (runtime/plugin.go, pkghashes), loads it. A
// plugin holds each package's fingerprint twice: go:link.pkghashbytes.P,
// which hotfix's own checks read, and the string the runtime compares,
// go:link.pkglinkhash.N (cmd/link/internal/ld/symtab.go), found by its
// bytes. Both are rewritten, before the manifest and signature are added.
func adoptFingerprints(soFile string, bin *loader.Binary, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	f, err := elf.Open(soFile)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("%s: %v", soFile, err)
	}
	out, err := os.OpenFile(soFile, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer out.Close()
	for _, pkg := range pkgs {
		hexHash, ok := bin.Fingerprint(pkg)
		if !ok {
			continue // not in the release: nothing to compare with
		}
		want, err := hex.DecodeString(hexHash)
		if err != nil {
			return err
		}
		if err := adoptOne(f, syms, out, pkg, want); err != nil {
			return fmt.Errorf("%s: package %s: %v", soFile, pkg, err)
		}
	}
	return out.Sync()
}

func adoptOne(f *elf.File, syms []elf.Symbol, out *os.File, pkg string, want []byte) error {
	var own *elf.Symbol
	for i := range syms {
		if syms[i].Name == "go:link.pkghashbytes."+pkg {
			own = &syms[i]
		}
	}
	if own == nil {
		return nil // not in the plugin: plugin.Open compares nothing
	}
	have, off, err := loader.SymbolBytes(f, *own)
	if err != nil {
		return err
	}
	if bytes.Equal(have, want) {
		return nil
	}
	if len(have) != len(want) {
		return fmt.Errorf("fingerprint of %d bytes, the release's has %d", len(have), len(want))
	}
	offs := []int64{off}
	for _, s := range syms {
		if !strings.HasPrefix(s.Name, "go:link.pkglinkhash.") {
			continue
		}
		b, o, err := loader.SymbolBytes(f, s)
		if err != nil {
			return err
		}
		if bytes.Equal(b, have) {
			offs = append(offs, o)
		}
	}
	if len(offs) != 2 {
		return fmt.Errorf("%d strings of the plugin hold its fingerprint, want 1", len(offs)-1)
	}
	for _, o := range offs {
		if _, err := out.WriteAt(want, o); err != nil {
			return err
		}
	}
	return nil
}

// unchangedImporters returns the release's packages that import one of
// seeds, directly or through others, and that the plugin compiles from
// the release's own source (Plan.compiles): their export data says where
// the rebuilt package's objects are declared, so their fingerprint is not
// the release's (TestAdoptImporterFacts). Such a copy runs only where the
// patch's code calls it directly (its variables and init task are the
// host's); it is the release's source compiled against the rebuilt
// package, whose every change that other packages see (layouts,
// signatures, exported constants, escape analysis) the analysis refused
// or checked, as it does for the rebuilt package's own adopted
// fingerprint.
func (p *Plan) unchangedImporters(seeds []string) []string {
	importers := map[string][]string{}
	for pkg, imps := range p.imports {
		for _, imp := range imps {
			importers[imp] = append(importers[imp], pkg)
		}
	}
	seen := map[string]bool{}
	for _, s := range seeds {
		seen[s] = true
	}
	var out []string
	queue := slices.Clone(seeds)
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		for _, imp := range importers[pkg] {
			if seen[imp] || p.compiles(imp) {
				continue
			}
			seen[imp] = true
			out = append(out, imp)
			queue = append(queue, imp)
		}
	}
	slices.Sort(out)
	return out
}
