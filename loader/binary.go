package loader

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
)

// Binary is a Go executable that patches are checked against: the running
// process (Self) or a file on disk (ReadBinary, for offline checks).
type Binary struct {
	Path string
	file string // what to open to read code: /proc/self/exe for Self
	img  *image
	bias uintptr  // runtime address = symbol value + bias (non-zero for PIE)
	inl  struct { // every inlining, read once by Inlined
		once sync.Once
		idx  inlIndex
		err  error
	}
}

// BuildID returns the Go build ID of the binary.
func (b *Binary) BuildID() string { return b.img.buildID }

// BuildInfo returns the build information embedded by the go command.
func (b *Binary) BuildInfo() *debug.BuildInfo { return b.img.info }

// Func returns the address of a function: in the running process for
// Self, the link address for ReadBinary.
func (b *Binary) Func(name string) (uintptr, bool) {
	v, ok := b.img.funcs[name]
	if !ok {
		return 0, false
	}
	return uintptr(v) + b.bias, true
}

// HasObject reports whether the binary has a data symbol of that name.
func (b *Binary) HasObject(name string) bool {
	_, ok := b.img.objects[name]
	return ok
}

// Machine is the ELF machine the binary was built for: the process's own
// for Self, any for a file offline (an arm64 binary on an amd64 machine).
func (b *Binary) Machine() elf.Machine { return b.img.machine }

// PluginReady reports whether the binary was linked with plugin support,
// which is what records package fingerprints in it.
func (b *Binary) PluginReady() bool { return len(b.img.pkgHash) > 0 }

// Fingerprint returns the linker fingerprint of package pkg in the
// binary, in hex, as plugin.Open compares it.
func (b *Binary) Fingerprint(pkg string) (string, bool) {
	h, ok := b.img.pkgHash[pkg]
	return h, ok
}

// SamePackages checks fingerprints of packages as a patch would hold them
// (import path to fingerprint) against the binary's, as Inspect does: a
// *PackageError names the first that differs.
func (b *Binary) SamePackages(fingerprints map[string]string) error {
	return samePackages(fingerprints, b.img.pkgHash)
}

// ReadBinary reads a Go executable from disk.
func ReadBinary(path string) (*Binary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := readImage(bytes.NewReader(data), nil)
	switch {
	case errors.Is(err, elf.ErrNoSymbols):
		return nil, fmt.Errorf("%s: %w", path, errorf(ErrHost, "no symbol table: it was linked with -s (or -w -s, goreleaser's default) or stripped, and hotfix finds the functions to replace by name there; link release builds without -s"))
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, errorf(ErrHost, "%s", strings.TrimPrefix(err.Error(), ErrFormat.Error()+": ")))
	case img.fileType != elf.ET_EXEC && img.fileType != elf.ET_DYN:
		return nil, fmt.Errorf("%s: %w", path, errorf(ErrHost, "ELF type %v is not an executable", img.fileType))
	case img.info == nil:
		return nil, fmt.Errorf("%s: %w", path, errorf(ErrHost, "no Go build information"))
	}
	return &Binary{Path: path, file: path, img: img}, nil
}

var self struct {
	once sync.Once
	bin  *Binary
	err  error
}

// Self describes the running process, read once from /proc/self/exe (which
// stays readable even after a deploy replaces the file on disk).
func Self() (*Binary, error) {
	self.once.Do(func() {
		if err := GoSupported(runtime.Version()); err != nil {
			self.err = fmt.Errorf("this binary was %w", err)
			return
		}
		b, err := ReadBinary("/proc/self/exe")
		if err != nil {
			self.err = err
			return
		}
		// A PIE binary runs at an offset from its link addresses: measure
		// it on a function whose runtime address we know.
		const anchor = "github.com/gohotfix/hotfix/loader.Self"
		v, ok := b.img.funcs[anchor]
		if !ok {
			self.err = fmt.Errorf("/proc/self/exe: %w", errorf(ErrSymbol, "no symbol %s (binary stripped with -s?)", anchor))
			return
		}
		b.bias = reflect.ValueOf(Self).Pointer() - uintptr(v)
		if exe, err := os.Readlink("/proc/self/exe"); err == nil {
			b.Path = exe
		}
		self.bin = b
	})
	return self.bin, self.err
}

// Code returns n bytes of code from a function's entry as the binary file
// holds them: the code before any patch was applied.
func (b *Binary) Code(name string, n int) ([]byte, error) {
	v, ok := b.img.funcs[name]
	if !ok {
		return nil, errorf(ErrSymbol, "%s: not in %s", name, b.Path)
	}
	for _, s := range b.img.code {
		if s.holds(v, uint64(n)) {
			code := make([]byte, n)
			if err := b.readAt(code, s.offset+(v-s.addr)); err != nil {
				return nil, fmt.Errorf("read code of %s: %w", name, err)
			}
			return code, nil
		}
	}
	return nil, errorf(ErrSymbol, "%s: address %#x in no code section", name, v)
}

// Symbol returns the link address and size of a function or data object
// of the binary's symbol table, by its name there: an assembly function's
// body is NAME.abi0. A binary linked with plugin support names its type
// descriptors, static data and jump tables; no binary names its string
// literals, which the linker lays out under one go:string.* marker.
func (b *Binary) Symbol(name string) (addr, size uint64, ok bool) {
	if v, ok := b.img.funcs[name]; ok {
		return v, b.img.sizes[name], true
	}
	if v, ok := b.img.objects[name]; ok {
		return v, b.img.objSizes[name], true
	}
	return 0, 0, false
}

// Bytes returns n bytes of the binary's image from link address addr, code
// or data, as the file holds them: before any patch, and before the
// dynamic loader relocates anything (nothing, in a non-PIE executable).
func (b *Binary) Bytes(addr uint64, n int) ([]byte, error) {
	for _, s := range b.img.mapped {
		if n >= 0 && s.holds(addr, uint64(n)) {
			p := make([]byte, n)
			if err := b.readAt(p, s.offset+(addr-s.addr)); err != nil {
				return nil, err
			}
			return p, nil
		}
	}
	return nil, errorf(ErrSymbol, "%d bytes at %#x: in no section of %s with bytes in the file", n, addr, b.Path)
}

func (b *Binary) readAt(p []byte, off uint64) error {
	f, err := os.Open(b.file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadAt(p, int64(off))
	return err
}

// FuncInfo is what the patcher needs to know of a function besides its
// code: how long it is, and where the runtime may park a goroutine in it.
type FuncInfo struct {
	Name  string
	Entry uintptr // in the running process for Self, the link address otherwise
	Size  int     // bytes of code, without the padding after it
	// AsyncSafe[i] says whether a goroutine may be parked by asynchronous
	// preemption at offset i: false where the compiler marked the
	// instruction an unsafe point (every instruction of a //go:nosplit
	// function, write-barrier and atomic sequences).
	AsyncSafe []bool
}

// FuncInfo reads a function's size from the symbol table and its unsafe
// points from .gopclntab.
func (b *Binary) FuncInfo(name string) (FuncInfo, error) {
	v, ok := b.img.funcs[name]
	if !ok {
		return FuncInfo{}, errorf(ErrSymbol, "%s: not in %s", name, b.Path)
	}
	size := b.img.sizes[name]
	pc := b.img.pclntab
	if pc.size == 0 || b.img.text == 0 {
		return FuncInfo{}, errorf(ErrFormat, "%s: no .gopclntab or runtime.text symbol", b.Path)
	}
	if size == 0 || size > 1<<24 || v < b.img.text {
		return FuncInfo{}, errorf(ErrSymbol, "%s: symbol size %d at %#x is not a Go function", name, size, v)
	}
	f, err := os.Open(b.file)
	if err != nil {
		return FuncInfo{}, err
	}
	defer f.Close()
	tab, err := readPclntab(io.NewSectionReader(f, int64(pc.offset), int64(pc.size)), int64(pc.size))
	if err != nil {
		return FuncInfo{}, fmt.Errorf("%s: %w", b.Path, err)
	}
	safe, err := tab.asyncSafe(v-b.img.text, int(size))
	if err != nil {
		return FuncInfo{}, fmt.Errorf("%s: %w", name, err)
	}
	return FuncInfo{Name: name, Entry: uintptr(v) + b.bias, Size: int(size), AsyncSafe: safe}, nil
}

// Funcs returns the names of the binary's functions, sorted, each once.
func (b *Binary) Funcs() []string {
	names := make([]string, 0, len(b.img.funcs))
	for name := range b.img.funcs {
		if !strings.HasPrefix(name, "local.") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Objects returns the names of the binary's data symbols that begin with
// prefix, sorted: the dictionaries of a generic function, for example.
func (b *Binary) Objects(prefix string) []string {
	var names []string
	for name := range b.img.objects {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
