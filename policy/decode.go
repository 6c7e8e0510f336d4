package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gohotfix/hotfix/internal/suggest"
)

// The keys of each mapping. They must agree with the yaml tags of Policy and
// its parts; the strict struct decode in parse catches any drift.
var (
	topKeys   = []string{"patch_dir", "state_dir", "inlining", "allow", "deny", "trust", "limits"}
	ruleKeys  = []string{"packages", "types", "functions"}
	trustKeys = []string{"require_signature", "keys", "on_revoked_key", "min_sequence"}
	limitKeys = []string{"max_patches", "max_file_bytes"}
)

// decoder walks the YAML node tree before anything is decoded into Policy.
// yaml.v3's own errors are terse ("field alow not found in type
// policy.Policy"), accept duplicate keys in a node tree, and turn "yes" into
// true for a bool field; walking the nodes lets every error say what is wrong
// in the policy's terms, with the line it is on.
type decoder struct {
	file string
	err  error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	if d.err != nil {
		return
	}
	where := d.file
	if n != nil && n.Line > 0 {
		where = fmt.Sprintf("%s:%d", d.file, n.Line)
	}
	d.err = fmt.Errorf("%w: %s: %s", ErrInvalid, where, fmt.Sprintf(format, args...))
}

// nodes of a decoded policy that validation needs for line numbers.
type nodes struct {
	root               *yaml.Node
	patchDir, stateDir *yaml.Node
	inlining           *yaml.Node
	allow, deny        map[string][]*yaml.Node // list name -> items
	requireSignature   *yaml.Node
	keys               []*yaml.Node
	onRevokedKey       *yaml.Node
	minSequence        *yaml.Node
	maxPatches         *yaml.Node
	maxFileBytes       *yaml.Node
}

func parse(data []byte, path, base string) (*Policy, error) {
	file := path
	if file == "" {
		file = "hotfix.yaml"
	}
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, file, maxPolicyBytes)
	}
	d := &decoder{file: file}
	var root *yaml.Node
	err := d.guard(func() (err error) {
		root, err = d.document(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	ns := d.walk(root)
	if d.err != nil {
		return nil, d.err
	}

	// The walk has checked every key and type; decoding with KnownFields
	// as well keeps the struct tags honest should the two ever disagree.
	p := &Policy{Path: path}
	err = d.guard(func() error {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(p); err != nil {
			return d.yamlError(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.validate(p, ns, base)
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// guard runs a call into yaml.v3 and turns a panic in it into an error: it
// is a large parser, and bytes in a policy file must not take the service
// down (STYLE: hostile bytes never panic us). Our own code runs unguarded so
// that FuzzParse finds its panics.
func (d *decoder) guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: yaml: %v", ErrInvalid, d.file, r)
		}
	}()
	return f()
}

// document returns the content of the only YAML document in data.
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: empty policy", ErrInvalid, d.file)
		}
		return nil, d.yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		// A second document would be silently ignored by a plain decode;
		// someone may have appended rules to it.
		d.errorf(&next, "more than one YAML document; put everything in one")
		return nil, d.err
	case !errors.Is(err, io.EOF):
		return nil, d.yamlError(err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: %s: empty policy", ErrInvalid, d.file)
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, fmt.Errorf("%w: %s: empty policy", ErrInvalid, d.file)
	}
	return root, nil
}

var (
	yamlLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// parserProblems are the messages yaml.v3's parser (as opposed to its
// scanner) reports. For them yaml.v3 prints a 0-based line, and none at all
// for the first line: (*parser).fail in gopkg.in/yaml.v3/decode.go adds 1
// only for scanner errors.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError restates an error from yaml.v3 as "file:line: message".
func (d *decoder) yamlError(err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	where := d.file
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			line++
		}
		where, msg = fmt.Sprintf("%s:%d", d.file, line), m[2]
	} else if parserProblems[msg] {
		where = d.file + ":1"
	}
	if m := yamlUnknown.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown key %q", m[1])
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, where, msg)
}

func (d *decoder) walk(root *yaml.Node) nodes {
	ns := nodes{root: root, allow: map[string][]*yaml.Node{}, deny: map[string][]*yaml.Node{}}
	top := d.mapping(root, "", topKeys)
	ns.patchDir = d.str(top["patch_dir"], "patch_dir")
	ns.stateDir = d.str(top["state_dir"], "state_dir")
	for _, k := range []string{"patch_dir", "state_dir"} {
		if top[k] == nil {
			d.errorf(root, "missing required key %q", k)
		}
	}
	ns.inlining = d.scalar(top["inlining"], "inlining", "!!str", InliningOff+" or "+InliningKeep)
	for _, section := range []string{"allow", "deny"} {
		lists := ns.allow
		if section == "deny" {
			lists = ns.deny
		}
		m := d.mapping(top[section], section, ruleKeys)
		for _, k := range ruleKeys {
			lists[k] = d.strs(m[k], section+"."+k)
		}
	}
	trust := d.mapping(top["trust"], "trust", trustKeys)
	ns.requireSignature = d.scalar(trust["require_signature"], "trust.require_signature", "!!bool", "true or false")
	ns.keys = d.strs(trust["keys"], "trust.keys")
	ns.onRevokedKey = d.scalar(trust["on_revoked_key"], "trust.on_revoked_key", "!!str", KeepRevoked+" or "+RevertRevoked)
	ns.minSequence = d.scalar(trust["min_sequence"], "trust.min_sequence", "!!int", "an integer")
	limits := d.mapping(top["limits"], "limits", limitKeys)
	ns.maxPatches = d.scalar(limits["max_patches"], "limits.max_patches", "!!int", "an integer")
	ns.maxFileBytes = d.scalar(limits["max_file_bytes"], "limits.max_file_bytes", "!!int", "an integer")
	return ns
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func null(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapping checks that n is a mapping whose keys are all in known, each once,
// and returns the value of each key. An absent or empty (null) section is an
// empty mapping.
func (d *decoder) mapping(n *yaml.Node, name string, known []string) map[string]*yaml.Node {
	vals := map[string]*yaml.Node{}
	n = resolve(n)
	if n == nil || null(n) && name != "" {
		return vals
	}
	if n.Kind != yaml.MappingNode {
		if name == "" {
			d.errorf(n, "a policy is a mapping of keys (%s), not %s", strings.Join(known, ", "), describe(n))
		} else {
			d.errorf(n, "%s must be a mapping of %s, not %s", name, strings.Join(known, ", "), describe(n))
		}
		return vals
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "keys must be plain words, not %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.errorf(k, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		key := k.Value
		if !contains(known, key) {
			msg := fmt.Sprintf("unknown key %q", key)
			if name != "" {
				msg += " in " + name
			}
			if s := suggest.Closest(key, known, 3); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		if first, dup := lines[key]; dup {
			d.errorf(k, "duplicate key %q (first at line %d)", key, first)
			continue
		}
		lines[key] = k.Line
		vals[key] = v
	}
	return vals
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str checks that n, if present, is a non-empty string.
func (d *decoder) str(n *yaml.Node, name string) *yaml.Node {
	n = resolve(n)
	switch {
	case n == nil:
	case null(n):
		d.errorf(n, "%s is empty", name)
	case n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str":
		d.errorf(n, "%s must be a string, not %s", name, describe(n))
	case n.Value == "":
		d.errorf(n, "%s is empty", name)
	}
	return n
}

// scalar checks that n, if present, is a scalar with tag; an empty value
// (null) counts as absent.
func (d *decoder) scalar(n *yaml.Node, name, tag, want string) *yaml.Node {
	n = resolve(n)
	if n == nil || null(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		d.errorf(n, "%s must be %s, not %s", name, want, describe(n))
	}
	return n
}

// strs checks that n, if present, is a list of non-empty strings and returns
// its items.
func (d *decoder) strs(n *yaml.Node, name string) []*yaml.Node {
	n = resolve(n)
	if n == nil || null(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of strings, not %s", name, describe(n))
		return nil
	}
	items := make([]*yaml.Node, 0, len(n.Content))
	for _, it := range n.Content {
		it = resolve(it)
		if it.Kind != yaml.ScalarNode || it.ShortTag() != "!!str" {
			d.errorf(it, "%s: entries must be strings, not %s", name, describe(it))
		} else if it.Value == "" {
			d.errorf(it, "%s: empty entry", name)
		}
		items = append(items, it)
	}
	return items
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "an empty value"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
	}
	return "an alias"
}

// validate checks what the struct decode cannot: entries, keys, limits and
// directories. It applies defaults and resolves directories against base.
func (d *decoder) validate(p *Policy, ns nodes, base string) {
	for _, sec := range []struct {
		name  string
		rules Rules
		nodes map[string][]*yaml.Node
	}{{"allow", p.Allow, ns.allow}, {"deny", p.Deny, ns.deny}} {
		d.entries(sec.name, "packages", sec.rules.Packages, sec.nodes["packages"], func(s string) (string, error) {
			e, err := parsePackageEntry(s)
			return e.path, err
		})
		d.entries(sec.name, "types", sec.rules.Types, sec.nodes["types"], func(s string) (string, error) {
			e, err := parseTypeEntry(s)
			return e.pkg, err
		})
		d.entries(sec.name, "functions", sec.rules.Functions, sec.nodes["functions"], func(s string) (string, error) {
			e, err := parseFuncEntry(s)
			return e.pkg, err
		})
	}

	for i, s := range p.Trust.Keys {
		if _, err := parseKey(s); err != nil {
			d.errorf(item(ns.keys, i), "trust.keys: %v", err)
		}
	}
	if p.Trust.RequireSignature && len(p.Trust.Keys) == 0 {
		d.errorf(ns.requireSignature, "trust.require_signature is true but trust.keys is empty: no patch could be applied")
	}
	switch p.Inlining {
	case "":
		p.Inlining = InliningKeep
	case InliningOff, InliningKeep:
	default:
		d.errorf(ns.inlining, "inlining must be %s or %s, not %q", InliningOff, InliningKeep, p.Inlining)
	}
	switch p.Trust.OnRevokedKey {
	case "":
		p.Trust.OnRevokedKey = KeepRevoked
	case KeepRevoked, RevertRevoked:
	default:
		d.errorf(ns.onRevokedKey, "trust.on_revoked_key must be %s or %s, not %q", KeepRevoked, RevertRevoked, p.Trust.OnRevokedKey)
	}

	if p.Trust.MinSequence < 0 {
		d.errorf(ns.minSequence, "trust.min_sequence must not be negative (0 retires none)")
	}

	if p.Limits.MaxPatches < 0 {
		d.errorf(ns.maxPatches, "limits.max_patches must not be negative (0 means %d)", defaultMaxPatches)
	}
	if p.Limits.MaxFileBytes < 0 {
		d.errorf(ns.maxFileBytes, "limits.max_file_bytes must not be negative (0 means %d)", defaultMaxFileBytes)
	}
	if p.Limits.MaxPatches == 0 {
		p.Limits.MaxPatches = defaultMaxPatches
	}
	if p.Limits.MaxFileBytes == 0 {
		p.Limits.MaxFileBytes = defaultMaxFileBytes
	}

	p.PatchDir = d.dir(p.PatchDir, ns.patchDir, "patch_dir", base)
	p.StateDir = d.dir(p.StateDir, ns.stateDir, "state_dir", base)
	if d.err == nil && p.PatchDir == p.StateDir {
		// The agent would take the ledger's files for patches.
		d.errorf(ns.stateDir, "state_dir and patch_dir are the same directory %q; keep the ledger out of the watched directory", p.StateDir)
	}
}

// entries validates one list; pkgOf returns the package an entry names, which
// allow may not take from the built-in denials.
func (d *decoder) entries(section, list string, vals []string, items []*yaml.Node, pkgOf func(string) (string, error)) {
	for i, s := range vals {
		pkg, err := pkgOf(s)
		if err != nil {
			d.errorf(item(items, i), "%s.%s: %v", section, list, err)
			continue
		}
		if section == "allow" {
			if why := builtinDenial(pkg); why != "" {
				d.errorf(item(items, i), "allow.%s %q: %s; no policy can allow it", list, s, why)
			}
		}
	}
}

func item(items []*yaml.Node, i int) *yaml.Node {
	if i < len(items) {
		return items[i]
	}
	return nil
}

func (d *decoder) dir(dir string, n *yaml.Node, name, base string) string {
	if strings.HasPrefix(dir, "~") {
		d.errorf(n, "%s %q: ~ is not expanded; write an absolute path", name, dir)
		return dir
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(base, dir)
	}
	return filepath.Clean(dir)
}

// suggest returns the known key closest to a mistyped one, if it is close.
