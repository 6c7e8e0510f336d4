package patchbuild

import (
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/internal/patchbuild/slimlink"
	"github.com/gohotfix/hotfix/loader"
)

// TestMain makes the test binary the go command's -toolexec program of
// the slim link, as the hotfix command is for hotfix build.
func TestMain(m *testing.M) {
	if os.Getenv(slimlink.ConfigEnv) != "" {
		os.Exit(slimlink.ToolExec(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const slimHost = `package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"plugin"
	"reflect"
	"strings"
	"sync"

	"example.com/web/gen"
	"example.com/web/lib"
)

func main() {
	fmt.Println(strings.ToUpper("host"), errors.New("e"), lib.Helper(1))
	p, err := plugin.Open(os.Args[1])
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	s, err := p.Lookup("Run")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	d, err := p.Lookup("Describe")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	named, boxed := d.(func() (fmt.Stringer, any))()
	fmt.Println(named.String(), boxed.(fmt.Stringer).String(), lib.Named(1))
	var l sync.Locker = lib.AsLocker()
	l.Lock()
	l.Unlock()
	c, err := p.Lookup("Copies")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	kept, where, n := c.(func() (uintptr, uintptr, int))()
	copyOf := func(pc uintptr, f any) string {
		if pc == reflect.ValueOf(f).Pointer() {
			return "release"
		}
		return "plugin"
	}
	fmt.Printf("copies: kept=%s where=%s\n", copyOf(kept, lib.Kept), copyOf(where, lib.Where))
	fmt.Println((&lib.T{N: 1}).Str())
	b, err := p.Lookup("Boxed")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	fmt.Println("boxed", b.(func() string)())
	core, err := p.Lookup("Core")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	fmt.Println(gen.Core(), core.(func() string)())
	inl, err := p.Lookup("Inlines")
	if err != nil {
		fmt.Println("lookup:", err)
		os.Exit(1)
	}
	fmt.Println("inlined:", inl.(func() string)(), reflect.ValueOf(lib.Callers).Pointer() != 0)
	fmt.Println("count", n, lib.Count())
	run := s.(func(http.ResponseWriter, *http.Request) error)
	for _, m := range []string{"GET", "OPTIONS"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(m, "/x", nil)
		r.Header.Set("Origin", "example.org")
		err := run(w, r)
		fmt.Printf("%s: code=%d origin=%q body=%q err=%v\n", m, w.Code, w.Header().Get("X-Origin"), w.Body.String(), err)
		lib.V++
	}
}
`

const slimLib = `package lib

import (
	"fmt"
	"runtime"
	"sync"
	_ "unsafe" // go:linkname

	"example.com/web/gen"
)

// Callers is small enough to be inlined, and the release has it out of
// line too (the host takes its value): the plugin's copy of Inlines holds
// an inlined copy of a function the plugin leaves to the release.
func Callers(pcs []uintptr) int { return runtime.Callers(1, pcs) }

// Inlines returns the frame of its inlined call to Callers as a profile
// reads it: the function and its start line.
//
//go:noinline
func Inlines() string {
	var pcs [1]uintptr
	Callers(pcs[:])
	f, _ := runtime.CallersFrames(pcs[:]).Next()
	return fmt.Sprintf("%s starts at line %d", f.Function, frameStartLine(&f))
}

//go:linkname frameStartLine runtime/pprof.runtime_FrameStartLine
func frameStartLine(*runtime.Frame) int

var V = 41

// Shared is of an instantiated generic type whose methods are promoted
// from an embedded mutex: the wrappers are written by the package that
// instantiated it (gen), and a carried package's copy of its type
// descriptor does not define them.
var Shared = gen.New()

var Locker sync.Locker

//go:noinline
func AsLocker() sync.Locker { return Shared }

//go:noinline
func Count() int {
	l := AsLocker()
	l.Lock()
	defer l.Unlock()
	Shared.N++
	return Shared.N
}

// T is never converted to an interface by the release; the patch does.
type T struct{ N int }

//go:noinline
func (t *T) Str() string { return fmt.Sprint("T", t.N) }

// Where returns the entry of the copy of Where that ran.
//
//go:noinline
func Where() uintptr {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Entry()
}

// Kept returns its own entry and Where's. It locks Shared through an
// interface: the plugin's copy of Kept carries an itab and Shared's type
// descriptor, whose method the plugin does not define.
//
//go:noinline
func Kept() (uintptr, uintptr) {
	Locker = Shared
	Locker.Lock()
	Locker.Unlock()
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Entry(), Where()
}

// Named has a method the host calls through interfaces.
type Named int

func (n Named) String() string { return fmt.Sprintf("named-%d", int(n)) }

//go:noinline
func Helper(x int) int { return x*10 + V }
`

const slimGen = `package gen

import (
	"sync"

	"example.com/web/gen/internal/core"
)

// Core is how the release reaches core, which only gen may import.
func Core() string { return core.F() }

type List[T any] struct {
	sync.Mutex
	N int
}

type Simple = List[struct{}]

func New() *Simple { return &List[struct{}]{} }
`

const slimCore = `package core

//go:noinline
func F() string { return "core" }
`

// slimPatch uses the release's functions, methods, variables, type
// descriptors and interfaces, of its own module and of the standard
// library, and a type of its own.
const slimPatch = `package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	_ "unsafe" // go:linkname

	"example.com/web/lib"
)

var ErrBad = errors.New("bad")

type wrap struct {
	h http.Header
	n int
}

func Run(w http.ResponseWriter, r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	}
	w.Header().Set("X-Origin", strings.ToUpper(origin))
	var x any = &wrap{h: r.Header, n: lib.Helper(2)}
	if wp, ok := x.(*wrap); ok {
		fmt.Fprintf(w, "n=%d %T %d\n", wp.n, x, len(wp.h))
	}
	if r.Method == "OPTIONS" {
		w.WriteHeader(204)
		return ErrBad
	}
	_, err := w.Write([]byte("ok"))
	return fmt.Errorf("wrapped: %w", err)
}

// Describe returns a type of the release as interfaces: the host calls
// its method through the plugin's itab and through one the runtime makes.
func Describe() (fmt.Stringer, any) { return lib.Named(7), lib.Named(8) }

// Boxed converts a type of a carried package to an interface, which the
// release never does: the plugin's descriptor of *lib.T is the only one,
// and its method is kept.
func Boxed() string {
	var s interface{ Str() string } = &lib.T{N: 5}
	return s.Str() + " " + fmt.Sprint(s)
}

// Copies tells which copies of lib's functions run, and counts with the
// release's lib.Shared.
func Copies() (uintptr, uintptr, int) {
	kept, where := lib.Kept()
	return kept, where, lib.Count()
}

// coreF is a function of a package the patch may not import (internal to
// gen), named as the generated main package names a target there.
//
//go:linkname coreF example.com/web/gen/internal/core.F
func coreF() string

// Core calls the patch's own copy of core.F.
func Core() string { return coreF() }

func Inlines() string { return lib.Inlines() }

func main() {}
`

// TestSlimPluginFacts checks the facts the slim link rests on (package
// slimlink): a plugin whose packages are compiled with -linkshared, linked
// with the edited linker against hollow archives of every package but its
// own and the runtime's, and given the release's package hashes, loads
// into the release, binds calls, variables and type descriptors to the
// release's, answers as the plugin linked whole does, and is a fraction
// of its size.
func TestSlimPluginFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the edited linker, a host and two plugins")
	}
	dir := t.TempDir()
	write := func(name, src string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/web\n\ngo 1.26\n")
	write("host/main.go", slimHost)
	write("lib/lib.go", slimLib)
	write("gen/gen.go", slimGen)
	write("gen/internal/core/core.go", slimCore)
	write("p/main.go", slimPatch)
	goCmd := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	host := filepath.Join(dir, "hostbin")
	goCmd(nil, "build", "-trimpath", "-o", host, "./host")
	full := filepath.Join(dir, "full.so")
	goCmd(nil, "build", "-trimpath", "-buildmode=plugin", "-o", full, "./p")

	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	linker, err := slimlink.Linker(context.Background(), os.Environ(), filepath.Join(cache, "hotfix", "slimlink"))
	if err != nil {
		t.Fatal(err)
	}
	// As hotfix build -slim: the runtime and the plugin's package whole;
	// lib carried as a target's package is, with one function kept; and
	// core, which only a hollow package (gen) imports, with its target.
	whole := append(strings.Fields(goCmd(nil, "list", "-deps", "runtime", "runtime/cgo")), "example.com/web/p")
	cfg := slimlink.Config{Linker: linker, Carry: append(slices.Clone(whole), "example.com/web/lib", "example.com/web/gen/internal/core"), Whole: whole,
		Keep: []string{"example.com/web/lib.Kept", "example.com/web/lib.Inlines", "example.com/web/gen/internal/core.F"}, Release: host, Report: filepath.Join(dir, "report.json")}
	cfgFile := filepath.Join(dir, "slim.json")
	b, _ := json.Marshal(cfg)
	os.WriteFile(cfgFile, b, 0o644)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	slim := filepath.Join(dir, "slim.so")
	goCmd([]string{slimlink.ConfigEnv + "=" + cfgFile}, "build", "-trimpath", "-buildmode=plugin",
		"-toolexec", self, "-o", slim, "./p")
	rep, err := slimlink.ReadReport(cfg.Report)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Slim || rep.Hollow == 0 {
		t.Fatalf("slim link: %+v, want slim with hollow packages", rep)
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := slimlink.Packages(slim)
	if err != nil {
		t.Fatal(err)
	}
	if err := adoptFingerprints(slim, bin, pkgs); err != nil {
		t.Fatal(err)
	}

	runHost := func(so string) string {
		out, err := exec.Command(host, so).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", host, so, err, out)
		}
		return string(out)
	}
	want, got := runHost(full), runHost(slim)
	// The whole plugin runs its own copies of lib's functions; the slim
	// one its own copy of a kept function, and the release's of the rest.
	want = strings.Replace(want, "copies: kept=plugin where=plugin", "copies: kept=plugin where=release", 1)
	if got != want {
		t.Errorf("the slim plugin answers\n%s\nthe whole one (its copies line as the slim one's should be)\n%s", got, want)
	}
	if !strings.Contains(got, "inlined: example.com/web/lib.Callers starts at line 15 true") {
		t.Errorf("a frame inlined from a function left to the release lost its function information:\n%s", got)
	}
	if !strings.Contains(got, "count 1 2") {
		t.Errorf("lib.Count, run by the plugin then by the host, does not count the release's lib.Shared:\n%s", got)
	}
	if !strings.Contains(got, "named-7 named-8 named-1") {
		t.Errorf("a release type's method called through interfaces the plugin made does not answer:\n%s", got)
	}
	if !strings.Contains(got, "n=61 *main.wrap 1") || !strings.Contains(got, "n=62") {
		t.Errorf("the plugin's call to lib.Helper does not read the release's lib.V as it changes:\n%s", got)
	}
	undef := undefinedSymbols(t, slim)
	for sym, want := range map[string]bool{"example.com/web/lib.Where": true, "example.com/web/lib.Count": true, "example.com/web/lib.Kept": false, "example.com/web/lib.Inlines": false,
		"example.com/web/gen.(*List[struct {}]).Lock": true, "example.com/web/lib.(*T).Str": false, "example.com/web/gen/internal/core.F": false} {
		if undef[sym] != want {
			t.Errorf("slim plugin: %s undefined = %v, want %v", sym, undef[sym], want)
		}
	}
	fullSize, slimSize := fileSize(t, full), fileSize(t, slim)
	t.Logf("plugin linked whole: %d bytes; slim: %d bytes, %d packages left to the release, %v carried for a symbol the release lacks", fullSize, slimSize, rep.Hollow, rep.Carried)
	if slimSize*3 > fullSize {
		t.Errorf("slim plugin %d bytes, whole %d: want at most a third", slimSize, fullSize)
	}
}

// undefinedSymbols returns the dynamic symbols the shared object at
// path leaves to the executable.
func undefinedSymbols(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	undef := map[string]bool{}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			undef[s.Name] = true
		}
	}
	return undef
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
