package slimlink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ConfigEnv names the file, a JSON Config, that makes the hotfix command
// act as the go command's -toolexec program for a slim link.
const ConfigEnv = "HOTFIX_SLIMLINK"

// Config is what a slim link needs to know.
type Config struct {
	Linker  string   // the edited linker (Linker)
	Carry   []string // packages the plugin carries: the patch's and the runtime's
	Whole   []string // carried packages whose every function is the plugin's own; the others carry only Keep and what the release lacks
	Keep    []string // functions the plugin carries as its own (the targets), by linker symbol
	Release string   // the release binary, whose exported symbols the plugin binds to
	Report  string   // where the link writes its Report
	// Exports: the go command compiles the plugin's packages as a whole
	// plugin's are, for their fingerprints; only the assembler is
	// wrapped (assemble), and nothing is linked.
	Exports bool
}

// Report says how the plugin was linked.
type Report struct {
	Slim    bool     // linked against the release; false: linked whole
	Carried []string // packages carried beyond Config.Carry: the release lacks a symbol of theirs
	Hollow  int      // packages left to the release
	Links   int      // links made
	Splits  int      // functions the link took to check their stack, as their release copies do
	Why     string   // why not slim, when not
}

// maxRounds bounds the links that add a package the release lacks a
// symbol of: each round carries every such package found.
const maxRounds = 8

// ToolExec runs the go command's tool invocation args (the tool's path,
// then its arguments) under -toolexec: a plugin's link becomes a slim
// link; every other tool runs as asked. It returns the exit code.
func ToolExec(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "hotfix toolexec: no tool")
		return 2
	}
	cfg, err := readConfig(os.Getenv(ConfigEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
		return 2
	}
	switch {
	case isTool(args, "compile") && !cfg.Exports:
		return compile(args)
	case isTool(args, "asm"):
		return assemble(args)
	case !isPluginLink(args):
		return run(args[0], args[1:], nil)
	}
	rep, err := cfg.link(args[0], args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
		return 2
	}
	if !rep.Slim {
		// Linked whole, every package is read: one whose assembly only
		// a hollow package's could skip fails here, named.
		if err := linkable(args[1:], func(string) bool { return true }); err != nil {
			msg := err.Error()
			if rep.Why != msg {
				msg = fmt.Sprintf("not linked against the release (%s); linked whole: %s", rep.Why, msg)
			}
			fmt.Fprintln(os.Stderr, "hotfix toolexec:", msg)
			return 1
		}
		if code := run(args[0], args[1:], nil); code != 0 {
			return code
		}
	}
	if err := writeReport(cfg.Report, rep); err != nil {
		fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
		return 2
	}
	return 0
}

// compileID marks the compiler's identity under a slim build: the go
// command keys its cache by that line (cmd/go/internal/work/buildid.go,
// toolID), and an object compiled with -linkshared must never be taken
// for one compiled without it.
const compileID = " +hotfix-slimlink-linkshared-1"

func isTool(args []string, name string) bool {
	return strings.TrimSuffix(filepath.Base(args[0]), ".exe") == name
}

// compile runs the compiler with -linkshared: the package then refers to
// other packages' symbols by name, not by index into their objects
// (cmd/internal/obj/sym.go, isNonPkgSym), so a hollow archive can stand
// in for any of them at the link. It is added here rather than with
// -gcflags, which the go command records in the plugin's build
// information, which the agent compares with the release's.
func compile(args []string) int {
	if slices.Contains(args[1:], "-V=full") {
		return markedVersion(args, compileID)
	}
	return run(args[0], append([]string{"-linkshared"}, args[1:]...), nil)
}

// markedVersion prints the tool's -V=full line, by which the go command
// keys its cache, with mark added: what the tool makes under this
// program is never taken for what it makes without it.
func markedVersion(args []string, mark string) int {
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
		return 2
	}
	fmt.Println(strings.TrimSpace(string(out)) + mark)
	return 0
}

func isPluginLink(args []string) bool {
	return strings.TrimSuffix(filepath.Base(args[0]), ".exe") == "link" &&
		slices.Contains(args[1:], "-buildmode=plugin") && !slices.Contains(args[1:], "-V=full")
}

// link links the plugin against the release, carrying more packages
// while the release lacks a symbol the plugin needs. A link it cannot
// make slim is reported, not failed: the caller links the plugin whole.
func (cfg Config) link(tool string, args []string) (Report, error) {
	cfgAt := slices.Index(args, "-importcfg")
	if cfgAt < 0 || cfgAt+1 == len(args) {
		return Report{Why: "the link has no -importcfg"}, nil
	}
	release, err := exported(cfg.Release)
	if err != nil {
		return Report{}, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(args[cfgAt+1]), "slim")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	empty, err := emptyArchive(tool, dir)
	if err != nil {
		return Report{}, err
	}
	if err := writeReleaseSymbols(release, filepath.Join(dir, "release-symbols")); err != nil {
		return Report{}, err
	}
	carry := map[string]bool{}
	for _, p := range cfg.Carry {
		carry[p] = true
	}
	keep := slices.Clone(cfg.Keep)
	rep := Report{}
	for round := 0; round < maxRounds; round++ {
		if err := cfg.writeTrim(filepath.Join(dir, "trim"), carry, keep); err != nil {
			return Report{}, err
		}
		lacking, hollow, err := cfg.linkOnce(args, cfgAt, carry, empty, dir, release)
		if err != nil {
			return Report{Why: err.Error()}, nil
		}
		rep.Links++
		if len(lacking) == 0 {
			// What the linker took on trust is checked before the link
			// counts: a release copy that does not check its stack
			// is carried or kept like a symbol the release lacks.
			if rep.Splits, lacking, err = notSplittable(filepath.Join(dir, "assumed-split"), cfg.Release); err != nil {
				return Report{}, err
			}
		}
		if len(lacking) == 0 {
			if why := ownCopiesWhy(args, release); why != "" {
				return Report{Why: why}, nil
			}
			rep.Slim, rep.Hollow = true, len(hollow)
			slices.Sort(rep.Carried)
			return rep, nil
		}
		added, kept, why := carryFor(lacking, hollow, keep, carry)
		if why != "" {
			return Report{Why: why}, nil
		}
		for _, p := range added {
			carry[p] = true
		}
		rep.Carried = append(rep.Carried, added...)
		keep = append(keep, kept...)
	}
	return Report{Why: fmt.Sprintf("the release lacks symbols of more packages after %d links carrying %s", maxRounds, strings.Join(rep.Carried, ", "))}, nil
}

// linkOnce links with every package not in carry hollow, and returns the
// undefined symbols the release does not export, and the hollow packages.
func (cfg Config) linkOnce(args []string, cfgAt int, carry map[string]bool, empty []byte, dir string, release map[string]bool) ([]string, []string, error) {
	if err := linkable(args, func(p string) bool { return carry[p] }); err != nil {
		return nil, nil, err
	}
	slim, hollow, err := hollowConfig(args[cfgAt+1], func(p string) bool { return carry[p] }, empty, dir)
	if err != nil {
		return nil, nil, err
	}
	linkArgs := slices.Clone(args)
	linkArgs[cfgAt+1] = slim
	if !slices.Contains(linkArgs, "-w") {
		// DWARF for a type the plugin does not carry cannot be written.
		linkArgs = append([]string{"-w"}, linkArgs...)
	}
	// With no DWARF there is nothing to compress, but the linker asks
	// the C compiler whether it can (a quarter of a second) unless told.
	linkArgs = append([]string{"-compressdwarf=false"}, linkArgs...)
	undefFile, assumedFile := filepath.Join(dir, "undefined"), filepath.Join(dir, "assumed-split")
	for _, f := range []string{undefFile, assumedFile} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	cmd := exec.Command(cfg.Linker, linkArgs...)
	cmd.Env = append(os.Environ(), undefinedEnv+"="+undefFile, assumedSplitEnv+"="+assumedFile,
		releaseSymbolsEnv+"="+filepath.Join(dir, "release-symbols"), trimEnv+"="+filepath.Join(dir, "trim"))
	if out, err := cmd.CombinedOutput(); err != nil {
		if need := carryNamed(out); len(need) > 0 {
			return need, hollow, nil
		}
		return nil, nil, fmt.Errorf("the slim link failed: %v: %s", err, firstLines(out, 12))
	}
	b, err := os.ReadFile(undefFile)
	if err != nil {
		return nil, nil, err
	}
	return missing(symbolLines(b), release), hollow, nil
}

// symbolLines splits the edited linker's list of symbols, one per line:
// a symbol's name may hold spaces (gsl.(*GenericSublist[struct {}]).Lock).
func symbolLines(b []byte) []string {
	var syms []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			syms = append(syms, line)
		}
	}
	return syms
}

// carryFor returns the hollow packages that define the symbols lacking
// and the functions of carried packages to keep as the plugin's own (one
// a //go:nosplit function calls, whose stack the linker must see; a
// method of a type only the plugin has), or why linking against the
// release cannot work.
func carryFor(lacking, hollow, keep []string, carry map[string]bool) (pkgs, kept []string, why string) {
	for _, sym := range lacking {
		pkg := packageOf(sym)
		switch {
		case slices.Contains(hollow, pkg):
			if !slices.Contains(pkgs, pkg) {
				pkgs = append(pkgs, pkg)
			}
		case carry[pkg] && !slices.Contains(keep, sym) && !strings.HasPrefix(sym, abi0Mark) && !strings.HasPrefix(sym, abi0CallMark):
			kept = append(kept, sym)
		default:
			return nil, nil, fmt.Sprintf("the release does not export %s, which no package of the plugin can carry", sym)
		}
	}
	slices.Sort(pkgs)
	return pkgs, kept, ""
}

// writeTrim writes the file trimEnv names: the carried packages not
// linked whole, and the functions kept.
func (cfg Config) writeTrim(path string, carry map[string]bool, keep []string) error {
	var b strings.Builder
	for p := range carry {
		if !slices.Contains(cfg.Whole, p) {
			fmt.Fprintf(&b, "package %s\n", p)
		}
	}
	for _, f := range keep {
		fmt.Fprintf(&b, "keep %s\n", f)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func run(tool string, args, env []string) int {
	cmd := exec.Command(tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	return exitCode(cmd.Run())
}

func readConfig(path string) (Config, error) {
	var cfg Config
	if path == "" {
		return cfg, fmt.Errorf("%s is not set", ConfigEnv)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	return cfg, json.Unmarshal(b, &cfg)
}

func writeReport(path string, rep Report) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadReport reads what the slim link wrote.
func ReadReport(path string) (Report, error) {
	var rep Report
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, fmt.Errorf("slim link: no report: %w", err)
	}
	return rep, json.Unmarshal(b, &rep)
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "; ")
}

// carryNamed returns the symbols the edited linker's errors name as
// needing their package carried (carryMark).
func carryNamed(out []byte) []string {
	var syms []string
	for _, line := range strings.Split(string(out), "\n") {
		if _, sym, ok := strings.Cut(line, carryMark); ok {
			syms = append(syms, strings.TrimSpace(sym))
		}
	}
	return syms
}

// writeReleaseSymbols writes the release's exports (releaseSymbolsEnv).
func writeReleaseSymbols(release map[string]bool, path string) error {
	var b strings.Builder
	for name := range release {
		b.WriteString(name)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// ownCopiesWhy says why the linked plugin (the link's -o) cannot ship
// slim: it refers to its own copy of a release type (ownCopies).
func ownCopiesWhy(args []string, release map[string]bool) string {
	at := slices.Index(args, "-o")
	if at < 0 || at+1 == len(args) {
		return "the link has no -o"
	}
	own, err := ownCopies(args[at+1], release)
	switch {
	case err != nil:
		return err.Error()
	case len(own) > 0:
		return fmt.Sprintf("the plugin refers by address to its own copy of %d type descriptor(s) the release has (%s), whose methods it does not all carry", len(own), strings.Join(own[:min(len(own), 3)], ", "))
	}
	return ""
}
