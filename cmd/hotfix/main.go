// Command hotfix builds, checks and inspects live patches for Go services
// that run the hotfix agent.
//
//	hotfix flags   [-policy hotfix.yaml] [-explain]
//	hotfix build   [-base REV] [-binary APP] [-main PKG] [-goroot DIR | -go goX.Y.Z] [-o fix.so] [-key KEY] [-version V] [-policy hotfix.yaml] [-dry-run] [-slim=false] [-func NAME]...
//	hotfix verify  -binary APP [-policy hotfix.yaml] FIX.so
//	hotfix verify  -binary APP [-policy hotfix.yaml | -all]
//	hotfix inspect [-json] FIX.so
//	hotfix keygen  -o NAME
//	hotfix status  [-policy hotfix.yaml] [-json]
//	hotfix version
//	hotfix help    [command]
//
// Help asked for (-h, help, help COMMAND) goes to stdout. Exit codes: 0
// ok, 1 refused or failed, 2 usage.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gohotfix/hotfix/admit"
	"github.com/gohotfix/hotfix/internal/patchbuild"
	"github.com/gohotfix/hotfix/internal/patchbuild/slimlink"
	"github.com/gohotfix/hotfix/internal/printable"
	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
	"github.com/gohotfix/hotfix/policy"
)

// errUsage makes main exit with 2.
var errUsage = errors.New("usage")

type command struct {
	name, args, help string
	run              func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"flags", "[-policy hotfix.yaml] [-explain]", "print the go build flags a host and its patches must use", runFlags},
	{"build", "[-base REV] [-binary APP] [-main PKG] [-goroot DIR | -go goX.Y.Z] [-o fix.so] [-key KEY] [-version V] [-policy hotfix.yaml] [-dry-run] [-slim=false] [-func NAME]...", "build a patch from the working tree (and, with -goroot or -go, a newer Go root's standard library) against the release at REV", runBuild},
	{"verify", "-binary APP [-policy hotfix.yaml] [FIX.so]", "run every pre-load check of FIX.so against APP, offline; without FIX.so, report which functions of APP a patch could replace", runVerify},
	{"inspect", "[-json] FIX.so", "print a patch's manifest and signer", runInspect},
	{"keygen", "-o NAME", "write an ed25519 key pair NAME.key (private) and NAME.pub", runKeygen},
	{"status", "[-policy hotfix.yaml] [-json]", "print the patches recorded in the ledger", runStatus},
}

func main() {
	if os.Getenv(slimlink.ConfigEnv) != "" {
		// hotfix build -slim runs the go command with this program as its
		// -toolexec: the plugin's link is made against the release.
		os.Exit(slimlink.ToolExec(os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stopProfile := cpuProfile(os.Getenv("HOTFIX_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the command to path, if not "", for
// `go tool pprof`: where a slow hotfix build spends its own time (the go
// commands it runs are not in it).
func cpuProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hotfix: HOTFIX_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return help(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		version(stdout)
		return 0
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "hotfix: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var h *helpAsked
	switch {
	case err == nil:
		return 0
	case errors.As(err, &h):
		commandHelp(stdout, c, h.fs)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "hotfix %s: %v\n", c.name, err)
		fmt.Fprintf(stderr, "usage: hotfix %s %s\nRun 'hotfix help %s' for its flags.\n", c.name, c.args, c.name)
		return 2
	default:
		fmt.Fprintf(stderr, "hotfix %s: %v\n", c.name, err)
		return 1
	}
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// help answers `hotfix help [COMMAND]` on stdout, as `go help` does.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stdout)
		return 0
	case len(args) > 1:
		fmt.Fprintln(stderr, "usage: hotfix help [command]")
		return 2
	case args[0] == "version":
		fmt.Fprintln(stdout, "usage: hotfix version\n\nprint the version of hotfix, the Go release it was built with, and the Go releases of the hosts it can patch")
		return 0
	}
	if lookup(args[0]) == nil {
		fmt.Fprintf(stderr, "hotfix help %s: unknown command\n", args[0])
		return 2
	}
	return run(ctx, []string{args[0], "-h"}, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hotfix builds, checks and inspects live patches for Go services that run the hotfix agent.")
	fmt.Fprintln(w, "\nusage: hotfix <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "version", "print the versions of hotfix and of Go")
	fmt.Fprintln(w, "\nRun 'hotfix help <command>' for a command's flags. Exit codes: 0 ok, 1 refused or failed, 2 usage.")
}

// commandHelp prints a command's synopsis, what it does, and every flag
// with its default.
func commandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: hotfix %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.help[:1])+c.help[1:])
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// version prints what `go version` would of hotfix, and the Go releases
// whose hosts it patches.
func version(w io.Writer) {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(w, "hotfix version %s%s %s %s/%s\n", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "patches hosts built by %s, on linux/amd64 and linux/arm64\n", strings.Join(loader.SupportedGo, " and "))
}

// helpAsked is a command's answer to -h: the flags to describe.
type helpAsked struct{ fs *flag.FlagSet }

func (h *helpAsked) Error() string { return "help requested" }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpAsked{fs}
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// defaultPolicy is the policy file of every command: the agent's
// ($HOTFIX_POLICY, as the systemd unit sets it), or hotfix.yaml.
func defaultPolicy() string {
	if env := os.Getenv("HOTFIX_POLICY"); env != "" {
		return env
	}
	return "hotfix.yaml"
}

func loadPolicy(path string) (*policy.Policy, error) {
	p, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func runFlags(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("flags")
	pol := fs.String("policy", defaultPolicy(), "policy file (default: $HOTFIX_POLICY, or hotfix.yaml)")
	explain := fs.Bool("explain", false, "say on standard error, for each allowed standard package, which of its internal and vendored packages a fix may also change, and the allow lines for them")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	p, err := loadPolicy(*pol)
	if err != nil {
		return err
	}
	// A policy allowing package main needs main's import path: the CLI,
	// run in the module, knows it.
	flags, err := p.ModuleBuildFlags(ctx, ".")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, strings.Join(flags, " "))
	g, err := policy.ListGraph(ctx, ".")
	if err != nil {
		return nil // go list cannot say: the flags stand, with no advice
	}
	for _, pat := range p.Unbuilt(g) {
		fmt.Fprintf(stderr, "warning: %s allows %s, which matches no package this module builds (misspelled?)\n", *pol, pat)
	}
	printStdHelpers(stderr, *pol, p.StdHelpers(g), g, *explain, p.KeepsInlining())
	return nil
}

// printStdHelpers offers the allow entries a standard package's fixes
// often need (policy.StdHelpers): one note per package an operator names
// (net/http, not its internal or vendored helpers, whose own helpers
// would otherwise chase each other), or with explain every package,
// helper by helper, with the entries to add. keep: the host is built with
// full optimization (inlining: keep), so allowing is no build input.
func printStdHelpers(w io.Writer, pol string, hs []policy.StdHelpers, g policy.Graph, explain, keep bool) {
	built, allowed, rebuild := "is compiled with -l: no other package inlines its functions, and it inlines none of the packages it calls.", "allowed (compiled with -l)", ", and rebuild the host"
	if keep {
		built, allowed, rebuild = "is allowed: a patch replaces its functions, and those holding inlined copies of them.", "allowed", " (no rebuild: the host's flags do not depend on it)"
	}
	for _, h := range hs {
		if !explain {
			if len(h.Missing) > 0 && !policy.IsHelper(h.Package) {
				fmt.Fprintf(w, "note: a fix to %s may also change packages it imports that %s does not allow: %s (hotfix flags -explain)\n",
					h.Package, pol, strings.Join(policy.SuggestPackages(h.Package, h.Missing, g), ", "))
			}
			continue
		}
		fmt.Fprintf(w, "%s %s\n", h.Package, built)
		fmt.Fprintf(w, "  a fix to it may also change its internal and vendored packages:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, pkg := range h.Helpers {
			state := allowed
			if slices.Contains(h.Missing, pkg) {
				state = "not allowed"
			}
			fmt.Fprintf(tw, "    %s\t%s\n", pkg, state)
		}
		tw.Flush()
		if len(h.Missing) == 0 {
			continue
		}
		fmt.Fprintf(w, "  to allow them, add to allow.packages in %s%s:\n", pol, rebuild)
		for _, e := range policy.SuggestPackages(h.Package, h.Missing, g) {
			fmt.Fprintf(w, "    - %s\n", e)
		}
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("build")
	var funcs multi
	base := fs.String("base", "HEAD", "git revision of the running release")
	binary := fs.String("binary", "", "the release binary (instead of rebuilding -base)")
	mainPkg := fs.String("main", "", "main package of the release, e.g. ./cmd/server")
	out := fs.String("o", "", "output file (default hotfix-VERSION.so)")
	keyFile := fs.String("key", "", "private key from hotfix keygen, to sign the patch")
	version := fs.String("version", "", "version shown to operators (default: unique per build)")
	pol := fs.String("policy", defaultPolicy(), "policy file (default: $HOTFIX_POLICY, or hotfix.yaml)")
	dryRun := fs.Bool("dry-run", false, "print the plan (functions to replace, refusals) and stop")
	slim := fs.Bool("slim", true, "link the patch against the release: it carries the changed packages and the runtime, not the service's other packages (falls back to a whole plugin, saying why); -slim=false links every package the service imports into the plugin")
	goroot := fs.String("goroot", "", "a Go root whose standard library holds the fixes (a point release of the release's Go); its standard packages are compared with the release's")
	goRelease := fs.String("go", "", "a Go release, e.g. go1.26.9: -goroot of its root, as the go command fetches it (GOTOOLCHAIN=go1.26.9 go env GOROOT)")
	fs.Var(&funcs, "func", "target function as a linker symbol, e.g. example.com/app/router.(*Server).handle (repeatable; default: every changed function)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *dryRun && len(funcs) > 0 {
		return fmt.Errorf("%w: -dry-run prints the plan of a build without -func", errUsage)
	}
	if *goroot != "" && *goRelease != "" {
		return fmt.Errorf("%w: -go names a Go root as -goroot does: give one of them", errUsage)
	}
	if (*goroot != "" || *goRelease != "") && len(funcs) > 0 {
		return fmt.Errorf("%w: -goroot and -go find the changed standard functions themselves; they take no -func", errUsage)
	}
	if *goRelease != "" {
		if err := patchbuild.CheckGoRelease(*goRelease); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	p, err := loadPolicy(*pol)
	if err != nil {
		return err
	}
	var key ed25519.PrivateKey
	if *keyFile != "" {
		if key, err = readKey(*keyFile); err != nil {
			return err
		}
	}
	var pub ed25519.PublicKey
	if key != nil {
		pub = key.Public().(ed25519.PublicKey)
	}
	if err := p.TrustSigner(pub); err != nil && !*dryRun {
		fmt.Fprintf(stderr, "warning: an agent under %s will refuse this patch: %v\n", *pol, err)
	}
	opt := patchbuild.Options{
		Dir: ".", Base: *base, Binary: *binary, Main: *mainPkg, Funcs: funcs, Policy: p, GoRoot: *goroot, Go: *goRelease,
		Version: *version, Key: key, Out: *out, DryRun: *dryRun, Slim: *slim, Plan: stdout, Log: stderr,
	}
	if opt.Out == "" {
		v := *version
		if v == "" {
			v = time.Now().UTC().Format("20060102t150405")
		}
		opt.Out = "hotfix-" + v + ".so"
	}
	res, err := patchbuild.Build(ctx, opt)
	if err != nil {
		return err
	}
	if *dryRun {
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes): patch %s version %s, %d function(s), for binary %s\n",
		res.Out, res.Size, res.Manifest.ID, res.Manifest.Version, len(res.Manifest.Targets), res.Manifest.Host.BuildID)
	fmt.Fprintln(stdout, res.Took)
	return nil
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify")
	binary := fs.String("binary", "", "the release binary the patch is for")
	pol := fs.String("policy", defaultPolicy(), "policy file (default: $HOTFIX_POLICY, or hotfix.yaml)")
	all := fs.Bool("all", false, "without FIX.so: every function outside the Go runtime, whatever the policy allows")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *binary == "" || fs.NArg() > 1 || (*all && fs.NArg() == 1) {
		return fmt.Errorf("%w: need -binary APP and one patch file, or -binary APP alone for coverage", errUsage)
	}
	if fs.NArg() == 1 {
		if _, err := os.Stat(fs.Arg(0)); err != nil {
			return err // not a refusal: there is nothing to check
		}
	}
	var p *policy.Policy
	if !*all {
		var err error
		if p, err = loadPolicy(*pol); err != nil {
			return err
		}
	}
	bin, err := loader.ReadBinary(*binary)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		c, err := patchbuild.MeasureCoverage(bin, p)
		if err != nil {
			return err
		}
		printCoverage(stdout, *binary, c, *all)
		if n, _ := c.Total(); n == 0 && !*all {
			return fmt.Errorf("the policy %s allows no function of %s: each of allow.packages must name a package linked into the binary", *pol, *binary)
		}
		return nil
	}
	file := fs.Arg(0)
	// The agent's pipeline (admit), less the file rules, which are about
	// patch_dir on the host, and what only a running process knows (applied
	// patches, loaded plugins, live code).
	f, err := loader.ReadOffline(file, loader.ReadOptions{MaxBytes: p.Limits.MaxFileBytes, Trust: p.TrustSigner})
	if err != nil {
		return refusedAt(file, admit.ReadRefusal(err))
	}
	defer f.Close()
	patch, err := admit.Checks{Binary: bin, Policy: p, Shape: admit.FileShape(bin)}.Admit(f, file)
	if err != nil {
		return refusedAt(file, err)
	}
	signer := "unsigned"
	if f.Signature != nil {
		signer = "signed by " + loader.Fingerprint(f.Signature.PublicKey)
	}
	fmt.Fprintf(stdout, "%s: ok for %s (build ID %s): %d function(s), %s\n", printable.String(file), printable.String(*binary), bin.BuildID(), len(patch.Funcs), signer)
	return nil
}

// refusedAt names the file and the step of the pipeline that refused it,
// as the agent's log does (its "step" key).
func refusedAt(file string, err error) error {
	var r *admit.Refusal
	if errors.As(err, &r) {
		return fmt.Errorf("%s: refused at %s: %w", printable.String(file), r.Step, fromFile{err})
	}
	return fmt.Errorf("%s: %w", printable.String(file), fromFile{err})
}

// fromFile is an error about a patch file, whose text may quote what the
// file holds: it prints escaped, whichever package wrote it (issue 22).
type fromFile struct{ err error }

func (e fromFile) Error() string { return printable.String(e.err.Error()) }
func (e fromFile) Unwrap() error { return e.err }

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: need one patch file", errUsage)
	}
	f, err := loader.ReadFile(fs.Arg(0), 0)
	if err != nil {
		return fmt.Errorf("%s: %w", printable.String(fs.Arg(0)), fromFile{err})
	}
	defer f.Close()
	signer := ""
	if f.Signature != nil {
		signer = "ed25519:" + base64.StdEncoding.EncodeToString(f.Signature.PublicKey) + " (" + loader.Fingerprint(f.Signature.PublicKey) + ")"
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			File     string          `json:"file"`
			SHA256   string          `json:"sha256"`
			Size     int64           `json:"size"`
			Signer   string          `json:"signer,omitempty"`
			Manifest loader.Manifest `json:"manifest"`
		}{fs.Arg(0), f.SHA256, f.Size, signer, f.Manifest})
	}
	if signer == "" {
		signer = "unsigned"
	}
	return printInspect(stdout, fs.Arg(0), f, signer)
}

// printInspect prints what a patch file says of itself, one field a line.
// Every string from the file (or its name) goes through printable.String:
// `hotfix inspect` is how an operator looks at a file nobody vouches for.
func printInspect(w io.Writer, file string, f *loader.File, signer string) error {
	m, p := f.Manifest, printable.String
	flags := make([]string, len(m.BuildFlags))
	for i, fl := range m.BuildFlags {
		flags[i] = p(fl)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\nsha256\t%s\nsize\t%d\n", p(file), f.SHA256, f.Size)
	fmt.Fprintf(tw, "id\t%s\nversion\t%s\nsequence\t%d\nbase\t%s\n", p(m.ID), p(m.Version), m.Sequence, p(m.BaseRevision))
	fmt.Fprintf(tw, "host build id\t%s\nhost main\t%s\ngo\t%s\nflags\t%s\nbuilt\t%s\n", p(m.Host.BuildID), p(m.Host.MainPath), p(m.GoVersion), strings.Join(flags, " "), m.Built.Format(time.RFC3339))
	fmt.Fprintf(tw, "signer\t%s\n", signer)
	for _, t := range m.Targets {
		fmt.Fprintf(tw, "target\t%s\t%s\n", p(t.Name), p(t.Reason))
	}
	for _, a := range m.Adopted {
		fmt.Fprintf(tw, "adopted\t%s\tthe release's fingerprint, checked by the builder\n", p(a))
	}
	return tw.Flush()
}

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen")
	out := fs.String("o", "", "base name of the key files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: need -o NAME", errUsage)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	keyFile, pubFile := *out+".key", *out+".pub"
	for _, f := range []string{keyFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return fmt.Errorf("%s exists; not overwriting a key", f)
		}
	}
	pubText := "ed25519:" + base64.StdEncoding.EncodeToString(pub)
	privText := "hotfix-ed25519-private:" + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"
	// O_EXCL: never write a key through a link or over a file that
	// appeared since the check above; the mode is set on the file created,
	// so the key is never readable by others, not even for a moment.
	if err := writeNew(keyFile, []byte(privText), 0o600); err != nil {
		return err
	}
	if err := writeNew(pubFile, []byte(pubText+"\n"), 0o644); err != nil {
		os.Remove(keyFile)
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (private, mode 0600) and %s\nadd to hotfix.yaml trust.keys: %s\nfingerprint %s\n", keyFile, pubFile, pubText, loader.Fingerprint(pub))
	return nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func readKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	const prefix = "hotfix-ed25519-private:"
	if !strings.HasPrefix(s, prefix) {
		return nil, fmt.Errorf("%s: not a key written by hotfix keygen", path)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, prefix))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s: malformed private key", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status")
	pol := fs.String("policy", defaultPolicy(), "policy file (default: $HOTFIX_POLICY, or hotfix.yaml)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	p, err := loadPolicy(*pol)
	if err != nil {
		return err
	}
	entries, err := ledger.Read(p.StateDir)
	if err != nil {
		return err
	}
	if !*asJSON {
		return ledger.WriteTable(stdout, entries)
	}
	out := make([]statusJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, statusJSON{e.ID, e.Version, e.Sequence, e.File, ledger.FileBytes(e.File), e.SHA256, e.Targets, e.State, e.Reason,
			e.AppliedAt, e.UpdatedAt, e.PID, e.Instance, e.HostBuildID, e.Timings})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// statusJSON is a ledger entry as `hotfix status -json` prints it: the
// names are those of the agent's status handler (hotfix.PatchStatus), so
// that one parser reads both; tests/operator_test.go holds them together.
type statusJSON struct {
	ID          string         `json:"id"`
	Version     string         `json:"version"`
	Sequence    int64          `json:"sequence"`
	File        string         `json:"file"`
	FileBytes   []byte         `json:"file_bytes,omitempty"`
	SHA256      string         `json:"sha256"`
	Functions   []string       `json:"functions"`
	State       ledger.State   `json:"state"`
	Reason      string         `json:"reason"`
	AppliedAt   time.Time      `json:"applied_at,omitzero"`
	UpdatedAt   time.Time      `json:"updated_at"`
	PID         int            `json:"pid"`
	Instance    string         `json:"instance,omitempty"`
	HostBuildID string         `json:"host_build_id"`
	Timings     ledger.Timings `json:"timings"`
}

// printCoverage prints how many functions of each package a patch could
// replace, and why not each other one: every refused entry, and with a
// policy every inlined function (the host was not built with the policy's
// -l, or the function is generic); with -all, the inlined ones by count
// only, as every package built without -l has hundreds.
func printCoverage(w io.Writer, binary string, c *patchbuild.Coverage, all bool) {
	n, ok := c.Total()
	scope := "the policy allows"
	if all {
		scope = "outside the Go runtime"
	}
	pct := 0.0
	if n > 0 {
		pct = 100 * float64(ok) / float64(n)
	}
	fmt.Fprintf(w, "%s: %d of %d functions %s can be patched (%.2f%%)\n", binary, ok, n, scope, pct)
	inl, ref := c.NotPatchable()
	fmt.Fprintf(w, "not patchable: %d inlined into other functions (no jump at an entry reaches their copies), %d with an entry that cannot be redirected\n", inl, ref)
	var kinds []string
	for k, v := range c.Shapes {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "by shape: %s\n", strings.Join(kinds, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tPATCHABLE\tINLINED ELSEWHERE")
	for _, pc := range c.Packages {
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\n", printable.String(pc.Path), pc.Patchable, pc.Functions, len(pc.Inlined))
	}
	tw.Flush()
	for _, pc := range c.Packages {
		for _, r := range pc.Refused {
			fmt.Fprintf(w, "cannot be patched: %s: %s\n", printable.String(r.Object), printable.String(r.Detail))
		}
		for _, r := range pc.Inlined {
			if !all {
				fmt.Fprintf(w, "inlined elsewhere: %s\n", printable.String(r.Detail))
			}
		}
	}
}
