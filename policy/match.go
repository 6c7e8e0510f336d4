package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gohotfix/hotfix/internal/symbol"
)

// module is this module's path.
const module = "github.com/gohotfix/hotfix"

// builtinDenial returns why no policy may allow package pkg, or "".
// Patching the agent, loader or patcher would let a patch disable the
// checks that admitted it; the standard library's denials are facts
// (std.go).
func builtinDenial(pkg string) string {
	if within(pkg, module) {
		return fmt.Sprintf("package %q is part of hotfix itself (built-in denial)", pkg)
	}
	if Standard(pkg) {
		return stdDenial(pkg)
	}
	return ""
}

// within reports whether pkg is root or below it.
func within(pkg, root string) bool {
	return pkg == root || strings.HasPrefix(pkg, root+"/")
}

// Permits reports whether the function symbol sym, spelled as in the binary's
// symbol table, may be replaced. It returns nil, or an error wrapping
// ErrDenied that names sym and the reason:
//
//	policy: denied: example.com/app/auth.Login: matches deny.functions "example.com/app/auth.*"
//
// A symbol that does not parse is denied.
func (p *Policy) Permits(sym string) error {
	denied := func(reason string) error {
		return fmt.Errorf("%w: %s: %s", ErrDenied, sym, reason)
	}
	if p == nil {
		return denied("no policy")
	}
	n, err := symbol.Parse(sym)
	if err != nil {
		return denied(err.Error())
	}
	if r := builtinDenial(n.Package); r != "" {
		return denied(r)
	}
	if o := n.Outer(); o.Receiver == "" {
		if r := stdFuncDenial(o.Package, o.Func); r != "" {
			return denied(r)
		}
	}
	// A Policy built by hand may hold entries Parse would have refused;
	// refuse everything rather than guess what they meant.
	allow, err := compile(p.Allow)
	if err != nil {
		return denied("invalid policy: allow." + err.Error())
	}
	deny, err := compile(p.Deny)
	if err != nil {
		return denied("invalid policy: deny." + err.Error())
	}

	// Closures are replaced with their function, so they are judged as it.
	// When the symbol's text has two readings (see symbol.Name.Alternate),
	// deny looks at both and allow needs either: the reading that is not
	// the truth names a type or function that does not exist in the package,
	// so it can only match by the policy's own mistake.
	readings := []symbol.Name{n.Outer()}
	if alt, ok := n.Alternate(); ok {
		readings = append(readings, alt.Outer())
	}
	for _, r := range readings {
		if why := deny.denies(r); why != "" {
			return denied("matches deny." + why)
		}
	}
	for _, r := range readings {
		if allow.allows(r) {
			return nil
		}
	}
	return denied("not in allow (packages, types, functions)")
}

// rules are Rules parsed for matching.
type rules struct {
	packages  []packageEntry
	types     []typeEntry
	functions []funcEntry
}

type packageEntry struct {
	raw  string
	path string
	tree bool // path/...
}

type typeEntry struct {
	raw      string
	pkg, typ string
}

type funcEntry struct {
	raw  string
	pkg  string
	glob bool        // pkg.*
	name symbol.Name // for exact entries; Pointer is ignored
}

// entryError is an invalid entry: list is "packages", "types" or
// "functions", index its position.
type entryError struct {
	list  string
	index int
	err   error
}

func (e *entryError) Error() string { return fmt.Sprintf("%s: %v", e.list, e.err) }
func (e *entryError) Unwrap() error { return e.err }

func compile(rs Rules) (rules, error) {
	var c rules
	for i, s := range rs.Packages {
		e, err := parsePackageEntry(s)
		if err != nil {
			return c, &entryError{"packages", i, err}
		}
		c.packages = append(c.packages, e)
	}
	for i, s := range rs.Types {
		e, err := parseTypeEntry(s)
		if err != nil {
			return c, &entryError{"types", i, err}
		}
		c.types = append(c.types, e)
	}
	for i, s := range rs.Functions {
		e, err := parseFuncEntry(s)
		if err != nil {
			return c, &entryError{"functions", i, err}
		}
		c.functions = append(c.functions, e)
	}
	return c, nil
}

func (e packageEntry) matches(pkg string) bool {
	if e.tree {
		return within(pkg, e.path)
	}
	return pkg == e.path
}

// allows matches by structure, so that an allowed symbol's package is always
// one NoInlinePatterns returns.
func (c rules) allows(n symbol.Name) bool {
	for _, e := range c.packages {
		if e.matches(n.Package) {
			return true
		}
	}
	if n.Receiver != "" {
		for _, e := range c.types {
			if e.pkg == n.Package && e.typ == n.Receiver {
				return true
			}
		}
	}
	for _, e := range c.functions {
		if e.glob {
			if e.pkg == n.Package {
				return true
			}
			continue
		}
		if e.name.Package == n.Package && e.name.Receiver == n.Receiver && e.name.Func == n.Func {
			return true
		}
	}
	return false
}

// denies matches by text as well as structure, so that an entry whose
// package boundary is ambiguous ("gopkg.in/yaml.v3.Marshal",
// "example.com/app/store.Cache.*") denies every reading of itself. It
// returns the list and entry that matched.
func (c rules) denies(n symbol.Name) string {
	for _, e := range c.packages {
		if e.matches(n.Package) {
			return fmt.Sprintf("packages %q", e.raw)
		}
	}
	if n.Receiver != "" {
		typ := n.Package + "." + n.Receiver
		for _, e := range c.types {
			if e.pkg+"."+e.typ == typ {
				return fmt.Sprintf("types %q", e.raw)
			}
		}
	}
	k := key(n)
	for _, e := range c.functions {
		if e.glob {
			rest, ok := strings.CutPrefix(k, e.pkg+".")
			if ok && !strings.Contains(rest, "/") {
				return fmt.Sprintf("functions %q", e.raw)
			}
			continue
		}
		if key(e.name) == k {
			return fmt.Sprintf("functions %q", e.raw)
		}
	}
	return ""
}

// key spells n with an unescaped import path and without the pointer, so
// that the two spellings of a method and both readings of an entry compare
// equal as text.
func key(n symbol.Name) string {
	if n.Receiver == "" {
		return n.Package + "." + n.Func
	}
	return n.Package + "." + n.Receiver + "." + n.Func
}

var errEmpty = errors.New("empty entry")

func parsePackageEntry(s string) (packageEntry, error) {
	e := packageEntry{raw: s, path: s}
	if s == "" {
		return e, errEmpty
	}
	if p, ok := strings.CutSuffix(s, "/..."); ok {
		e.path, e.tree = p, true
	}
	if strings.Contains(e.path, "...") {
		return e, fmt.Errorf("%q: \"...\" is only allowed as a final \"/...\" element", s)
	}
	if err := symbol.ValidPackagePath(e.path); err != nil {
		return e, fmt.Errorf("%q is not an import path", s)
	}
	return e, nil
}

func parseTypeEntry(s string) (typeEntry, error) {
	e := typeEntry{raw: s}
	if s == "" {
		return e, errEmpty
	}
	if strings.ContainsAny(s, "[]") {
		return e, fmt.Errorf("%q: write the type without type arguments", s)
	}
	// A type name has no dot, so the package is everything before the last.
	i := strings.LastIndexByte(s, '.')
	if i < 0 || strings.Contains(s[i:], "/") {
		return e, fmt.Errorf("%q is not of the form import/path.Type", s)
	}
	n, err := canonicalName(s[:i], s[i+1:])
	if err != nil || n.Receiver != "" || n.Closure != "" || strings.Contains(n.Func, ".") {
		return e, fmt.Errorf("%q is not of the form import/path.Type", s)
	}
	e.pkg, e.typ = n.Package, n.Func
	return e, nil
}

func parseFuncEntry(s string) (funcEntry, error) {
	e := funcEntry{raw: s}
	if s == "" {
		return e, errEmpty
	}
	if p, ok := strings.CutSuffix(s, ".*"); ok {
		if strings.ContainsAny(p, "()") {
			return e, fmt.Errorf("%q: \".*\" matches a whole package; for every method of a type use types", s)
		}
		// The glob leaves no name to end the package path, so the whole
		// prefix is the path, dots and all.
		n, err := canonicalName(p, "F")
		if err != nil {
			return e, fmt.Errorf("%q: %q is not an import path", s, p)
		}
		e.pkg, e.glob = n.Package, true
		return e, nil
	}
	if strings.Contains(strings.ReplaceAll(s, "(*", ""), "*") {
		return e, fmt.Errorf("%q: '*' is only allowed as the whole last element, as in example.com/app/auth.*", s)
	}
	n, err := symbol.Parse(s)
	if err != nil {
		return e, fmt.Errorf("%q is not of the form import/path.Func, import/path.Type.Method or import/path.(*Type).Method", s)
	}
	switch {
	case n.Generic:
		return e, fmt.Errorf("%q: write the function without type arguments", s)
	case n.Closure != "":
		return e, fmt.Errorf("%q names a closure or wrapper; list %q, which it belongs to", s, n.Outer().String())
	case strings.Contains(n.Func, ".") || strings.Contains(n.Receiver, "."):
		return e, fmt.Errorf("%q names a compiler-generated function", s)
	}
	e.pkg, e.name = n.Package, n
	return e, nil
}

// canonicalName validates "pkg.name" where pkg is a plain import path or one
// with %2e escapes, by the same parser as symbols, so that entries and
// symbols agree on what a package path is.
func canonicalName(pkg, name string) (symbol.Name, error) {
	if strings.ContainsAny(pkg, "([*") {
		return symbol.Name{}, errors.New("not an import path")
	}
	n, err := symbol.Parse(symbol.Name{Package: pkg, Func: name}.String())
	if err != nil {
		return symbol.Name{}, err
	}
	return n, nil
}
