package loader

import (
	"debug/elf"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/gohotfix/hotfix/internal/printable"
)

// Patch is a patch file checked against a binary: what Open needs, found
// without running any of the file.
type Patch struct {
	*File
	Path    string
	Funcs   []Func
	plugImg *image
}

// Func is one function a patch replaces. To is known only after Open.
type Func struct {
	Name       string  // the target's symbol in the binary
	PluginName string  // the new code's symbol in the patch (differs for package main)
	From       uintptr // entry in the binary
	PluginAddr uint64  // link address of the new code in the patch
	To         uintptr
	AsyncSafe  []bool // the target's unsafe-point table (FuncInfo)
}

// Inspect reads the patch file at path and checks that it fits bin. It
// runs nothing from the file. maxBytes limits the file size (0: none).
func Inspect(path string, bin *Binary, maxBytes int64) (*Patch, error) {
	f, err := ReadFile(path, maxBytes)
	if err != nil {
		return nil, err
	}
	return Match(f, path, bin)
}

// Match checks a decoded patch file against bin: ELF kind, Go version,
// build settings, module versions, build ID, package fingerprints and
// symbols, and names the first difference.
func Match(f *File, path string, bin *Binary) (*Patch, error) {
	p, err := MatchBuild(f, path, bin)
	if err != nil {
		return nil, err
	}
	return p, p.Resolve(bin)
}

// MatchBuild checks that a decoded patch was built for bin: ELF kind, Go
// version, build settings, module versions, build ID and package
// fingerprints. It names the first difference. The errors of this file
// quote what the patch says through printable.String: they become the
// ledger's reasons, log records and the CLI's output (issue 22).
func MatchBuild(f *File, path string, bin *Binary) (*Patch, error) {
	if bin.BuildInfo() == nil {
		return nil, errorf(ErrIncompatible, "the binary has no Go build information")
	}
	if err := GoSupported(bin.BuildInfo().GoVersion); err != nil {
		return nil, fmt.Errorf("the binary was %w", err)
	}
	want := map[string]bool{f.Manifest.PluginPath + "." + f.Manifest.Anchor: true}
	for _, t := range f.Manifest.Targets {
		want[t.Name] = true
		if t.PluginSymbol != "" {
			want[t.PluginSymbol] = true
		}
	}
	img, err := readImage(f.elf, want)
	if err != nil {
		return nil, err
	}
	if err := checkKind(img, bin.img.machine); err != nil {
		return nil, err
	}
	if img.info == nil {
		return nil, errorf(ErrFormat, "no Go build information in the patch")
	}
	if err := compatible(img.info, bin.BuildInfo()); err != nil {
		return nil, err
	}
	if got, want := f.Manifest.Host.BuildID, bin.BuildID(); got != want {
		return nil, errorf(ErrIncompatible, "patch built for binary %s, this binary is %s", printable.String(got), want)
	}
	if !bin.PluginReady() {
		return nil, errorf(ErrIncompatible, "this binary was linked without plugin support (it must import github.com/gohotfix/hotfix)")
	}
	if err := samePackages(img.pkgHash, bin.img.pkgHash); err != nil {
		return nil, err
	}
	return &Patch{File: f, Path: path, plugImg: img}, nil
}

// Resolve finds every target in bin and its new code in the patch.
func (p *Patch) Resolve(bin *Binary) error {
	f, img := p.File, p.plugImg
	p.Funcs = nil
	anchor := f.Manifest.PluginPath + "." + f.Manifest.Anchor
	if _, ok := img.objects[anchor]; !ok {
		return errorf(ErrSymbol, "anchor %s not in the patch", printable.String(anchor))
	}
	for _, t := range f.Manifest.Targets {
		if _, ok := bin.Func(t.Name); !ok {
			return errorf(ErrSymbol, "%s: not in this binary (inlined everywhere, dead code, or misspelled)", printable.String(t.Name))
		}
		fi, err := bin.FuncInfo(t.Name)
		if err != nil {
			return err
		}
		// The new code of a function of package main lives under the
		// patch's package path (Target.PluginSymbol), and the runtime
		// names it so: Func.Name is what Open finds at the new address.
		sym := t.Name
		if t.PluginSymbol != "" {
			sym = t.PluginSymbol
		}
		v, ok := img.ownCode(sym)
		if !ok {
			return errorf(ErrSymbol, "%s: no new code for it in the patch (no local symbol %s in its symbol table)", printable.String(t.Name), printable.String(sym))
		}
		p.Funcs = append(p.Funcs, Func{Name: t.Name, PluginName: sym, From: fi.Entry, PluginAddr: v, AsyncSafe: fi.AsyncSafe})
	}
	return nil
}

// checkKind refuses a patch that is not a shared object for the binary's
// machine (bin's, not this process's: `hotfix verify` checks an arm64
// binary on an amd64 machine too; in the agent the binary is the process).
func checkKind(img *image, want elf.Machine) error {
	if img.machine != want {
		return errorf(ErrIncompatible, "patch built for %s, the binary for %s: build the patch with the binary's GOARCH (hotfix build -binary does)", archName(img.machine), archName(want))
	}
	if img.fileType != elf.ET_DYN {
		return errorf(ErrFormat, "ELF type %v, want a shared object built with -buildmode=plugin", img.fileType)
	}
	return nil
}

// archName names an ELF machine as GOOS/GOARCH when hotfix knows it.
func archName(m elf.Machine) string {
	for arch, mm := range nativeMachine {
		if mm == m {
			return fmt.Sprintf("linux/%s (%v)", arch, m)
		}
	}
	return m.String()
}

// ignoredSettings differ between a host and its patch by design.
func ignoredSetting(key string) bool {
	return key == "-buildmode" || key == "-ldflags" || strings.HasPrefix(key, "vcs")
}

// compatible compares the build information of a patch with the binary's
// and names the first difference. Of the -gcflags it sees only the last
// one; samePackages compares what each package was really compiled with.
func compatible(patch, bin *debug.BuildInfo) error {
	if patch.GoVersion != bin.GoVersion {
		return errorf(ErrIncompatible, "patch built with %s, this binary with %s", printable.String(patch.GoVersion), bin.GoVersion)
	}
	ps, bs := settings(patch), settings(bin)
	keys := make([]string, 0, len(ps)+len(bs))
	for k := range ps {
		keys = append(keys, k)
	}
	for k := range bs {
		if _, ok := ps[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ignoredSetting(k) || ps[k] == bs[k] {
			continue
		}
		return errorf(ErrIncompatible, "patch built with %s, this binary with %s", printable.String(setting(k, ps)), printable.String(setting(k, bs)))
	}
	if patch.Main.Path != bin.Main.Path {
		return errorf(ErrIncompatible, "patch built in module %s, this binary in module %s", printable.String(patch.Main.Path), bin.Main.Path)
	}
	deps := map[string]*debug.Module{}
	for _, m := range bin.Deps {
		deps[m.Path] = m
	}
	for _, m := range patch.Deps {
		b, ok := deps[m.Path]
		if !ok {
			continue // a module only the patch uses is checked package by package
		}
		if modString(m) != modString(b) {
			return errorf(ErrIncompatible, "patch built with %s, this binary with %s", printable.String(modString(m)), modString(b))
		}
	}
	return nil
}

func settings(bi *debug.BuildInfo) map[string]string {
	m := map[string]string{}
	for _, s := range bi.Settings {
		m[s.Key] = s.Value
	}
	return m
}

func setting(k string, m map[string]string) string {
	v, ok := m[k]
	if !ok {
		return "no " + k
	}
	return k + "=" + v
}

func modString(m *debug.Module) string {
	s := m.Path + "@" + m.Version
	if m.Sum != "" {
		s += " (" + m.Sum + ")"
	}
	if m.Replace != nil {
		s += " => " + modString(m.Replace)
	}
	return s
}

// PackageError is the refusal of a patch in which the linker's fingerprint
// of Package differs from the binary's. It is ErrIncompatible (errors.Is);
// `hotfix build` reads Package to say what the likely cause is.
type PackageError struct {
	Package string
	msg     string
}

func (e *PackageError) Error() string        { return ErrIncompatible.Error() + ": " + e.msg }
func (e *PackageError) Is(target error) bool { return target == ErrIncompatible }

// samePackages catches what would make plugin.Open fail with "plugin was
// built with a different version of package X" (runtime/plugin.go): a
// failed Open marks the module bad and poisons later loads, so it must
// never be tried. The fingerprints are the linker's pkghashbytes symbols.
//
// They are also what compares the -gcflags the two builds really used,
// package by package: the build information keeps only the last -gcflags
// (compatible compares that), so a difference in an earlier pattern, such
// as -l on one more package, shows nowhere else. A package's fingerprint
// is the hash of its export data: its inlinable bodies and the escape
// analysis of its functions, everything code compiled in other packages
// relies on. -l on a package with an inlinable function changes it; on
// one without, only that package's own code changes, which nothing else
// was compiled against; and the release's inlining of a target is read
// from its inline tables by admission's inlined step, whatever the flags
// (TestGcflagsFacts, TestGcflagsChecked).
func samePackages(patch, bin map[string]string) error {
	pkgs := make([]string, 0, len(patch))
	for p := range patch {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if h, ok := bin[p]; ok && h != patch[p] {
			return &PackageError{Package: p, msg: fmt.Sprintf("package %s in the patch differs from this binary's (export data changed: a changed signature, type, constant or inlinable body, or other -gcflags for it); plugin.Open would fail with %q", printable.String(p), "plugin was built with a different version of package "+p)}
		}
	}
	return nil
}

// String describes the patch for logs and the CLI: the path and version
// come from the patch directory and the file, and are escaped.
func (p *Patch) String() string {
	return fmt.Sprintf("%s (%s %s)", printable.String(p.Path), p.Manifest.ID, printable.String(p.Manifest.Version))
}
