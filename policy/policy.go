package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

var (
	// ErrInvalid is wrapped by every error about the content of a policy file.
	ErrInvalid = errors.New("policy: invalid")
	// ErrDenied is wrapped by every refusal of Check.
	ErrDenied = errors.New("policy: denied")
)

// Defaults for zero Limits.
const (
	defaultMaxPatches   = 64
	defaultMaxFileBytes = 128 << 20
)

// maxPolicyBytes bounds what Load reads and Parse accepts: a policy is a few
// hundred bytes, and the decoder should never see an attacker-sized input.
const maxPolicyBytes = 1 << 20

// keyPrefix introduces a public key in trust.keys; `hotfix keygen` writes it.
const keyPrefix = "ed25519:"

// Policy is a decoded hotfix.yaml. Parse fills every field; after Parse,
// Limits holds the effective values (defaults applied) and relative
// directories are resolved.
type Policy struct {
	PatchDir string `yaml:"patch_dir"` // relative paths resolved against the policy file's directory
	StateDir string `yaml:"state_dir"`
	// Inlining is how hosts are compiled: InliningKeep (the default)
	// leaves the compiler's full optimization on everywhere, and a patch
	// replaces every function that holds an inlined copy of a target;
	// InliningOff turns inlining off in the allowed packages (-l), for
	// hosts built so before. Parse sets the default.
	Inlining string `yaml:"inlining"`
	Allow    Rules  `yaml:"allow"`
	Deny     Rules  `yaml:"deny"`
	Trust    Trust  `yaml:"trust"`
	Limits   Limits `yaml:"limits"`

	Path string `yaml:"-"` // the file it came from, as given to Load or Parse
}

// Rules are the three lists of allow and deny; see the package documentation
// for their syntax.
type Rules struct {
	Packages  []string `yaml:"packages"`
	Types     []string `yaml:"types"`
	Functions []string `yaml:"functions"`
}

// Trust says which keys may sign patches.
type Trust struct {
	RequireSignature bool     `yaml:"require_signature"`
	Keys             []string `yaml:"keys"` // "ed25519:" + standard base64 of the 32-byte public key
	// OnRevokedKey is what the agent does, when the policy is reloaded,
	// with an applied patch that TrustSigner now refuses (its key was
	// removed from keys, or it is unsigned and signatures became
	// required): KeepRevoked or RevertRevoked. Parse sets the default,
	// KeepRevoked.
	OnRevokedKey string `yaml:"on_revoked_key"`
	// MinSequence retires every patch whose manifest sequence (its build
	// time in nanoseconds unless built with -sequence; `hotfix inspect`
	// prints it) is lower: a signed patch stays valid for ever, so this is
	// how an operator refuses a replay of an old one with a known bug. 0:
	// none retired. On a reload, an applied patch below it is treated as
	// signed by a revoked key (OnRevokedKey).
	MinSequence int64 `yaml:"min_sequence"`
}

// The values of trust.on_revoked_key.
const (
	// KeepRevoked leaves the patch running, flagged in status and metrics
	// and warned about on every reload: reverting brings the bug back, and
	// the operator may prefer to replace the patch first.
	KeepRevoked = "keep"
	// RevertRevoked reverts the patch, as deleting its file would.
	RevertRevoked = "revert"
)

// Limits cap what the agent accepts. Zero means the default (64 patches,
// 128 MiB); negative values are invalid.
type Limits struct {
	MaxPatches   int   `yaml:"max_patches"`    // plugins never unload, so this caps memory
	MaxFileBytes int64 `yaml:"max_file_bytes"` // largest patch file inspected
}

// Load reads and parses the policy file at path. Relative patch_dir and
// state_dir are resolved against the absolute directory of path, so the
// result does not depend on the working directory of later calls.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return parse(data, path, filepath.Dir(abs))
}

// Parse decodes a policy. path is used in error messages ("hotfix.yaml" if
// empty), to resolve relative directories (against filepath.Dir(path), which
// is relative itself if path is), and as Policy.Path.
func Parse(data []byte, path string) (*Policy, error) {
	return parse(data, path, filepath.Dir(path))
}

// PublicKeys returns the keys of trust.keys. Parse has validated them; an
// entry that does not parse (possible only in a Policy built by hand) is
// left out, which trusts less, never more.
func (p *Policy) PublicKeys() []ed25519.PublicKey {
	if p == nil {
		return nil
	}
	var keys []ed25519.PublicKey
	for _, s := range p.Trust.Keys {
		if k, err := parseKey(s); err == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

func parseKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(s, keyPrefix)
	if !ok {
		return nil, fmt.Errorf("key %q does not start with %q", s, keyPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("key %q is not standard base64: %v", s, err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %q is %d bytes, want %d", s, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// The values of inlining.
const (
	InliningOff  = "off"  // -l on every allowed package
	InliningKeep = "keep" // no -l: inlined targets are patched through their callers
)

// KeepsInlining reports whether hosts are built with the compiler's full
// optimization (inlining: keep).
func (p *Policy) KeepsInlining() bool { return p == nil || p.Inlining != InliningOff }

// NoInlinePatterns returns the package patterns that must be compiled with
// inlining off: none under inlining: keep (the default), AllowedPatterns
// under inlining: off.
func (p *Policy) NoInlinePatterns() []string {
	if p.KeepsInlining() {
		return nil
	}
	return p.AllowedPatterns()
}

// AllowedPatterns returns the package patterns the policy allows
// functions in, sorted and without duplicates: every allow.packages entry as
// written (keeping "/..."), and the package of every allow.types and
// allow.functions entry.
//
// A pattern of "main" is returned as is, but note that the go command matches
// -gcflags patterns against import paths, and the main package of a module
// has the module's path, not "main" (cmd/go/internal/load/flag.go); callers
// that build must put the main package's import path in its place.
func (p *Policy) AllowedPatterns() []string {
	if p == nil {
		return nil
	}
	var pats []string
	for _, s := range p.Allow.Packages {
		if _, err := parsePackageEntry(s); err == nil {
			pats = append(pats, s)
		}
	}
	for _, s := range p.Allow.Types {
		if t, err := parseTypeEntry(s); err == nil {
			pats = append(pats, t.pkg)
		}
	}
	for _, s := range p.Allow.Functions {
		if f, err := parseFuncEntry(s); err == nil {
			pats = append(pats, f.pkg)
		}
	}
	slices.Sort(pats)
	return slices.Compact(pats)
}
