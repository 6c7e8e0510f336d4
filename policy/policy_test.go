package policy

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// minimal is the smallest valid policy; tests append to it.
const minimal = "patch_dir: /p\nstate_dir: /s\n"

func TestLoadSample(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "hotfix.yaml")
	got, err := Load(path)
	if err != nil {
		t.Fatalf("load sample: %v", err)
	}
	want := &Policy{
		PatchDir: "/var/lib/app/patches",
		StateDir: "/var/lib/app/hotfix",
		Inlining: InliningKeep,
		Allow: Rules{
			Packages:  []string{"example.com/app/router", "example.com/app/billing/..."},
			Types:     []string{"example.com/app/store.Cache"},
			Functions: []string{"example.com/app/util.parseHeader", "example.com/app/api.(*Server).handle", "main.handler"},
		},
		Deny: Rules{
			Packages:  []string{"example.com/app/billing/ledger"},
			Types:     []string{"example.com/app/router.Admin"},
			Functions: []string{"example.com/app/auth.*", "example.com/app/router.Login"},
		},
		Trust:  Trust{RequireSignature: true, Keys: []string{"ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="}, OnRevokedKey: RevertRevoked, MinSequence: 1765000000000000000},
		Limits: Limits{MaxPatches: 64, MaxFileBytes: 134217728},
		Path:   path,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", path, diff)
	}
	seed := make([]byte, ed25519.SeedSize)
	wantKey := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if diff := cmp.Diff([]ed25519.PublicKey{wantKey}, got.PublicKeys()); diff != "" {
		t.Errorf("PublicKeys() mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadResolvesRelativeDirs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "hotfix.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("patch_dir: patches\nstate_dir: ../state/./x/..\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if want := filepath.Join(dir, "etc", "patches"); p.PatchDir != want {
		t.Errorf("PatchDir = %q, want %q", p.PatchDir, want)
	}
	if want := filepath.Join(dir, "state"); p.StateDir != want {
		t.Errorf("StateDir = %q, want %q", p.StateDir, want)
	}
	if p.Path != path {
		t.Errorf("Path = %q, want %q", p.Path, path)
	}
}

func TestParseResolvesAgainstPathDir(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte("patch_dir: patches\nstate_dir: /abs//state/\n"), "conf/hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.PatchDir != filepath.Join("conf", "patches") || p.StateDir != "/abs/state" {
		t.Errorf("dirs = %q, %q; want conf/patches, /abs/state", p.PatchDir, p.StateDir)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist and not ErrInvalid", err)
	}
	big := filepath.Join(dir, "big.yaml")
	data := minimal + "# " + strings.Repeat("x", maxPolicyBytes) + "\n"
	if err := os.WriteFile(big, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("Load(big) = %v, want ErrInvalid", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(minimal+"limits:\n  max_patches: 0\n"), "hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{MaxPatches: 64, MaxFileBytes: 128 << 20}
	if diff := cmp.Diff(want, p.Limits); diff != "" {
		t.Errorf("Limits mismatch (-want +got):\n%s", diff)
	}
	if p.Trust.RequireSignature || p.PublicKeys() != nil {
		t.Errorf("Trust = %+v, want zero", p.Trust)
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		yaml   string
		reason string
	}{
		{"document marker", "---\n" + minimal, "a leading --- is one document"},
		{"empty sections", minimal + "allow:\ndeny:\ntrust:\nlimits:\n", "an empty section is an empty mapping"},
		{"empty lists", minimal + "allow:\n  packages:\n  types: []\n", "an empty list is fine"},
		{"block lists", minimal + "allow:\n  packages:\n    - example.com/a\n    - example.com/b/...\n", "block and flow style are the same"},
		{"quoted", `patch_dir: "/p"` + "\n" + `state_dir: '/s'` + "\n", "quoted strings are strings"},
		{"aliases", minimal + "allow:\n  packages: &pk [example.com/a]\ndeny:\n  packages: *pk\n", "anchors and aliases resolve"},
		{"hex limit", minimal + "limits:\n  max_file_bytes: 0x100000\n", "YAML integers in any base"},
		{"escaped function", minimal + "allow:\n  functions: [gopkg.in/yaml%2ev3.Marshal]\n", "%2e marks a dot in the last path element"},
		{"dotted type", minimal + "allow:\n  types: [gopkg.in/yaml.v3.Node]\n", "types entries take a plain path"},
		{"dotted glob", minimal + "allow:\n  functions: [gopkg.in/yaml.v3.*]\n", "glob entries take a plain path"},
		{"main", minimal + "allow:\n  packages: [main]\n  functions: [main.handler, main.(*srv).ServeHTTP]\n  types: [main.srv]\n", "the main package is patchable"},
		{"deny builtin", minimal + "deny:\n  packages: [sync]\n", "denying what is denied anyway is harmless"},
		{"no signature keys", minimal + "trust:\n  require_signature: false\n", "keys are needed only when signatures are"},
		{"bom", "\ufeff" + minimal, "editors on some systems write a byte order mark"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse([]byte(tt.yaml), "hotfix.yaml"); err != nil {
				t.Errorf("Parse: %v (%s)", err, tt.reason)
			}
		})
	}
}

// TestOnRevokedKeyDefault: without the key, a revoked key's patches keep
// running (flagged), as before the setting existed.
func TestOnRevokedKeyDefault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, want string }{
		{minimal, KeepRevoked},
		{minimal + "trust:\n  on_revoked_key: keep\n", KeepRevoked},
		{minimal + "trust:\n  on_revoked_key: revert\n", RevertRevoked},
	} {
		p, err := Parse([]byte(tt.yaml), "hotfix.yaml")
		if err != nil || p.Trust.OnRevokedKey != tt.want {
			t.Errorf("Parse(%q): on_revoked_key %q, %v; want %q", tt.yaml, p.Trust.OnRevokedKey, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const key = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
	tests := []struct {
		name   string
		yaml   string
		want   string // the error after "policy: invalid: "
		reason string
	}{
		{
			name:   "unknown top-level key",
			yaml:   minimal + "limits:\n  max_patches: 3\n\n\nalow:\n  packages: [example.com/a]\n",
			want:   `hotfix.yaml:7: unknown key "alow" (did you mean "allow"?)`,
			reason: "a typo must not silently drop a section; the line is the key's",
		},
		{
			name:   "unknown nested key",
			yaml:   minimal + "allow:\n  pakages: [example.com/a]\n",
			want:   `hotfix.yaml:4: unknown key "pakages" in allow (did you mean "packages"?)`,
			reason: "strict at every level",
		},
		{
			name:   "unknown key far from any",
			yaml:   minimal + "colour: blue\n",
			want:   `hotfix.yaml:3: unknown key "colour"`,
			reason: "no suggestion when nothing is close",
		},
		{
			name:   "duplicate key",
			yaml:   minimal + "patch_dir: /q\n",
			want:   `hotfix.yaml:3: duplicate key "patch_dir" (first at line 1)`,
			reason: "which one wins would be a guess",
		},
		{
			name:   "duplicate nested key",
			yaml:   minimal + "deny:\n  types: [example.com/a.T]\n  types: [example.com/a.U]\n",
			want:   `hotfix.yaml:5: duplicate key "types" (first at line 4)`,
			reason: "a second deny list must not replace the first",
		},
		{
			name:   "missing patch_dir",
			yaml:   "state_dir: /s\n",
			want:   `hotfix.yaml:1: missing required key "patch_dir"`,
			reason: "the agent has nothing to watch",
		},
		{
			name:   "missing state_dir",
			yaml:   "\n\npatch_dir: /p\n",
			want:   `hotfix.yaml:3: missing required key "state_dir"`,
			reason: "the ledger has no home; the line is where the mapping starts",
		},
		{
			name:   "empty file",
			yaml:   "",
			want:   `hotfix.yaml: empty policy`,
			reason: "an empty file is a mistake, not a policy that allows nothing",
		},
		{
			name:   "comments only",
			yaml:   "# nothing\n\n",
			want:   `hotfix.yaml: empty policy`,
			reason: "the same",
		},
		{
			name:   "null document",
			yaml:   "---\n",
			want:   `hotfix.yaml: empty policy`,
			reason: "the same, spelled as a document",
		},
		{
			name:   "two documents",
			yaml:   minimal + "---\nallow:\n  packages: [example.com/a]\n",
			want:   `hotfix.yaml:3: more than one YAML document; put everything in one`,
			reason: "rules in a second document would be ignored",
		},
		{
			name:   "top-level list",
			yaml:   "- patch_dir\n",
			want:   `hotfix.yaml:1: a policy is a mapping of keys (patch_dir, state_dir, inlining, allow, deny, trust, limits), not a list`,
			reason: "wrong shape at the root",
		},
		{
			name:   "syntax",
			yaml:   minimal + "allow:\n  packages: [example.com/a\n",
			want:   `hotfix.yaml:4: did not find expected ',' or ']'`,
			reason: "yaml.v3's own message, with the file in front",
		},
		{
			name:   "tab",
			yaml:   minimal + "\tallow: {}\n",
			want:   `hotfix.yaml:2: found a tab character that violates indentation`,
			reason: "yaml.v3 reports where the scalar that the tab would continue starts",
		},
		{
			name:   "bad token",
			yaml:   minimal + "allow:\n  packages: [@x]\n",
			want:   `hotfix.yaml:4: found character that cannot start any token`,
			reason: "scanner errors carry 1-based lines",
		},
		{
			name:   "parser error on line 1",
			yaml:   "patch_dir: [a}\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: did not find expected ',' or ']'`,
			reason: "yaml.v3 prints no line for parser errors on the first line",
		},
		{
			name:   "parser error at end",
			yaml:   "patch_dir: [a\n",
			want:   `hotfix.yaml:2: did not find expected ',' or ']'`,
			reason: "with the context on line 1 yaml.v3 reports where it found the problem: the end of the file",
		},
		{
			name:   "parser error line 2",
			yaml:   "- a\nb: c\n",
			want:   `hotfix.yaml:2: did not find expected '-' indicator`,
			reason: "yaml.v3 says line 1 here; the problem is on line 2",
		},
		{
			name:   "block mapping",
			yaml:   minimal + "allow:\n  packages: []\n bad: 1\n",
			want:   `hotfix.yaml:5: did not find expected key`,
			reason: "parser errors carry 0-based lines, corrected",
		},
		{
			name:   "patch_dir list",
			yaml:   "patch_dir: [/a]\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: patch_dir must be a string, not a list`,
			reason: "wrong type",
		},
		{
			name:   "patch_dir number",
			yaml:   "patch_dir: 42\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: patch_dir must be a string, not the number 42`,
			reason: "quote it if a directory is really called 42",
		},
		{
			name:   "patch_dir empty",
			yaml:   "patch_dir:\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: patch_dir is empty`,
			reason: "present but empty is still missing",
		},
		{
			name:   "patch_dir empty string",
			yaml:   "patch_dir: ''\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: patch_dir is empty`,
			reason: "an empty string would resolve to the policy's directory",
		},
		{
			name:   "tilde",
			yaml:   "patch_dir: ~/patches\nstate_dir: /s\n",
			want:   `hotfix.yaml:1: patch_dir "~/patches": ~ is not expanded; write an absolute path`,
			reason: "it would otherwise be a directory named ~ next to the policy",
		},
		{
			name:   "same dirs",
			yaml:   "patch_dir: /var/x\nstate_dir: /var/x/\n",
			want:   `hotfix.yaml:2: state_dir and patch_dir are the same directory "/var/x"; keep the ledger out of the watched directory`,
			reason: "the watcher would see the ledger's writes",
		},
		{
			name:   "section scalar",
			yaml:   minimal + "allow: example.com/a\n",
			want:   `hotfix.yaml:3: allow must be a mapping of packages, types, functions, not the string "example.com/a"`,
			reason: "wrong type of section",
		},
		{
			name:   "list scalar",
			yaml:   minimal + "allow:\n  packages: example.com/a\n",
			want:   `hotfix.yaml:4: allow.packages must be a list of strings, not the string "example.com/a"`,
			reason: "a bare string is not promoted to a list",
		},
		{
			name:   "list of lists",
			yaml:   minimal + "deny:\n  functions:\n    - [example.com/a.F]\n",
			want:   `hotfix.yaml:5: deny.functions: entries must be strings, not a list`,
			reason: "nested lists",
		},
		{
			name:   "bool as yes",
			yaml:   minimal + "trust:\n  require_signature: yes\n  keys: [" + key + "]\n",
			want:   `hotfix.yaml:4: trust.require_signature must be true or false, not the string "yes"`,
			reason: "YAML 1.1 booleans are strings in YAML 1.2; do not guess",
		},
		{
			name:   "limit string",
			yaml:   minimal + "limits:\n  max_patches: many\n",
			want:   `hotfix.yaml:4: limits.max_patches must be an integer, not the string "many"`,
			reason: "wrong type",
		},
		{
			name:   "limit float",
			yaml:   minimal + "limits:\n  max_file_bytes: 1e9\n",
			want:   `hotfix.yaml:4: limits.max_file_bytes must be an integer, not the number 1e9`,
			reason: "floats are not byte counts",
		},
		{
			name:   "limit overflow",
			yaml:   minimal + "limits:\n  max_file_bytes: 99999999999999999999\n",
			want:   `hotfix.yaml:4: limits.max_file_bytes must be an integer, not the number 99999999999999999999`,
			reason: "yaml.v3 resolves out-of-range integers as floats",
		},
		{
			name:   "negative limit",
			yaml:   minimal + "limits:\n  max_patches: -1\n",
			want:   `hotfix.yaml:4: limits.max_patches must not be negative (0 means 64)`,
			reason: "negative is invalid",
		},
		{
			name:   "negative bytes",
			yaml:   minimal + "limits:\n  max_file_bytes: -5\n",
			want:   `hotfix.yaml:4: limits.max_file_bytes must not be negative (0 means 134217728)`,
			reason: "negative is invalid",
		},
		{
			name:   "merge key",
			yaml:   minimal + "base: &b {packages: [example.com/a]}\n",
			want:   `hotfix.yaml:3: unknown key "base"`,
			reason: "anchors need a home, and there is none",
		},
		{
			name:   "merge",
			yaml:   minimal + "allow:\n  <<: {packages: [example.com/a]}\n",
			want:   `hotfix.yaml:4: merge keys (<<) are not supported; write the keys out`,
			reason: "merges hide which keys are present",
		},
		{
			name:   "bad key prefix",
			yaml:   minimal + "trust:\n  keys:\n    - " + key + "\n    - rsa:AAAA\n",
			want:   `hotfix.yaml:6: trust.keys: key "rsa:AAAA" does not start with "ed25519:"`,
			reason: "only ed25519 keys; the line is the bad key's",
		},
		{
			name:   "bad key base64",
			yaml:   minimal + "trust:\n  keys: [ed25519:not*base64]\n",
			want:   `hotfix.yaml:4: trust.keys: key "ed25519:not*base64" is not standard base64: illegal base64 data at input byte 3`,
			reason: "garbage",
		},
		{
			name:   "bad key url base64",
			yaml:   minimal + "trust:\n  keys: [ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik]\n",
			want:   `hotfix.yaml:4: trust.keys: key "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik" is not standard base64: illegal base64 data at input byte 40`,
			reason: "padding is part of standard base64",
		},
		{
			name:   "short key",
			yaml:   minimal + "trust:\n  keys: [ed25519:AAAA]\n",
			want:   `hotfix.yaml:4: trust.keys: key "ed25519:AAAA" is 3 bytes, want 32`,
			reason: "a key of the wrong size",
		},
		{
			name:   "on_revoked_key unknown",
			yaml:   minimal + "trust:\n  on_revoked_key: drop\n",
			want:   `hotfix.yaml:4: trust.on_revoked_key must be keep or revert, not "drop"`,
			reason: "a misspelt revert must not quietly keep untrusted code running",
		},
		{
			name:   "inlining unknown",
			yaml:   minimal + "inlining: on\n",
			want:   `hotfix.yaml:3: inlining must be off or keep, not "on"`,
			reason: "a misspelt value must not build hosts other than the operator meant",
		},
		{
			name:   "on_revoked_key bool",
			yaml:   minimal + "trust:\n  on_revoked_key: true\n",
			want:   `hotfix.yaml:4: trust.on_revoked_key must be keep or revert, not the boolean true`,
			reason: "true is not a choice between keep and revert",
		},
		{
			name:   "min_sequence negative",
			yaml:   minimal + "trust:\n  min_sequence: -1\n",
			want:   `hotfix.yaml:4: trust.min_sequence must not be negative (0 retires none)`,
			reason: "no sequence is negative; a sign typo must not read as a setting",
		},
		{
			name:   "min_sequence string",
			yaml:   minimal + "trust:\n  min_sequence: yesterday\n",
			want:   `hotfix.yaml:4: trust.min_sequence must be an integer, not the string "yesterday"`,
			reason: "a sequence is a number (hotfix inspect prints it)",
		},
		{
			name:   "signature without keys",
			yaml:   minimal + "trust:\n  require_signature: true\n",
			want:   `hotfix.yaml:4: trust.require_signature is true but trust.keys is empty: no patch could be applied`,
			reason: "a policy that can never admit a patch is a mistake",
		},
		{
			name:   "allow hotfix",
			yaml:   minimal + "allow:\n  types: [github.com/gohotfix/hotfix/patcher.Patcher]\n",
			want:   `hotfix.yaml:4: allow.types "github.com/gohotfix/hotfix/patcher.Patcher": package "github.com/gohotfix/hotfix/patcher" is part of hotfix itself (built-in denial); no policy can allow it`,
			reason: "hotfix must not patch itself",
		},
		{
			name:   "allow runtime tree",
			yaml:   minimal + "allow:\n  packages:\n    - internal/runtime/...\n",
			want:   `hotfix.yaml:5: allow.packages "internal/runtime/...": package "internal/runtime" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial); no policy can allow it`,
			reason: "the tree's root is denied",
		},
		{
			name:   "allow runtime function",
			yaml:   minimal + "allow:\n  functions: [runtime.gopark]\n",
			want:   `hotfix.yaml:4: allow.functions "runtime.gopark": package "runtime" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial); no policy can allow it`,
			reason: "functions entries too",
		},
		{
			name:   "bad package",
			yaml:   minimal + "allow:\n  packages: [\"example.com/a b\"]\n",
			want:   `hotfix.yaml:4: allow.packages: "example.com/a b" is not an import path`,
			reason: "spaces",
		},
		{
			name:   "ellipsis inside",
			yaml:   minimal + "deny:\n  packages: [example.com/.../x]\n",
			want:   `hotfix.yaml:4: deny.packages: "example.com/.../x": "..." is only allowed as a final "/..." element`,
			reason: "only the documented pattern form",
		},
		{
			name:   "bare ellipsis",
			yaml:   minimal + "allow:\n  packages: [...]\n",
			want:   `hotfix.yaml:4: allow.packages: "...": "..." is only allowed as a final "/..." element`,
			reason: "allowing everything is not a pattern we offer",
		},
		{
			name:   "empty entry",
			yaml:   minimal + "allow:\n  packages: [\"\"]\n",
			want:   `hotfix.yaml:4: allow.packages: empty entry`,
			reason: "an empty string matches nothing and is a mistake",
		},
		{
			name:   "type without package",
			yaml:   minimal + "allow:\n  types: [Cache]\n",
			want:   `hotfix.yaml:4: allow.types: "Cache" is not of the form import/path.Type`,
			reason: "types need their package",
		},
		{
			name:   "type pointer",
			yaml:   minimal + "allow:\n  types: [example.com/a.(*T)]\n",
			want:   `hotfix.yaml:4: allow.types: "example.com/a.(*T)" is not of the form import/path.Type`,
			reason: "a types entry covers *T already",
		},
		{
			name:   "type generic",
			yaml:   minimal + "allow:\n  types: [\"example.com/a.List[T]\"]\n",
			want:   `hotfix.yaml:4: allow.types: "example.com/a.List[T]": write the type without type arguments`,
			reason: "instantiations are matched through their generic type",
		},
		{
			name:   "type path only",
			yaml:   minimal + "allow:\n  types: [example.com/a]\n",
			want:   `hotfix.yaml:4: allow.types: "example.com/a" is not of the form import/path.Type`,
			reason: "the last dot is in the host name",
		},
		{
			name:   "function closure",
			yaml:   minimal + "allow:\n  functions: [example.com/a.F.func1]\n",
			want:   `hotfix.yaml:4: allow.functions: "example.com/a.F.func1" names a closure or wrapper; list "example.com/a.F", which it belongs to`,
			reason: "closures are allowed with their function",
		},
		{
			name:   "function generic",
			yaml:   minimal + "allow:\n  functions: [\"example.com/a.Map[...]\"]\n",
			want:   `hotfix.yaml:4: allow.functions: "example.com/a.Map[...]": write the function without type arguments`,
			reason: "instantiations are matched through their generic function",
		},
		{
			name:   "function prefix glob",
			yaml:   minimal + "deny:\n  functions: [example.com/a.Log*]\n",
			want:   `hotfix.yaml:4: deny.functions: "example.com/a.Log*": '*' is only allowed as the whole last element, as in example.com/app/auth.*`,
			reason: "only whole-package globs",
		},
		{
			name:   "function type glob",
			yaml:   minimal + "deny:\n  functions: [example.com/a.(*T).*]\n",
			want:   `hotfix.yaml:4: deny.functions: "example.com/a.(*T).*": ".*" matches a whole package; for every method of a type use types`,
			reason: "types exists for that",
		},
		{
			name:   "function three parts",
			yaml:   minimal + "allow:\n  functions: [example.com/a.T.M.X]\n",
			want:   `hotfix.yaml:4: allow.functions: "example.com/a.T.M.X" is not of the form import/path.Func, import/path.Type.Method or import/path.(*Type).Method`,
			reason: "not a function",
		},
		{
			name:   "function init",
			yaml:   minimal + "allow:\n  functions: [example.com/a.init.0]\n",
			want:   `hotfix.yaml:4: allow.functions: "example.com/a.init.0" names a compiler-generated function`,
			reason: "numbered init functions ran once and cannot be meant",
		},
		{
			name:   "function no package",
			yaml:   minimal + "deny:\n  functions: [Login]\n",
			want:   `hotfix.yaml:4: deny.functions: "Login" is not of the form import/path.Func, import/path.Type.Method or import/path.(*Type).Method`,
			reason: "a bare name could be in any package",
		},
		{
			name:   "glob bad path",
			yaml:   minimal + "deny:\n  functions: [\"a b.*\"]\n",
			want:   `hotfix.yaml:4: deny.functions: "a b.*": "a b" is not an import path`,
			reason: "the glob's package is validated too",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tt.yaml), "hotfix.yaml")
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q (%s)", p, tt.want, tt.reason)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if p != nil {
				t.Errorf("Parse returned a policy with an error")
			}
			if diff := cmp.Diff("policy: invalid: "+tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got), %s:\n%s", tt.reason, diff)
			}
		})
	}
}

func TestParseNamesFile(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("patch_dir: /p\nstate_dir: /s\nalow: {}\n"), "/etc/app/hotfix.yaml")
	if want := `policy: invalid: /etc/app/hotfix.yaml:3: unknown key "alow" (did you mean "allow"?)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestPublicKeysHandBuilt(t *testing.T) {
	t.Parallel()
	p := &Policy{Trust: Trust{Keys: []string{"garbage", "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="}}}
	if got := len(p.PublicKeys()); got != 1 {
		t.Errorf("PublicKeys() has %d keys, want 1: an unparsable key is left out", got)
	}
	var nilPolicy *Policy
	if nilPolicy.PublicKeys() != nil {
		t.Errorf("nil policy has keys")
	}
}

func TestBuildFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		yaml   string
		want   []string
		reason string
	}{
		{
			name:   "no allow",
			yaml:   minimal,
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0"},
			reason: "nothing patchable, nothing built without inlining",
		},
		{
			name: "sample",
			yaml: minimal + `allow:
  packages:  [example.com/app/router, example.com/app/billing/...]
  types:     [example.com/app/store.Cache, example.com/app/router.Server]
  functions: [example.com/app/util.parseHeader, example.com/app/api.(*Server).handle, example.com/app/api.Server.Get, example.com/app/auth.*]
deny:
  packages: [example.com/app/deny]
`,
			want: []string{
				"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0",
				"-gcflags=example.com/app/api=-l",
				"-gcflags=example.com/app/auth=-l",
				"-gcflags=example.com/app/billing/...=-l",
				"-gcflags=example.com/app/router=-l",
				"-gcflags=example.com/app/store=-l",
				"-gcflags=example.com/app/util=-l",
			},
			reason: "sorted, deduplicated, /... kept, one flag per package; deny adds nothing",
		},
		{
			name: "dotted last element",
			yaml: minimal + `allow:
  packages: [gopkg.in/yaml.v3]
  types: [gopkg.in/ini.v1.File]
  functions: [gopkg.in/check.v1.*, gopkg.in/yaml%2ev2.Marshal]
`,
			want: []string{
				"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0",
				"-gcflags=gopkg.in/check.v1=-l",
				"-gcflags=gopkg.in/ini.v1=-l",
				"-gcflags=gopkg.in/yaml.v2=-l",
				"-gcflags=gopkg.in/yaml.v3=-l",
			},
			reason: "patterns are import paths, never %2e-escaped",
		},
		{
			name:   "main",
			yaml:   minimal + "allow:\n  packages: [main]\n  functions: [main.handler]\n",
			want:   []string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0", "-gcflags=main=-l"},
			reason: "main as written; see NoInlinePatterns on what callers must do with it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tt.yaml+"inlining: off\n"), "hotfix.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got := p.BuildFlags()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BuildFlags mismatch (-want +got), %s:\n%s", tt.reason, diff)
			}
			for _, f := range got {
				if strings.Contains(f, "all=") || strings.Contains(f, "-N") {
					t.Errorf("flag %q turns off more than inlining of allowed packages", f)
				}
			}
		})
	}
	var nilPolicy *Policy
	if diff := cmp.Diff([]string{"-trimpath", "-tags=hotfix", "-ldflags=-checklinkname=0"}, nilPolicy.BuildFlags()); diff != "" {
		t.Errorf("nil policy BuildFlags mismatch (-want +got):\n%s", diff)
	}
}

func TestRetired(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte("patch_dir: /p\nstate_dir: /s\ntrust:\n  min_sequence: 100\n"), "hotfix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		seq     int64
		retired bool
	}{{99, true}, {100, false}, {101, false}} {
		if err := p.Retired(tt.seq); (err != nil) != tt.retired || (err != nil && !errors.Is(err, ErrRetired)) {
			t.Errorf("Retired(%d) = %v, want retired %v", tt.seq, err, tt.retired)
		}
	}
	var none *Policy
	if err := none.Retired(0); err != nil {
		t.Errorf("nil policy: Retired(0) = %v", err)
	}
}
