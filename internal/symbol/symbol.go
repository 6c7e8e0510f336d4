// Package symbol parses the names the Go linker gives to functions in a
// binary's symbol table, such as
//
//	example.com/app/router.Greet
//	example.com/app/router.(*Server).handle
//	example.com/app/router.Server.Val
//	example.com/app/router.Greet.func1
//	example.com/app/x.(*List[go.shape.int]).Push
//	gopkg.in/yaml%2ev3.Marshal
//	main.main-range1
//
// # Where the package path ends
//
// The package path is everything up to the first '.' after the last '/'
// (before any '(' or '['). This is unambiguous for real symbols because the
// compiler writes a '.' in the last path element as %2e (see
// cmd/internal/objabi/path.go, PathToPrefix): yaml.v3's Marshal is
// "gopkg.in/yaml%2ev3.Marshal" in the symbol table. Parse decodes such
// escapes, so Name.Package is the import path "gopkg.in/yaml.v3", and
// String encodes them again.
//
// # What counts as a closure
//
// Everything the compiler names after an enclosing function is reported in
// Name.Closure: function literals (".func1", nested ".func2.1"), go and defer
// wrappers (".gowrap1", ".deferwrap1"), range-over-func bodies ("-range1"),
// method value wrappers ("-fm"), ABI0 wrappers (".abi0"), and the names of
// functions inlined into the
// enclosing function when a closure came from them ("F.G.func1", see
// cmd/compile/internal/ir/func.go, closureName). All of that code lives in,
// and is replaced with, the enclosing function, which Name.Outer returns.
//
// # Ambiguity
//
// "pkg.A.B.func1" is a closure either of method B of type A, or of function
// A into which a function B was inlined; the text cannot tell them apart.
// Parse returns the method reading unless B looks like a closure name
// (func1, gowrap1, deferwrap1); Name.Alternate returns the other reading so
// that callers deciding something, such as a policy, can consider both.
//
// Generic instantiations are reported with Generic set and their type
// arguments dropped; String writes them as "[...]", the form the runtime
// uses in tracebacks and runtime.FuncForPC.
package symbol

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name is a parsed function symbol. The zero Name is not valid.
type Name struct {
	Package  string // import path, "main" for the main package
	Receiver string // type name without '*' and without type args, "" for plain functions
	Pointer  bool   // pointer receiver
	Func     string // function or method name; also "init.0" and "map.init.0" for compiler-numbered initializers
	Closure  string // suffix after the enclosing function without a leading '.', e.g. "func1", "func2.1", "-range1", "abi0"; "" if none
	Generic  bool   // the enclosing function or its receiver has type arguments
}

// errSyntax is wrapped by every error Parse returns.
var errSyntax = errors.New("malformed function symbol")

// Parse parses a function symbol as it appears in a Go binary's symbol table.
// It returns an error, never panics, for anything that is not one: data
// symbols ("type:...", "go:..."), assembly-only names without a package, and
// unbalanced brackets.
func Parse(sym string) (Name, error) {
	rs, err := readings(sym)
	if err != nil {
		return Name{}, err
	}
	return rs[0], nil
}

// String returns the symbol for n as the linker writes it, with type
// arguments as "[...]". For every n returned by Parse, Parse(n.String())
// returns n again.
func (n Name) String() string {
	var b strings.Builder
	b.WriteString(escapePackage(n.Package))
	b.WriteByte('.')
	targs := ""
	if n.Generic {
		targs = "[...]"
	}
	switch {
	case n.Receiver != "" && n.Pointer:
		b.WriteString("(*" + n.Receiver + targs + ")." + n.Func)
	case n.Receiver != "":
		b.WriteString(n.Receiver + targs + "." + n.Func)
	default:
		b.WriteString(n.Func + targs)
	}
	if n.Closure != "" {
		if n.Closure[0] != '-' {
			b.WriteByte('.')
		}
		b.WriteString(n.Closure)
	}
	return b.String()
}

// Type returns "pkg.Recv" with the import path as in n.Package, or "" for a
// plain function.
func (n Name) Type() string {
	if n.Receiver == "" {
		return ""
	}
	return n.Package + "." + n.Receiver
}

// Outer returns the function that contains n's code: n without Closure.
func (n Name) Outer() Name {
	n.Closure = ""
	return n
}

// Alternate returns the other reading of n's symbol text, if it has one (see
// the package documentation on ambiguity). Both readings share a String.
func (n Name) Alternate() (Name, bool) {
	rs, err := readings(n.String())
	if err != nil || len(rs) < 2 {
		return Name{}, false
	}
	switch n {
	case rs[0]:
		return rs[1], true
	case rs[1]:
		return rs[0], true
	}
	return Name{}, false
}

// ValidPackagePath returns an error unless path is an import path that Parse
// can return in Name.Package: non-empty '/'-separated elements of ASCII
// letters, digits and "-._~+", no element "." or "..". Parse is this strict so
// that String never has to escape more than a dot and every Name it returns
// prints back to itself.
func ValidPackagePath(path string) error {
	if path == "" {
		return fmt.Errorf("%w: empty package path", errSyntax)
	}
	for elem := range strings.SplitSeq(path, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("%w: package path %q has an empty, \".\" or \"..\" element", errSyntax, path)
		}
		for i := 0; i < len(elem); i++ {
			if !pathByte(elem[i]) {
				return fmt.Errorf("%w: package path %q contains %q", errSyntax, path, elem[i])
			}
		}
	}
	return nil
}

func pathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+'
}

// readings returns the primary reading of sym first and, if the text is
// ambiguous, the other one second.
func readings(sym string) ([]Name, error) {
	head := sym
	if i := strings.IndexAny(sym, "(["); i >= 0 {
		head = sym[:i]
	}
	slash := strings.LastIndexByte(head, '/')
	dot := strings.IndexByte(head[slash+1:], '.')
	if dot < 0 {
		return nil, fmt.Errorf("%w: %q has no package qualifier", errSyntax, sym)
	}
	dot += slash + 1
	pkg, err := unescapePackage(sym[:dot])
	if err != nil {
		return nil, fmt.Errorf("%w (in %q)", err, sym)
	}
	segs, err := split(sym[dot+1:])
	if err != nil {
		return nil, fmt.Errorf("%w (in %q)", err, sym)
	}

	var rs []Name
	first := segs[0]
	switch first.kind {
	case segPointer:
		if len(segs) < 2 || !segs[1].plainIdent() {
			return nil, fmt.Errorf("%w: %q: pointer receiver without a method", errSyntax, sym)
		}
		if c, ok := suffix(segs[2:]); ok {
			rs = append(rs, Name{Package: pkg, Receiver: first.ident, Pointer: true, Func: segs[1].ident, Closure: c, Generic: first.targs})
		}
	case segName:
		if f, n := special(segs); n > 0 {
			if c, ok := suffix(segs[n:]); ok {
				rs = append(rs, Name{Package: pkg, Func: f, Closure: c})
			}
			break
		}
		// Types declared inside a function get a number ("writerOnly.1");
		// the compiler generates methods for them when they embed a type.
		if !first.targs && len(segs) > 2 && segs[1].sep == '.' && segs[1].kind == segNumber && segs[2].plainIdent() {
			if c, ok := suffix(segs[3:]); ok {
				rs = append(rs, Name{Package: pkg, Receiver: first.ident + "." + segs[1].text, Func: segs[2].ident, Closure: c})
			}
			break
		}
		// No type can be named init ("cannot declare init - must be func"),
		// and a method named like a closure (func1) is taken for one.
		if first.ident != "init" && len(segs) > 1 && segs[1].plainIdent() && !segs[1].marker() {
			if c, ok := suffix(segs[2:]); ok {
				rs = append(rs, Name{Package: pkg, Receiver: first.ident, Func: segs[1].ident, Closure: c, Generic: first.targs})
			}
		}
		if c, ok := suffix(segs[1:]); ok {
			rs = append(rs, Name{Package: pkg, Func: first.ident, Closure: c, Generic: first.targs})
		}
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w: %q", errSyntax, sym)
	}
	return rs, nil
}

type segKind int

const (
	segInvalid segKind = iota
	segName            // ident, optionally with type arguments
	segPointer         // (*ident) or (*ident[...])
	segNumber          // digits
)

type segment struct {
	sep   byte // '.', '-', or 0 for the first segment
	text  string
	kind  segKind
	ident string
	targs bool
}

// plainIdent reports whether s can be a method name.
func (s segment) plainIdent() bool {
	return s.sep == '.' && s.kind == segName && !s.targs
}

// marker reports whether s is a name the compiler gives to code it splits out
// of a function (cmd/compile/internal/ir/func.go, closureName; -fm from
// cmd/compile/internal/ir/expr.go, MethodValueSym), or the ".abi0" the linker
// appends to the assembly-ABI variant of a function (cmd/internal/obj/sym.go).
func (s segment) marker() bool {
	switch s.sep {
	case '.':
		if s.kind != segName || s.targs {
			return false
		}
		if s.ident == "abi0" {
			return true
		}
		for _, p := range []string{"func", "gowrap", "deferwrap"} {
			if n, ok := strings.CutPrefix(s.ident, p); ok && digits(n) {
				return true
			}
		}
	case '-':
		if s.text == "fm" {
			return true
		}
		if n, ok := strings.CutPrefix(s.text, "range"); ok && digits(n) {
			return true
		}
	}
	return false
}

// canonical returns s as String writes it.
func (s segment) canonical() string {
	t := s.text
	switch {
	case s.kind == segPointer && s.targs:
		t = "(*" + s.ident + "[...])"
	case s.kind == segName && s.targs:
		t = s.ident + "[...]"
	}
	if s.sep != 0 {
		t = string(s.sep) + t
	}
	return t
}

// special recognizes the compiler's numbered package initializers, "init.0"
// for each func init and "map.init.0" for large map literals outlined by
// cmd/compile/internal/staticinit. They are functions, not closures of a
// function named init or a method of a type named map. It returns the
// function name and how many segments it took, or 0.
func special(segs []segment) (string, int) {
	s := segs[0]
	if s.kind != segName || s.targs {
		return "", 0
	}
	switch {
	case s.ident == "init" && len(segs) > 1 && segs[1].sep == '.' && segs[1].kind == segNumber:
		return "init." + segs[1].text, 2
	case s.ident == "map" && len(segs) > 2 && segs[1].sep == '.' && segs[1].text == "init" &&
		segs[2].sep == '.' && segs[2].kind == segNumber:
		return "map.init." + segs[2].text, 3
	}
	return "", 0
}

// suffix validates the segments after an enclosing function and returns them
// as Name.Closure. A suffix is a run of inlined function names, closure
// markers and closure numbers that ends in a marker or number. Numbers name
// closures inside closures (".func2.1"), so they only come after a marker,
// though inlined names may sit in between (".func1.securityPreservingHTTPClient.2").
func suffix(segs []segment) (string, bool) {
	if len(segs) == 0 {
		return "", true
	}
	var b strings.Builder
	seenMarker, endsClosure := false, false
	for i, s := range segs {
		switch {
		case s.marker():
			seenMarker, endsClosure = true, true
		case s.sep == '.' && s.kind == segNumber && seenMarker:
			endsClosure = true
		case s.sep == '.' && (s.kind == segName || s.kind == segPointer):
			if s.kind == segPointer && (i+1 == len(segs) || !segs[i+1].plainIdent()) {
				return "", false
			}
			endsClosure = false
		default:
			return "", false
		}
		b.WriteString(s.canonical())
	}
	if !endsClosure {
		return "", false
	}
	return strings.TrimPrefix(b.String(), "."), true
}

// split cuts the part after the package into segments at '.' and '-' outside
// brackets and parentheses. Type arguments are opaque: they contain dots,
// slashes, spaces and quoted struct tags ("go.shape.struct { A int \"json:\\\"a\\\"\" }").
func split(rest string) ([]segment, error) {
	var segs []segment
	var sep byte
	start := 0
	for i := 0; i <= len(rest); i++ {
		if i < len(rest) {
			c := rest[i]
			if c == '(' || c == '[' {
				j, err := closing(rest, i)
				if err != nil {
					return nil, err
				}
				i = j
				continue
			}
			if c == ')' || c == ']' {
				return nil, fmt.Errorf("%w: unbalanced %q", errSyntax, c)
			}
			if c != '.' && c != '-' {
				continue
			}
		}
		s, err := classify(sep, rest[start:i])
		if err != nil {
			return nil, err
		}
		segs = append(segs, s)
		if i < len(rest) {
			sep = rest[i]
		}
		start = i + 1
	}
	return segs, nil
}

// closing returns the index of the bracket closing the one at s[open],
// skipping quoted strings.
func closing(s string, open int) (int, error) {
	var stack []byte
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '(', '[':
			stack = append(stack, c)
		case ')', ']':
			want := byte('(')
			if c == ']' {
				want = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != want {
				return 0, fmt.Errorf("%w: unbalanced %q", errSyntax, c)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i, nil
			}
		case '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(s) {
				return 0, fmt.Errorf("%w: unterminated string", errSyntax)
			}
		}
	}
	return 0, fmt.Errorf("%w: unclosed %q", errSyntax, s[open])
}

func classify(sep byte, t string) (segment, error) {
	s := segment{sep: sep, text: t}
	switch {
	case t == "":
		return s, fmt.Errorf("%w: empty name", errSyntax)
	case digits(t):
		s.kind = segNumber
		return s, nil
	case sep == '-':
		// Only markers ("-range1", "-fm") follow a '-'; suffix checks which.
		s.kind = segName
		s.ident = t
		if !ident(t) {
			return s, fmt.Errorf("%w: bad name %q", errSyntax, t)
		}
		return s, nil
	case strings.HasPrefix(t, "(*") && strings.HasSuffix(t, ")"):
		inner := t[2 : len(t)-1]
		if id, n, ok := strings.Cut(inner, "."); ok && ident(id) && digits(n) {
			// A pointer to a function-local type, see readings.
			s.kind, s.ident = segPointer, inner
			return s, nil
		}
		id, targs, err := nameWithTypeArgs(inner)
		if err != nil {
			return s, err
		}
		s.kind, s.ident, s.targs = segPointer, id, targs
		return s, nil
	}
	id, targs, err := nameWithTypeArgs(t)
	if err != nil {
		return s, err
	}
	s.kind, s.ident, s.targs = segName, id, targs
	return s, nil
}

func nameWithTypeArgs(t string) (string, bool, error) {
	i := strings.IndexByte(t, '[')
	if i < 0 {
		if !ident(t) {
			return "", false, fmt.Errorf("%w: bad name %q", errSyntax, t)
		}
		return t, false, nil
	}
	if !ident(t[:i]) {
		return "", false, fmt.Errorf("%w: bad name %q", errSyntax, t[:i])
	}
	j, err := closing(t, i)
	if err != nil {
		return "", false, err
	}
	if j != len(t)-1 || j == i+1 {
		return "", false, fmt.Errorf("%w: bad type arguments in %q", errSyntax, t)
	}
	return t[:i], true, nil
}

func ident(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unescapePackage decodes the %xx escapes the compiler writes into package
// paths (cmd/internal/objabi/path.go, PathToPrefix).
func unescapePackage(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, ValidPackagePath(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", fmt.Errorf("%w: bad escape in package path %q", errSyntax, s)
			}
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		}
		b.WriteByte(c)
	}
	p := b.String()
	return p, ValidPackagePath(p)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// escapePackage is the inverse of unescapePackage for paths that pass
// ValidPackagePath: only a '.' in the last element needs escaping, because
// Parse ends the package path at the first '.' after the last '/'.
func escapePackage(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	return p[:i] + strings.ReplaceAll(p[i:], ".", "%2e")
}
