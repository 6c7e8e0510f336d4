package slimlink

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// An edit replaces one exact piece of the toolchain's linker source.
type edit struct {
	file, old, new string
	why            string
}

// edits are the changes to cmd/link that let a plugin leave the release's
// symbols undefined. Each old text must occur exactly once in the
// toolchain's source; a toolchain where one does not is refused, naming
// the file, rather than linked with a half-edited linker.
var edits = []edit{
	{
		file: "cmd/link/internal/ld/go.go",
		old: `		for _, s := range ctxt.Textp {
			if ctxt.loader.AttrSpecial(s) || ctxt.loader.AttrSubSymbol(s) {
				continue
			}`,
		new: `		for s := loader.Sym(1); s < loader.Sym(ctxt.loader.NSym()); s++ {
			if !ctxt.loader.AttrReachable(s) || ctxt.loader.SymType(s).IsDWARF() || ctxt.loader.AttrSpecial(s) || ctxt.loader.AttrSubSymbol(s) {
				continue
			}`,
		why: "a symbol only data refers to (a type descriptor's element, a function value) is left to the external linker too, not only one code refers to",
	},
	{
		file: "cmd/link/internal/ld/go.go",
		old: `						su.SetType(sym.SUNDEFEXT)
					}
`,
		new: `						su.SetType(sym.SUNDEFEXT)
					}
					hotfixNoteUndefined(ctxt.loader, s, relocs.At(i))
`,
		why: "the symbols left undefined are listed (undefinedEnv), for the check that the release defines each; one that assembly refers to is marked (abi0Mark), and an assembly function Go code calls directly (abi0CallMark)",
	},
	{
		file: "cmd/link/internal/ld/symtab.go",
		old: `	if !buildcfg.Experiment.RegabiWrappers {
		return name
	}
`,
		new: `	if !buildcfg.Experiment.RegabiWrappers {
		return name
	}
	if hotfixABI0Calls[x] {
		return name + ".abi0"
	}
`,
		why: "a direct call to an assembly function left to the release binds to the release's ABI0 entry (NAME.abi0), never to its ABIInternal wrapper, which takes the arguments in registers",
	},
	{
		file: "cmd/link/internal/ld/go.go",
		old: `	// TODO(aix)
	if ctxt.HeadType == objabi.Hdarwin || ctxt.HeadType == objabi.Haix {`,
		new: `	hotfixWriteUndefined()
	// TODO(aix)
	if ctxt.HeadType == objabi.Hdarwin || ctxt.HeadType == objabi.Haix {`,
		why: "the list is written once every undefined symbol is known",
	},
	{
		file: "cmd/link/internal/amd64/asm.go",
		old: `			if ldr.SymType(r.Xsym) == sym.SDYNIMPORT {
				out.Write64(uint64(elf.R_X86_64_PLT32) | uint64(elfsym)<<32)`,
		new: `			if ldr.SymType(r.Xsym) == sym.SDYNIMPORT || ldr.SymType(r.Xsym) == sym.SUNDEFEXT {
				out.Write64(uint64(elf.R_X86_64_PLT32) | uint64(elfsym)<<32)`,
		why: "a call to an undefined function goes through the PLT: ld refuses a PC32 relocation against an undefined symbol in a shared object",
	},
	{
		file: "cmd/link/internal/arm64/asm.go",
		old:  `			if rst != sym.SHOSTOBJ && rst != sym.SDYNIMPORT && ldr.SymSect(rs) == nil {`,
		new:  `			if rst != sym.SHOSTOBJ && rst != sym.SDYNIMPORT && rst != sym.SUNDEFEXT && ldr.SymSect(rs) == nil {`,
		why:  "on arm64, a GOT or address reference to an undefined symbol is left to the external linker, as one to a shared library's",
	},
	{
		file: "cmd/link/internal/ld/deadcode.go",
		old:  `if d.ctxt.linkShared && (d.ldr.SymType(rs) == sym.SDYNIMPORT || d.ldr.SymType(rs) == sym.Sxxx) {`,
		new:  `if d.ldr.SymType(rs) == sym.SDYNIMPORT || d.ldr.SymType(rs) == sym.Sxxx {`,
		why:  "an interface type the plugin does not carry is not decoded, as under -linkshared (a plugin keeps every exported method anyway)",
	},
	{
		file: "cmd/link/internal/ld/deadcode.go",
		old:  `if d.ctxt.linkShared && d.ldr.IsItab(symIdx) {`,
		new:  `if d.ldr.IsItab(symIdx) {`,
		why:  "an itab's methods are kept, as under -linkshared: a weak reference to a method the plugin does not carry would be redirected to runtime.unreachableMethod",
	},
	{
		file: "cmd/link/internal/ld/deadcode.go",
		old:  `if !d.ldr.IsGoType(rs) && !d.ctxt.linkShared {`,
		new:  `if !d.ldr.IsGoType(rs) && false {`,
		why:  "a type converted to an interface may be one the plugin does not carry, as under -linkshared",
	},
	{
		file: "cmd/link/internal/ld/data.go",
		old: `	typData := ldr.Data(typ)
	ptrdata := decodetypePtrdata(p.ctxt.Arch, typData)`,
		new: `	typData := ldr.Data(typ)
	if len(typData) == 0 {
		p.ctxt.Errorf(p.sym.Sym(), "` + carryMark + `%s", ldr.SymName(typ))
		return
	}
	ptrdata := decodetypePtrdata(p.ctxt.Arch, typData)`,
		why: "a variable of the plugin whose type the plugin does not carry (a static composite literal of an inlined constructor, such as errors.New's) needs that type's pointer map: the link fails naming the type, and its package is carried",
	},
	{
		file: "cmd/link/internal/ld/data.go",
		old:  `			if decodetypePtrdata(p.ctxt.Arch, ldr.Data(fTyp)) == 0 {`,
		new:  `			if d := ldr.Data(fTyp); len(d) > 0 && decodetypePtrdata(p.ctxt.Arch, d) == 0 {`,
		why:  "a field whose type the plugin does not carry is named by the check above, not read",
	},
	{
		file: "cmd/link/internal/ld/data.go",
		old: `		if n > 1 {
			// Issue repeat for subsequent n-1 instances.`,
		new: `		if n > 1 && len(ldr.Data(elem)) > 0 {
			// Issue repeat for subsequent n-1 instances.`,
		why: "an array whose element type the plugin does not carry is named by the check above, not read",
	},
	{
		file: "cmd/link/internal/ld/stackcheck.go",
		old: `	if info := ldr.FuncInfo(sym); !info.Valid() { // also external
		return 0, nil
	}`,
		new: `	if info := ldr.FuncInfo(sym); !info.Valid() { // also external
		if hotfixIsUndefined(ldr.SymType(sym)) {
			if hotfixAssumeSplittable(ldr, sym) {
				return sc.callSize + hotfixStackSmall, []stackCheckEdge{{sc.callSize + hotfixStackSmall, sc.morestack}}
			}
			sc.ctxt.Errorf(0, "` + carryMark + `%s", ldr.SymName(sym))
		}
		return 0, nil
	}`,
		why: "a nosplit function calling one the plugin does not carry cannot be given its stack height from the plugin: a Go function is taken to grow its own stack, as the release's copy must show (assumedSplitEnv: the link is not used unless it does), after at most StackSmall bytes: an earlier patch may have replaced it with a leaf the compiler made nosplit, whose frame is smaller (a fix cannot add //go:nosplit: a changed directive is refused); an assembly one has its package carried, and the linker checks the chain",
	},
	{
		file: "cmd/link/internal/ld/deadcode.go",
		old:  `if (d.reflectSeen && (m.isExported() || d.dynlink)) || d.ifaceMethod[m.m] || d.genericIfaceMethod[m.m.name] {`,
		new:  `if (d.reflectSeen && (m.isExported() || d.dynlink) && !hotfixReleaseHas(d.ldr, m.src)) || d.ifaceMethod[m.m] || d.genericIfaceMethod[m.m.name] {`,
		why:  "a type the release has keeps in the plugin only the methods the plugin's own code reaches: the plugin's code reaches the type's descriptor through the GOT, which binds to the release's, whose methods are the release's (a dynamically linked plugin would otherwise keep every method of every type its code reaches, for interfaces it cannot see)",
	},
	{
		file: "cmd/link/internal/ld/data.go",
		old: `		case objabi.R_METHODOFF:
			if !ldr.AttrReachable(rs) {`,
		new: `		case objabi.R_METHODOFF:
			if hotfixIsUndefined(rst) && !hotfixReleaseHas(ldr, s) {
				st.err.Errorf(s, "` + carryMark + `%s", ldr.SymName(rs))
			}
			if !ldr.AttrReachable(rs) || hotfixIsUndefined(rst) && hotfixReleaseHas(ldr, s) {`,
		why: "a method the plugin does not carry, in the plugin's copy of a type the release has (a method of a carried package's type left to the release; an instantiated generic type's descriptor, which every package that uses it writes), is written as unreachable: the copy is never used, the plugin's code reaches the release's descriptor through the GOT and the runtime maps the copy to the release's (ownRefs refuses a plugin that points at its own copy). In a type the release lacks (one the patch is the first to convert to an interface), the method's package is carried or, carried already, the method is kept",
	},
	{
		file: "cmd/link/internal/ld/inittask.go",
		old:  `		if ldr.SymSize(s) > 8 {`,
		new:  `		if ldr.SymSize(s) > 8 && !hotfixReleaseHas(ldr, s) {`,
		why:  "the init task of a package the release has is left out of the plugin's list: the runtime would find it done (the plugin's reference binds to the release's task), so the package's initializers, and all they reach, stay out of the plugin",
	},
	{
		file: "cmd/link/internal/ld/main.go",
		old:  `		addlibpath(ctxt, "command line", "command line", flag.Arg(0), *flagPluginPath, "", zerofp)`,
		new: `		addlibpath(ctxt, "command line", "command line", flag.Arg(0), *flagPluginPath, "", zerofp)
		hotfixLoadCarried(ctxt)`,
		why: "every carried package is loaded, also one only a hollow package imports: the patch reaches a target in an internal package through a package of the release that imports it, and a hollow package imports nothing",
	},
	{
		file: "cmd/link/internal/ld/main.go",
		old:  `	bench.Start("inittasks")`,
		new: `	hotfixLeaveToRelease(ctxt)
	bench.Start("inittasks")`,
		why: "a function of a carried package that the release has, and the patch does not change, is left to the release (trimEnv): the changed functions' calls bind to the release's copy, and the package's other code stays out of the plugin",
	},
	{
		file: "cmd/link/internal/loader/loader.go",
		old: `			gi := l.toGlobal(r, i)
			if !l.attrReachable.Has(gi) {
				continue
			}
			osym := r.Sym(i)`,
		new: `			gi := l.toGlobal(r, i)
			if !l.attrReachable.Has(gi) || hotfixUndefined[gi] {
				continue
			}
			osym := r.Sym(i)`,
		why: "a function left to the release is not laid out in the plugin's text",
	},
	{
		file: "cmd/link/internal/ld/pcln.go",
		old:  `} else if !ctxt.linkShared {`,
		new: `} else if id, line, ok := ldr.HotfixInlineInfo(call.Func); ok {
			funcID, startLine = id, line
		} else if false {`,
		why: "a function inlined from a package the plugin does not carry has no FuncInfo, as under -linkshared (go.dev/issue/55954: its FuncID is reported as normal); one of a carried package left to the release has what HotfixUndefine kept of it, its FuncID and start line, as a profile reads them",
	},
}

// undefinedEnv names the file the edited linker lists the symbols it left
// undefined in, one per line, as the linker names them (before the ELF
// writer shortens type names, mangle).
const undefinedEnv = "HOTFIX_SLIMLINK_UNDEFINED"

// assumedSplitEnv names the file the edited linker lists, one per line,
// the functions it took to grow their own stack without seeing their code:
// Go functions left to the release that a nosplit function of the plugin
// calls. The link stands only if the release's copy of each starts with
// the stack check (splittable).
const assumedSplitEnv = "HOTFIX_SLIMLINK_ASSUMED_SPLIT"

// carryMark starts an error of the edited linker that names a symbol
// whose package the plugin must carry.
const carryMark = "hotfix-carry: "

// releaseSymbolsEnv names the file listing the symbols the release
// exports, one ELF symbol name per line.
const releaseSymbolsEnv = "HOTFIX_SLIMLINK_RELEASE_SYMBOLS"

// trimEnv names the file listing, one per line, "package P" for each
// package whose unchanged functions the release's copies stand in for,
// and "keep F" for each function the plugin must carry as its own (the
// targets; a closure of F is kept with it).
const trimEnv = "HOTFIX_SLIMLINK_TRIM"

// addedFiles are the files the edits add to the linker, by path in the
// Go root's src, with their source.
var addedFiles = map[string]string{
	"cmd/link/internal/ld/zz_hotfix_undefined.go":    addedSource,
	"cmd/link/internal/loader/zz_hotfix_undefine.go": addedLoaderSource,
}

const addedLoaderSource = `package loader

import (
	"cmd/link/internal/sym"
	"internal/abi"
)

// hotfixUndefined holds the symbols HotfixUndefine made undefined.
var hotfixUndefined = map[Sym]bool{}

// hotfixInlined is what an inline tree tells of a function a kept
// function inlined: the runtime reads its FuncID (a wrapper's is skipped
// by runtime.Callers) and pprof its start line.
type hotfixInlined struct {
	funcID    abi.FuncID
	startLine int32
}

var hotfixInlinedInfo = map[Sym]hotfixInlined{}

// HotfixInlineInfo returns what HotfixUndefine kept of s's function
// information.
func (l *Loader) HotfixInlineInfo(s Sym) (abi.FuncID, int32, bool) {
	i, ok := hotfixInlinedInfo[s]
	return i.funcID, i.startLine, ok
}

// HotfixUndefine makes the defined symbol s one the object refers to but
// does not define, as if its package had been compiled without it: no
// content, relocations or function information but what an inline tree
// needs (HotfixInlineInfo); the dynamic loader binds it to the release's.
func (l *Loader) HotfixUndefine(s Sym) {
	if fi := l.FuncInfo(s); fi.Valid() {
		hotfixInlinedInfo[s] = hotfixInlined{fi.FuncID(), fi.StartLine()}
	}
	if !l.IsExternal(s) {
		l.cloneToExternal(s)
	}
	pp := l.getPayload(s)
	pp.kind = sym.Sxxx
	pp.size = 0
	pp.data = nil
	pp.relocs = nil
	pp.auxs = nil
	l.SetAttrDuplicateOK(s, false)
	hotfixUndefined[s] = true
}
`

// abi0CallMark starts a listed undefined symbol that Go code calls
// directly with the ABI0 convention, an assembly function: the plugin
// names it NAME.abi0, as the release names its ABI0 entry (symtab.go,
// mangleABIName: the compiler emits an ABIInternal wrapper for every
// assembly function, so the release's NAME, when exported, is that
// wrapper); a release that exports no NAME.abi0 does not get it.
const abi0CallMark = "abi0call:"

// abi0Mark starts a listed undefined symbol that assembly refers to: an
// ABI0 function, whose ELF name in the release is NAME.abi0, or a
// variable. The plugin's reference names it without the suffix, which the
// dynamic loader would bind to the release's ABIInternal function, so it
// is never left to the release (missing).
const abi0Mark = "abi0:"

const addedSource = `package ld

import (
	"cmd/internal/goobj"
	"internal/abi"
	"os"
	"sort"
	"strings"

	"cmd/link/internal/loader"
	"cmd/link/internal/sym"
)

var hotfixUndefined = map[string]bool{}

// hotfixNoteUndefined lists the target of r, a relocation of from, when it
// is left undefined. A marker of no size (an init order edge, an interface
// use) is not listed: it makes no relocation in the output, and the
// release drops, for one, empty init tasks.
func hotfixNoteUndefined(ldr *loader.Loader, from loader.Sym, r loader.Reloc) {
	s := r.Sym()
	if r.Siz() == 0 || ldr.SymType(s) != sym.SUNDEFEXT {
		return
	}
	name := ldr.SymName(s)
	switch {
	case ldr.SymVersion(s) != sym.SymVerABI0:
	case ldr.IsFromAssembly(from):
		name = "` + abi0Mark + `" + name
	case r.Type().IsDirectCallOrJump():
		hotfixABI0Calls[s] = true
		name = "` + abi0CallMark + `" + name
	}
	hotfixUndefined[name] = true
}

// hotfixABI0Calls holds the undefined assembly functions Go code calls
// directly: their ELF name is NAME.abi0 (mangleABIName).
var hotfixABI0Calls = map[loader.Sym]bool{}

func hotfixIsUndefined(k sym.SymKind) bool { return k == sym.Sxxx || k == sym.SUNDEFEXT }

var hotfixReleaseSymbols map[string]bool

// hotfixReleaseHas reports whether the release exports s, a type
// descriptor or an init task, by the name its ELF symbol tables give it.
func hotfixReleaseHas(ldr *loader.Loader, s loader.Sym) bool {
	if hotfixReleaseSymbols == nil {
		hotfixReleaseSymbols = map[string]bool{}
		if f := os.Getenv("` + releaseSymbolsEnv + `"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				Exitf("%v", err)
			}
			// One name per line: a type's name may hold spaces (struct {}).
			for _, name := range strings.Split(string(b), "\n") {
				if name != "" {
					hotfixReleaseSymbols[name] = true
				}
			}
		}
	}
	return hotfixReleaseSymbols[typeSymbolMangle(ldr.SymName(s))]
}

// hotfixLoadCarried adds every trimmed package (trimEnv) to the link, by
// its file in the import configuration, in a fixed order: the order of
// the libraries is the order of the plugin's text.
func hotfixLoadCarried(ctxt *Link) {
	var pkgs []string
	for pkg := range hotfixTrim().pkgs {
		pkgs = append(pkgs, pkg)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		if f := ctxt.PackageFile[pkg]; f != "" {
			addlibpath(ctxt, "hotfix", "hotfix", f, pkg, "", goobj.FingerprintType{})
		}
	}
}

type hotfixTrimList struct{ pkgs, keep map[string]bool }

var hotfixTrimRead *hotfixTrimList

// hotfixTrim reads the file trimEnv names, once.
func hotfixTrim() *hotfixTrimList {
	if hotfixTrimRead != nil {
		return hotfixTrimRead
	}
	t := &hotfixTrimList{pkgs: map[string]bool{}, keep: map[string]bool{}}
	hotfixTrimRead = t
	f := os.Getenv("` + trimEnv + `")
	if f == "" {
		return t
	}
	b, err := os.ReadFile(f)
	if err != nil {
		Exitf("%v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch kind, name, _ := strings.Cut(line, " "); kind {
		case "package":
			t.pkgs[name] = true
		case "keep":
			t.keep[name] = true
		}
	}
	return t
}

// hotfixLeaveToRelease undefines each function of a trimmed package
// (trimEnv) that the release exports and the plugin need not carry. Only
// a plain Go function is left: an assembly function, a duplicate (an
// instantiation, a wrapper) and a package-level closure, whose number
// depends on the rest of the package, stay the plugin's own.
func hotfixLeaveToRelease(ctxt *Link) {
	trim, keep := hotfixTrim().pkgs, hotfixTrim().keep
	ldr := ctxt.loader
	for s := loader.Sym(1); s < loader.Sym(ldr.NSym()); s++ {
		if ldr.SymType(s) != sym.STEXT || ldr.IsExternal(s) || ldr.AttrDuplicateOK(s) || ldr.SymVersion(s) != sym.SymVerABIInternal {
			continue
		}
		if trim[ldr.SymPkg(s)] && !hotfixKept(ldr.SymName(s), keep) && hotfixReleaseHas(ldr, s) {
			ldr.HotfixUndefine(s)
		}
	}
}

// hotfixKept reports whether the function name is kept: named, a closure
// of one named (F.func1, F.gowrap1, F-range1), or package-level code.
func hotfixKept(name string, keep map[string]bool) bool {
	if strings.Contains(name, "glob..") || strings.Contains(name, ".init.") || strings.HasSuffix(name, ".init") {
		return true
	}
	for i := 0; i < len(name); i++ {
		if (name[i] == '.' || name[i] == '-') && keep[name[:i]] {
			return true
		}
	}
	return keep[name]
}

var hotfixAssumedSplit = map[string]bool{}

// hotfixStackSmall is the most a function taken to check its own stack
// may use before it does: the release's copy checks at its entry, and a
// leaf the compiler made nosplit in its place (an earlier patch's) has a
// frame smaller than StackSmall (cmd/internal/obj/x86/obj6.go).
const hotfixStackSmall = abi.StackSmall

// hotfixAssumeSplittable takes s, a function left undefined that a
// nosplit function calls, to check its own stack when it is Go code (its
// ABIInternal symbol), and lists it for the check of the release's copy.
func hotfixAssumeSplittable(ldr *loader.Loader, s loader.Sym) bool {
	if ldr.SymVersion(s) != sym.SymVerABIInternal || os.Getenv("` + assumedSplitEnv + `") == "" {
		return false
	}
	hotfixAssumedSplit[ldr.SymName(s)] = true
	return true
}

func hotfixWriteUndefined() {
	hotfixWriteNames(os.Getenv("` + undefinedEnv + `"), hotfixUndefined)
	hotfixWriteNames(os.Getenv("` + assumedSplitEnv + `"), hotfixAssumedSplit)
}

func hotfixWriteNames(f string, set map[string]bool) {
	if f == "" {
		return
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	if err := os.WriteFile(f, []byte(strings.Join(names, "\n")), 0o644); err != nil {
		Exitf("%v", err)
	}
}
`

// editedSources reads the edited files of the Go root goroot and returns them
// edited, keyed by their path in the root.
func editedSources(goroot string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for file, src := range addedFiles {
		out[filepath.Join(goroot, "src", filepath.FromSlash(file))] = []byte(src)
	}
	for _, e := range edits {
		path := filepath.Join(goroot, "src", filepath.FromSlash(e.file))
		src, ok := out[path]
		if !ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("slim link: %w", err)
			}
			src = b
		}
		edited, err := apply(string(src), e)
		if err != nil {
			return nil, fmt.Errorf("slim link: %s: %v", path, err)
		}
		out[path] = []byte(edited)
	}
	return out, nil
}

func apply(src string, e edit) (string, error) {
	if n := strings.Count(src, e.old); n != 1 {
		return "", fmt.Errorf("the linker source this toolchain has is not the one hotfix edits (%d matches, want 1) for: %s", n, e.why)
	}
	return strings.Replace(src, e.old, e.new, 1), nil
}
