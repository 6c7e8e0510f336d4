package tests

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohotfix/hotfix/ledger"
	"github.com/gohotfix/hotfix/loader"
)

// hostileEnv is one policy variant of TestHostile: one work directory and
// one running host, into which every case of that variant drops its file.
type hostileEnv struct {
	f       *fixture
	variant string
	host    string // the host binary
	dir     string // hotfix.yaml, patches/, state/
	stage   string // outside patch_dir: files are made here, then renamed in
	marker  string // written by the init of a patch's package evil, if it ever runs
	v1      *loader.File
	key     ed25519.PrivateKey // in trust.keys of the signed variant
	other   ed25519.PrivateKey // in no trust.keys
	signed  []byte             // signed-v1.so, built by `hotfix build -key`
	sv1     *loader.File       // signed-v1.so decoded
	clib    []byte             // a plain C shared library
	leaf    *loader.Manifest   // the prologue variant's hand-made patch
	leafELF []byte
}

// hostileCase is one bad input. Each has its own file name, so that its
// refusal can be found in the log and the ledger of a host shared with
// the other cases of its variant.
type hostileCase struct {
	variant string // "unsigned": tests/testdata/policy.yaml; "signed": hostile/signed.yaml; "prologue": hostile/leaf.yaml
	name    string // file name in patch_dir
	startup bool   // put in patch_dir before the host starts
	put     func(t *testing.T, e *hostileEnv, name string)
	reason  string // substring of the refusal, in the log record and the ledger
	fn      string // the function the refusal names, if it names one
	dup     bool   // not refused: recognised as a patch already applied
	why     string
}

const (
	greetHello = "example.com/hostapp/greet.Hello"
	guardCheck = "example.com/hostapp/guard.Check"
	noSuchFunc = "example.com/hostapp/greet.Goodbye"
	leafAdd    = "example.com/hostapp/leaf.Add"
)

var hostileCases = []hostileCase{
	// Files that are there when the host starts. The watcher never
	// reports an empty file (a copy that has not started) or anything but
	// a regular file, but the start-up scan hands every *.so name to the
	// agent: none of these may block or crash it.
	{"unsigned", "zero-bytes.so", true, putBytes(nil, 0o644), "0 bytes is too short for a patch", "", false,
		"an empty file is not a patch (after the wait for a copy in progress, here skipped: its mtime is old)"},
	{"unsigned", "startup-truncated.so", true, putPrefix(0.5), "no hotfix trailer", "", false,
		"half a patch at start-up"},
	{"unsigned", "fifo.so", true, putFIFO, "a FIFO, not a regular file", "", false,
		"opened with O_NONBLOCK: a FIFO with no writer must not block the agent"},
	{"unsigned", "directory.so", true, putDir, "a directory, not a regular file", "", false,
		"a directory named x.so"},
	{"unsigned", "device.so", true, putDevice, "a character device, not a regular file", "", false,
		"a device node (root only: mknod)"},

	// Not patches at all.
	{"unsigned", "random.so", false, putRandom, "no hotfix trailer: not an ELF file", "", false,
		"random bytes named x.so"},
	{"unsigned", "truncated-header.so", false, putPrefix(100.0), "no hotfix trailer", "", false,
		"cut inside the ELF header"},
	{"unsigned", "truncated-half.so", false, putPrefix(0.5), "no hotfix trailer", "", false,
		"cut in the middle of the ELF"},
	{"unsigned", "truncated-manifest.so", false, putCutBeforeEnd(200), "no hotfix trailer", "", false,
		"cut inside the manifest"},
	{"unsigned", "truncated-last-byte.so", false, putCutBeforeEnd(1), "no hotfix trailer", "", false,
		"one byte short: the footer is incomplete"},
	{"unsigned", "truncated-fresh.so", false, putFreshPrefix, "no hotfix trailer", "", false,
		"a fresh file is a copy in progress until left alone for 1 s (the watcher's Stalled), then refused"},
	{"unsigned", "c-library.so", false, putCLib, "no hotfix trailer: an ELF file (ET_DYN, EM_X86_64)", "", false,
		"a plain C shared library built with gcc"},
	{"unsigned", "c-library-wrapped.so", false, putWrapped(func(e *hostileEnv) []byte { return e.clib }), "no Go build information in the patch", "", false,
		"the same library behind a valid trailer and manifest: the ELF itself is refused"},
	{"unsigned", "go-executable.so", false, putFile(func(f *fixture) string { return f.host }), "no hotfix trailer: an ELF file (ET_EXEC, EM_X86_64)", "", false,
		"a Go executable instead of a plugin"},
	{"unsigned", "go-executable-wrapped.so", false, putWrapped(func(e *hostileEnv) []byte { return readFile(e.f.host) }), "ELF type ET_EXEC, want a shared object", "", false,
		"the executable behind a valid trailer and manifest"},
	{"unsigned", "aarch64.so", false, putWrapped(func(*hostileEnv) []byte { return readFile("../loader/testdata/aarch64-header.elf") }), "patch built for linux/arm64 (EM_AARCH64), the binary for linux/amd64 (EM_X86_64)", "", false,
		"a hand-made ELF header for another architecture"},

	// File rules.
	{"unsigned", "symlink-outside.so", false, putSymlink, "a symbolic link (to ", "", false,
		"a link to a good patch outside patch_dir"},
	{"unsigned", "hardlink-outside.so", false, putHardlink, "2 hard links", "", false,
		"a hard link to a good patch outside patch_dir"},
	{"unsigned", "world-writable.so", false, putV1Mode(0o666), "mode -rw-rw-rw- is group- or world-writable", "", false,
		"a good patch anyone could rewrite"},
	{"unsigned", "group-writable.so", false, putV1Mode(0o664), "group- or world-writable", "", false,
		"a good patch a group could rewrite"},
	{"unsigned", "other-owner.so", false, putOtherOwner, "owned by uid 65534", "", false,
		"a good patch owned by another user (root only: chown)"},
	{"unsigned", "over-size.so", false, putSparse(0o644), "over the limit of 134217728 (limits.max_file_bytes)", "", false,
		"refused from its size, before a byte is read (order: size before signature, as it has no trailer either)"},

	// Checked against this binary and the policy.
	{"unsigned", "another-build.so", false, putFile(func(f *fixture) string { return f.patches["v1-for-B"] }), "patch built for binary", "", false,
		"a patch for another build of the host"},
	{"unsigned", "other-gcflags.so", false, putFile(func(f *fixture) string { return f.patches["v1-otherflags"] }), "-gcflags=", "", false,
		"built with other -gcflags: named before plugin.Open could fail"},
	{"unsigned", "denied-function.so", false, putTargets(nil, greetHello, guardCheck), "matches deny.functions", guardCheck, false,
		"the manifest lists a function the policy denies"},
	{"unsigned", "not-in-binary.so", false, putTargets(nil, greetHello, noSuchFunc), noSuchFunc + ": not in this binary", "", false,
		"a target missing from the host's symbol table"},
	{"unsigned", "bad-manifest.so", false, putBadManifest(nil, nil), `manifest id "../../etc/x"`, "", false,
		"a manifest that would name a file outside state_dir"},

	// Two rules broken at once: refused for the earlier one. The order is
	// file rules, size, signature, manifest, build, policy, symbols.
	{"unsigned", "order-file-rule-size.so", false, putSparse(0o666), "group- or world-writable", "", false,
		"order: file rules before size"},
	{"unsigned", "order-signature-manifest.so", false, putBadManifest(nil, flipSig), "does not match the file's bytes", "", false,
		"order: signature before manifest"},
	{"unsigned", "order-manifest-build.so", false, putBadManifest(func(*hostileEnv) []byte { return readFile("../loader/testdata/aarch64-header.elf") }, nil), "manifest id", "", false,
		"order: manifest before build compatibility"},
	{"unsigned", "order-build-policy.so", false, putTargets(func(f *fixture) string { return f.patches["v1-for-B"] }, greetHello, guardCheck), "patch built for binary", "", false,
		"order: build compatibility before policy"},
	{"unsigned", "order-policy-symbols.so", false, putTargets(nil, noSuchFunc, guardCheck), "matches deny.functions", guardCheck, false,
		"order: policy before symbols, whatever the order of the targets"},

	// require_signature with one listed key, max_patches 1; signed-v1.so
	// (signed by that key with `hotfix build -key`) is applied first.
	{"signed", "flip-code.so", false, putSignedFlip(flipCode), "does not match the file's bytes", "", false,
		"one byte of machine code changed after signing"},
	{"signed", "flip-manifest.so", false, putSignedFlip(flipManifest), "does not match the file's bytes", "", false,
		"one byte of the manifest changed after signing"},
	{"signed", "flip-signature.so", false, putSignedFlip(flipSig), "does not match the file's bytes", "", false,
		"one byte of the signature changed"},
	{"signed", "unknown-key.so", false, putResigned(false), "which is not in trust.keys", "", false,
		"a valid signature by a key nobody listed"},
	{"signed", "unsigned.so", false, putFile(func(f *fixture) string { return f.patches["v1"] }), "patch is unsigned and trust.require_signature is true", "", false,
		"unsigned with require_signature"},
	{"signed", "no-new-code.so", false, putTargets(nil, guardCheck), guardCheck + ": no new code for it in the patch", "", false,
		"a target missing from the patch's symbol table"},
	{"signed", "max-patches.so", false, putV2Signed, "plugins never unload", "", false,
		"a good signed patch, one more than max_patches"},
	{"signed", "signed-v1-again.so", false, putBytesOf(func(e *hostileEnv) []byte { return e.signed }), "", "", true,
		"the same patch twice: applied once, never opened again"},
	{"signed", "order-trust-manifest.so", false, putBadManifest(nil, nil), "patch is unsigned", "", false,
		"order: trust before manifest (nothing an untrusted signer wrote is parsed)"},
	{"signed", "order-trust-build.so", false, putTargets(func(f *fixture) string { return f.patches["v1-for-B"] }, greetHello), "which is not in trust.keys", "", false,
		"order: trust before build compatibility (signed by the unlisted key)"},
	{"signed", "order-symbols-limit.so", false, putTargets(nil, noSuchFunc), noSuchFunc + ": not in this binary", "", false,
		"order: every check before max_patches"},

	// A host of its own, run with asynchronous preemption off, so that the
	// check for goroutines parked inside a leaf cannot prove itself: the
	// leaf's entry cannot be redirected there. The patch for it would write
	// the marker file if any of it ran.
	{"prologue", "bad-prologue.so", false, putLeaf(leafAdd), "prologue cannot be redirected safely: no stack check, first instruction ADD RAX, RBX (3 of 5 bytes): a goroutine may be parked inside the bytes the jump replaces, and the check for goroutines parked inside a function is unavailable: GODEBUG=asyncpreemptoff=1", leafAdd, false,
		"passes every check before the prologue shapes, and is refused there: nothing of it runs"},
	{"prologue", "order-symbols-prologue.so", false, putLeaf(leafAdd, noSuchFunc), noSuchFunc + ": not in this binary", "", false,
		"order: symbols before prologue shapes"},
}

// TestHostile drops every bad input of hostileCases into a running host,
// one host per policy variant, and proves for each: refused with a
// specific reason, the first rule it breaks in the fixed order (file
// rules, size, signature and trust, manifest, build compatibility, policy,
// symbols, prologue shapes, then max_patches); recorded in the log and the
// ledger; not mapped into the process; none of its code run (the marker
// file); and the service still answers.
func TestHostile(t *testing.T) {
	f := requireFixture(t)
	for _, variant := range []string{"unsigned", "signed", "prologue"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			e := newHostileEnv(t, f, variant)
			var cases []hostileCase
			for _, c := range hostileCases {
				if c.variant == variant {
					cases = append(cases, c)
				}
			}
			for _, c := range cases {
				if c.startup {
					c.put(t, e, c.name)
				}
			}
			env := []string{"HOTFIX_TEST_MARKER=" + e.marker}
			if variant == "prologue" {
				env = append(env, "GODEBUG=asyncpreemptoff=1")
			}
			h := startHost(t, e.host, e.dir, env...)
			want := "hello x v0"
			if variant == "signed" {
				// The good signed patch first: the limit and the duplicate
				// cases need it applied.
				drop(t, e.dir, filepath.Join(e.stage, "signed-v1.so"), "signed-v1.so")
				h.waitGreet("v1")
				want = "hello x v1"
			}
			start := time.Now()
			for _, c := range cases {
				if !c.startup {
					c.put(t, e, c.name)
				}
			}
			waitDecided(t, h, cases)
			t.Logf("%d files decided in %v", len(cases), time.Since(start).Round(time.Millisecond))

			byFile := waitLedger(t, h, filepath.Join(e.dir, "state"))
			maps := mappedFiles(t, h.pid, e.dir)
			for _, c := range cases {
				t.Run(strings.TrimSuffix(c.name, ".so"), func(t *testing.T) {
					checkHostileCase(t, h, c, byFile, maps)
					sameAsVerify(t, e, c, h)
				})
			}
			if got := h.mustGet("/greet?name=x"); got != want {
				t.Errorf("service answers %q after the bad inputs, want %q", got, want)
			}
			if got := h.mustGet("/guard?token=user"); got != "false" {
				t.Errorf("guard answers %q: a refused patch changed it", got)
			}
			if _, err := os.Stat(e.marker); !os.IsNotExist(err) {
				t.Errorf("marker file exists: code from a refused patch ran (%v)", err)
			}
			applied := h.records("patch applied")
			switch {
			case variant != "signed" && (len(applied) != 0 || len(maps) != 0):
				t.Errorf("nothing may be applied or mapped: applied %v, mapped %v", applied, maps)
			case variant == "signed":
				if len(applied) != 1 || len(maps) != 1 || !strings.Contains(maps[0], e.sv1.Manifest.ID) {
					t.Errorf("only signed-v1 may be applied and mapped, once: applied %v, mapped %v", applied, maps)
				}
				if le := byFile["signed-v1.so"]; le.State != ledger.Applied || le.ID != e.sv1.Manifest.ID {
					t.Errorf("ledger for signed-v1.so: %+v", le)
				}
			}
			h.stop()
		})
	}
}

func checkHostileCase(t *testing.T, h *hostProc, c hostileCase, byFile map[string]ledger.Entry, maps []string) {
	t.Helper()
	for _, m := range maps {
		if strings.Contains(m, "/patches/") || strings.Contains(filepath.Base(m), strings.TrimSuffix(c.name, ".so")) {
			t.Errorf("%s is mapped: %s (%s)", c.name, m, c.why)
		}
	}
	if c.dup {
		if _, ok := byFile[c.name]; ok {
			t.Errorf("the duplicate has a ledger entry of its own: %+v", byFile[c.name])
		}
		return
	}
	var rec map[string]any
	for _, r := range h.records("patch refused") {
		if r["file"] == c.name {
			rec = r
		}
	}
	reason, _ := rec["reason"].(string)
	if !strings.Contains(reason, c.reason) || rec["level"] != "WARN" {
		t.Errorf("log record %v: want a WARN refusal naming %q (%s)", rec, c.reason, c.why)
	}
	if fn, _ := rec["func"].(string); fn != c.fn {
		t.Errorf("refusal names function %q, want %q", fn, c.fn)
	}
	t.Logf("refused: %s", reason)
	le, ok := byFile[c.name]
	if !ok || le.State != ledger.Refused || !strings.Contains(le.Reason, c.reason) {
		t.Errorf("ledger entry %+v: want refused naming %q (%s)", le, c.reason, c.why)
	}
}

// agentOnly are the steps only a running agent can take: patch_dir's file
// rules, the patches it has applied, the plugins it has loaded.
var agentOnly = map[string]bool{"file rules": true, "superseded": true, "max_patches": true}

// sameAsVerify runs `hotfix verify` on the case's file, as an operator
// would before copying it: where the agent refused it at a step verify also
// takes (one pipeline, package admit), verify must refuse it at the same
// step for the same reason. The prologue variant's host runs without
// asynchronous preemption, which verify cannot know of: its shape refusal
// is the agent's alone.
func sameAsVerify(t *testing.T, e *hostileEnv, c hostileCase, h *hostProc) {
	t.Helper()
	var step string
	for _, r := range h.records("patch refused") {
		if r["file"] == c.name {
			step, _ = r["step"].(string)
		}
	}
	if c.dup || step == "" || agentOnly[step] || (e.variant == "prologue" && step == "shape") {
		return
	}
	file := filepath.Join(e.dir, "patches", c.name)
	out, err := run(e.stage, e.f.hotfix, "verify", "-binary", e.host, "-policy", filepath.Join(e.dir, "hotfix.yaml"), file)
	if err == nil || !strings.Contains(out, "refused at "+step+": ") || !strings.Contains(out, c.reason) {
		t.Errorf("hotfix verify: %v\n%s\nwant refused at %s naming %q, as the agent did", err, out, step, c.reason)
		return
	}
	t.Logf("verify agrees: refused at %s", step)
}

// waitDecided waits until every case has its log record: a refusal, or for
// a duplicate the record that says it is applied already.
// waitLedger waits until every refusal logged is in the ledger, which may
// write a burst of refusals as one batch (ledger.BatchDelay) after the
// log lines, and returns the entries by file name.
func waitLedger(t *testing.T, h *hostProc, state string) map[string]ledger.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := ledger.Read(state)
		if err != nil {
			t.Fatalf("read ledger: %v", err)
		}
		byFile := map[string]ledger.Entry{}
		for _, le := range entries {
			byFile[le.File] = le
		}
		var missing []string
		for _, r := range h.records("patch refused") {
			if _, ok := byFile[fmt.Sprint(r["file"])]; !ok {
				missing = append(missing, fmt.Sprint(r["file"]))
			}
		}
		if len(missing) == 0 {
			return byFile
		}
		if time.Now().After(deadline) {
			t.Fatalf("refusals logged but not in the ledger after 10s: %v", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDecided(t *testing.T, h *hostProc, cases []hostileCase) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		seen := map[string]bool{}
		for _, r := range h.records("patch refused") {
			seen[fmt.Sprint(r["file"])] = true
		}
		for _, r := range h.records("same patch under another name; already applied") {
			seen[fmt.Sprint(r["file"])] = true
		}
		var missing []string
		for _, c := range cases {
			if !seen[c.name] {
				missing = append(missing, c.name)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision after 45s for %v\nlogs:\n%s", missing, h.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mappedFiles lists the files under dir that process pid has mapped.
func mappedFiles(t *testing.T, pid int, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatalf("read maps: %v", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, dir); i >= 0 && !seen[l[i:]] {
			seen[l[i:]] = true
			out = append(out, l[i:])
		}
	}
	return out
}

func newHostileEnv(t *testing.T, f *fixture, variant string) *hostileEnv {
	t.Helper()
	e := &hostileEnv{f: f, variant: variant, host: f.host, stage: t.TempDir()}
	e.marker = filepath.Join(e.stage, "marker")
	var err error
	if e.v1, err = loader.Decode(readFile(f.patches["v1"])); err != nil {
		t.Fatalf("decode v1: %v", err)
	}
	_, e.other, _ = ed25519.GenerateKey(rand.Reader)
	if variant == "prologue" {
		e.dir = newWorkDir(t, "hostile/leaf.yaml")
		buildLeaf(t, e)
		return e
	}
	out, err := run(e.stage, "gcc", "-shared", "-fPIC", "-o", "clib.so", abs(t, "testdata/hostile/clib.c"))
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	e.clib = readFile(filepath.Join(e.stage, "clib.so"))
	if variant == "unsigned" {
		e.dir = newWorkDir(t, "policy.yaml")
		return e
	}
	e.dir = newWorkDir(t, "policy.yaml")
	e.key = keygen(t, f, e.stage, "ops")
	pol := strings.ReplaceAll(string(readFile("testdata/hostile/signed.yaml")), "@KEY@", publicKey(e.key))
	if err := os.WriteFile(filepath.Join(e.dir, "hotfix.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	// `hotfix build -key` signs; inspect shows the signer; verify accepts
	// the signed patch under the signed policy and refuses the unsigned.
	src := filepath.Join(e.stage, "src")
	if err := copyTree(f.src, src); err != nil {
		t.Fatal(err)
	}
	if err := copyTree("testdata/patches/v1", src); err != nil {
		t.Fatal(err)
	}
	signedFile := filepath.Join(e.stage, "signed-v1.so")
	if out, err := run(src, f.hotfix, "build", "-binary", f.host, "-policy", "policy.yaml", "-key", filepath.Join(e.stage, "ops.key"),
		"-version", "signed-v1", "-o", signedFile, "-func", greetHello); err != nil {
		t.Fatalf("hotfix build -key: %v\n%s", err, out)
	}
	e.signed = readFile(signedFile)
	if e.sv1, err = loader.Decode(e.signed); err != nil || e.sv1.Signature == nil || !e.sv1.Signature.PublicKey.Equal(e.key.Public()) {
		t.Fatalf("signed-v1.so: %v, signature %+v", err, e.sv1)
	}
	fp := loader.Fingerprint(e.key.Public().(ed25519.PublicKey))
	if out, err := run(e.stage, f.hotfix, "inspect", signedFile); err != nil || !strings.Contains(out, fp) {
		t.Fatalf("hotfix inspect does not show the signer %s: %v\n%s", fp, err, out)
	}
	var js struct{ Signer string }
	if out, err := run(e.stage, f.hotfix, "inspect", "-json", signedFile); err != nil || json.Unmarshal([]byte(out), &js) != nil || !strings.Contains(js.Signer, fp) {
		t.Fatalf("hotfix inspect -json: signer %q, want %s: %v\n%s", js.Signer, fp, err, out)
	}
	polFile := filepath.Join(e.dir, "hotfix.yaml")
	if out, err := run(e.stage, f.hotfix, "verify", "-binary", f.host, "-policy", polFile, signedFile); err != nil || !strings.Contains(out, "signed by "+fp) {
		t.Fatalf("hotfix verify of the signed patch: %v\n%s", err, out)
	}
	if out, err := run(e.stage, f.hotfix, "verify", "-binary", f.host, "-policy", polFile, f.patches["v1"]); err == nil || !strings.Contains(out, "unsigned") {
		t.Fatalf("hotfix verify accepted an unsigned patch under require_signature: %v\n%s", err, out)
	}
	return e
}

// buildLeaf builds the prologue variant's host (the test's host app plus
// testdata/hostile/leafhost) and, by hand, a plugin that targets leaf.Add.
func buildLeaf(t *testing.T, e *hostileEnv) {
	t.Helper()
	src := filepath.Join(e.stage, "src")
	for _, c := range [][2]string{
		{e.f.src, src},
		{"testdata/hostile/leafhost", src},
		{"testdata/patches/evil/evil", filepath.Join(src, "evil")},
		{"testdata/hostile/leaf.yaml", filepath.Join(src, "leaf.yaml")},
	} {
		if err := copyTree(c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runFlags(src, e.f.hotfix, "-policy", "leaf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flags := strings.Fields(out)
	e.host = filepath.Join(e.stage, "leafhost")
	if out, err := run(src, "go", append(append([]string{"build"}, flags...), "-o", e.host, ".")...); err != nil {
		t.Fatalf("build leaf host: %v\n%s", err, out)
	}
	plug := filepath.Join(e.stage, "leaf.elf")
	if out, err := run(src, "go", append(append([]string{"build", "-buildmode=plugin"}, flags...), "-o", plug, "./hotfix_patch_leaf")...); err != nil {
		t.Fatalf("build leaf plugin: %v\n%s", err, out)
	}
	bin, err := loader.ReadBinary(e.host)
	if err != nil {
		t.Fatal(err)
	}
	e.leafELF = readFile(plug)
	e.leaf = &loader.Manifest{
		Sequence: 1, PluginPath: "example.com/hostapp/hotfix_patch_leaf", Anchor: "HotfixTargets",
		GoVersion: bin.BuildInfo().GoVersion, BuildFlags: flags,
		Host: loader.Host{BuildID: bin.BuildID(), MainPath: bin.BuildInfo().Path},
	}
	// hotfix verify makes the same checks offline, in the same order, and
	// finds the leaf patchable: it cannot know how the host will be run.
	m := *e.leaf
	m.ID, m.Targets = "verify-leaf", []loader.Target{{Name: leafAdd}}
	file := filepath.Join(e.stage, "verify-leaf.so")
	if err := os.WriteFile(file, encode(t, e.leafELF, m, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(src, e.f.hotfix, "verify", "-binary", e.host, "-policy", "leaf.yaml", file); err != nil || !strings.Contains(out, "ok for") {
		t.Fatalf("hotfix verify of a patch for leaf.Add: %v\n%s", err, out)
	}
}

// putLeaf writes the hand-made leaf patch with the given targets.
func putLeaf(targets ...string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		m := *e.leaf
		m.ID = "hostile-prologue-" + strings.TrimSuffix(name, ".so")
		m.Version = strings.TrimSuffix(name, ".so")
		for _, fn := range targets {
			m.Targets = append(m.Targets, loader.Target{Name: fn})
		}
		e.place(t, name, encode(t, e.leafELF, m, nil), 0o644, false)
	}
}

// keygen runs `hotfix keygen` and checks what it wrote.
func keygen(t *testing.T, f *fixture, dir, name string) ed25519.PrivateKey {
	t.Helper()
	base := filepath.Join(dir, name)
	out, err := run(dir, f.hotfix, "keygen", "-o", base)
	if err != nil {
		t.Fatalf("hotfix keygen: %v", err)
	}
	st, err := os.Stat(base + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s.key: mode %v, %v; want 0600", base, st.Mode(), err)
	}
	priv := strings.TrimSpace(string(readFile(base + ".key")))
	seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(priv, "hotfix-ed25519-private:"))
	if !strings.HasPrefix(priv, "hotfix-ed25519-private:") || err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("%s.key holds %d bytes of seed (%v)", base, len(seed), err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	pub := strings.TrimSpace(string(readFile(base + ".pub")))
	if pub != publicKey(key) || !strings.Contains(out, pub) || !strings.Contains(out, loader.Fingerprint(key.Public().(ed25519.PublicKey))) {
		t.Fatalf("%s.pub = %q, keygen said:\n%s", base, pub, out)
	}
	if out, err := run(dir, f.hotfix, "keygen", "-o", base); err == nil || !strings.Contains(out, "not overwriting") {
		t.Fatalf("keygen over an existing key: %v\n%s", err, out)
	}
	return key
}

func publicKey(k ed25519.PrivateKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err) // fixture files: a missing one is a broken test
	}
	return b
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// place writes b to the staging directory with mode, dates it an hour
// back (a file that old is not a copy in progress: refused at once rather
// than after the agent's retries) and renames it into patch_dir.
func (e *hostileEnv) place(t *testing.T, name string, b []byte, mode os.FileMode, fresh bool) {
	t.Helper()
	tmp := filepath.Join(e.stage, "."+name)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.finish(t, tmp, name, mode, fresh)
}

func (e *hostileEnv) finish(t *testing.T, tmp, name string, mode os.FileMode, fresh bool) {
	t.Helper()
	if err := os.Chmod(tmp, mode); err != nil {
		t.Fatal(err)
	}
	if !fresh {
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(tmp, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(e.dir, "patches", name)); err != nil {
		t.Fatal(err)
	}
}

// manifest is v1's manifest with an ID and version of the case's own, so
// that ledger entries keyed by ID do not collide.
func (e *hostileEnv) manifest(name string, from *loader.File) loader.Manifest {
	m := from.Manifest
	m.ID = "hostile-" + e.variant + "-" + strings.TrimSuffix(name, ".so")
	m.Version = strings.TrimSuffix(name, ".so")
	m.Targets = append([]loader.Target(nil), m.Targets...)
	return m
}

func encode(t *testing.T, elfBytes []byte, m loader.Manifest, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := loader.Encode(elfBytes, m, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putBytes(b []byte, mode os.FileMode) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) { e.place(t, name, b, mode, false) }
}

func putBytesOf(b func(*hostileEnv) []byte) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) { e.place(t, name, b(e), 0o644, false) }
}

func putFile(path func(*fixture) string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) { e.place(t, name, readFile(path(e.f)), 0o644, false) }
}

// putPrefix writes the start of v1: a fraction of it, or a byte count.
func putPrefix(n float64) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		b := readFile(e.f.patches["v1"])
		end := int(n)
		if n < 1 {
			end = int(float64(len(b)) * n)
		}
		e.place(t, name, b[:end], 0o644, false)
	}
}

func putCutBeforeEnd(n int) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		b := readFile(e.f.patches["v1"])
		e.place(t, name, b[:len(b)-n], 0o644, false)
	}
}

func putFreshPrefix(t *testing.T, e *hostileEnv, name string) {
	b := readFile(e.f.patches["v1"])
	e.place(t, name, b[:len(b)/3], 0o644, true)
}

func putRandom(t *testing.T, e *hostileEnv, name string) {
	b := make([]byte, 64<<10)
	rand.Read(b)
	e.place(t, name, b, 0o644, false)
}

func putCLib(t *testing.T, e *hostileEnv, name string) { e.place(t, name, e.clib, 0o644, false) }

// putWrapped puts an ELF that is not a Go plugin behind a valid trailer
// and manifest, so that the ELF checks are the ones that refuse it.
func putWrapped(elfBytes func(*hostileEnv) []byte) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		e.place(t, name, encode(t, elfBytes(e), e.manifest(name, e.v1), nil), 0o644, false)
	}
}

func putFIFO(t *testing.T, e *hostileEnv, name string) {
	if err := syscall.Mkfifo(filepath.Join(e.dir, "patches", name), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

func putDir(t *testing.T, e *hostileEnv, name string) {
	if err := os.Mkdir(filepath.Join(e.dir, "patches", name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func putDevice(t *testing.T, e *hostileEnv, name string) {
	// A character device like /dev/null (1, 3).
	if err := syscall.Mknod(filepath.Join(e.dir, "patches", name), syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
		t.Skipf("mknod needs root: %v", err)
	}
}

func putSymlink(t *testing.T, e *hostileEnv, name string) {
	target := filepath.Join(e.stage, "good-"+name)
	if err := copyFile(e.f.patches["v1"], target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(e.dir, "patches", name)); err != nil {
		t.Fatal(err)
	}
}

func putHardlink(t *testing.T, e *hostileEnv, name string) {
	target := filepath.Join(e.stage, "good-"+name)
	if err := copyFile(e.f.patches["v1"], target); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(target, filepath.Join(e.dir, "patches", name)); err != nil {
		t.Fatal(err)
	}
}

func putV1Mode(mode os.FileMode) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		e.place(t, name, readFile(e.f.patches["v1"]), mode, false)
	}
}

func putOtherOwner(t *testing.T, e *hostileEnv, name string) {
	tmp := filepath.Join(e.stage, "."+name)
	if err := copyFile(e.f.patches["v1"], tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatalf("chown needs root: %v", err)
	}
	e.finish(t, tmp, name, 0o644, false)
}

// putSparse makes a file one byte over the default limits.max_file_bytes
// without writing 128 MiB: the agent must refuse it from its size alone.
func putSparse(mode os.FileMode) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		tmp := filepath.Join(e.stage, "."+name)
		f, err := os.Create(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(128<<20 + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		e.finish(t, tmp, name, mode, false)
	}
}

// putTargets re-encodes the ELF and manifest of a fixture patch (v1 when
// from is nil) with other targets; in the signed variant it signs with
// the listed key, except for a patch for another build, which it signs
// with the unlisted one.
func putTargets(from func(*fixture) string, targets ...string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		src := e.v1
		path := e.f.patches["v1"]
		if from != nil {
			path = from(e.f)
		}
		if path != e.f.patches["v1"] {
			var err error
			if src, err = loader.Decode(readFile(path)); err != nil {
				t.Fatal(err)
			}
		}
		m := e.manifest(name, src)
		m.Targets = nil
		for _, fn := range targets {
			m.Targets = append(m.Targets, loader.Target{Name: fn})
		}
		var key ed25519.PrivateKey
		if e.variant == "signed" {
			key = e.key
			if path == e.f.patches["v1-for-B"] {
				key = e.other
			}
		}
		e.place(t, name, encode(t, elfOf(src), m, key), 0o644, false)
	}
}

// putBadManifest writes a patch whose manifest ID would name a file outside
// state_dir, around v1's ELF or another, then lets corrupt change it.
func putBadManifest(elfBytes func(*hostileEnv) []byte, corrupt func(b []byte)) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		body := elfOf(e.v1)
		if elfBytes != nil {
			body = elfBytes(e)
		}
		m := e.manifest(name, e.v1)
		m.ID = "../../etc/x"
		var key ed25519.PrivateKey
		if corrupt != nil {
			key = e.other
		}
		b := encode(t, body, m, key)
		if corrupt != nil {
			corrupt(b)
		}
		e.place(t, name, b, 0o644, false)
	}
}

// putSignedFlip writes signed-v1.so with one byte changed.
func putSignedFlip(flip func(b []byte)) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		b := bytes.Clone(e.signed)
		flip(b)
		e.place(t, name, b, 0o644, false)
	}
}

// putResigned writes v1 signed by the listed key or the other one.
func putResigned(listed bool) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, e *hostileEnv, name string) {
		key := e.other
		if listed {
			key = e.key
		}
		e.place(t, name, encode(t, elfOf(e.v1), e.manifest(name, e.v1), key), 0o644, false)
	}
}

// putV2Signed writes v2, signed by the listed key and newer than
// signed-v1: it passes every check and meets max_patches.
func putV2Signed(t *testing.T, e *hostileEnv, name string) {
	v2, err := loader.Decode(readFile(e.f.patches["v2"]))
	if err != nil {
		t.Fatal(err)
	}
	m := e.manifest(name, v2)
	m.Sequence = e.sv1.Manifest.Sequence + 1
	e.place(t, name, encode(t, elfOf(v2), m, e.key), 0o644, false)
}

// flipCode changes one byte in the middle of the ELF's .text.
func flipCode(b []byte) {
	f, err := loader.Decode(b)
	if err != nil {
		panic(err)
	}
	ef, err := elf.NewFile(f.ELF())
	if err != nil {
		panic(err)
	}
	text := ef.Section(".text")
	b[text.Offset+text.Size/2] ^= 0x01
}

// flipManifest changes one letter of the version in the manifest, which
// stays valid JSON.
func flipManifest(b []byte) {
	i := bytes.LastIndex(b, []byte(`"version": "`))
	b[i+len(`"version": "`)] ^= 0x01
}

// flipSig changes one byte of the signature block.
func flipSig(b []byte) { b[len(b)-24-10] ^= 0x01 }

// elfOf returns the ELF bytes of a decoded patch file.
func elfOf(f *loader.File) []byte {
	b, err := io.ReadAll(f.ELF())
	if err != nil {
		panic(err)
	}
	return b
}
