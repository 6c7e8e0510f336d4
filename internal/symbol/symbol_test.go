package symbol

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/symbols.golden")

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sym    string
		want   Name
		reason string
	}{
		{
			name:   "function",
			sym:    "example.com/app/router.Greet",
			want:   Name{Package: "example.com/app/router", Func: "Greet"},
			reason: "the plain case",
		},
		{
			name:   "pointer method",
			sym:    "example.com/app/router.(*Server).handle",
			want:   Name{Package: "example.com/app/router", Receiver: "Server", Pointer: true, Func: "handle"},
			reason: "receiver in parentheses with a star",
		},
		{
			name:   "value method",
			sym:    "example.com/app/router.Server.Val",
			want:   Name{Package: "example.com/app/router", Receiver: "Server", Func: "Val"},
			reason: "two names after the package are a method, not a function and a closure",
		},
		{
			name:   "closure",
			sym:    "example.com/app/router.Greet.func1",
			want:   Name{Package: "example.com/app/router", Func: "Greet", Closure: "func1"},
			reason: "funcN after a function is a function literal",
		},
		{
			name:   "nested closure of pointer method",
			sym:    "example.com/app/router.(*S).M.func2.1",
			want:   Name{Package: "example.com/app/router", Receiver: "S", Pointer: true, Func: "M", Closure: "func2.1"},
			reason: "closures inside closures are numbered without the func prefix",
		},
		{
			name:   "closure of value method",
			sym:    "example.com/app/router.Server.Val.func3",
			want:   Name{Package: "example.com/app/router", Receiver: "Server", Func: "Val", Closure: "func3"},
			reason: "the method reading is preferred; Alternate gives the inlined-function one",
		},
		{
			name:   "main",
			sym:    "main.main.func1",
			want:   Name{Package: "main", Func: "main", Closure: "func1"},
			reason: "the main package has the one-element path main",
		},
		{
			name:   "main method",
			sym:    "main.(*handler).ServeHTTP",
			want:   Name{Package: "main", Receiver: "handler", Pointer: true, Func: "ServeHTTP"},
			reason: "methods in main",
		},
		{
			name:   "major version element",
			sym:    "example.com/app/v2.Foo",
			want:   Name{Package: "example.com/app/v2", Func: "Foo"},
			reason: "a /v2 element has no dot and needs no escape",
		},
		{
			name:   "escaped dot in last element",
			sym:    "gopkg.in/yaml%2ev3.Marshal",
			want:   Name{Package: "gopkg.in/yaml.v3", Func: "Marshal"},
			reason: "the linker writes gopkg.in/yaml.v3 this way; Package is the import path",
		},
		{
			name:   "unescaped dot in last element",
			sym:    "gopkg.in/yaml.v3.Marshal",
			want:   Name{Package: "gopkg.in/yaml", Receiver: "v3", Func: "Marshal"},
			reason: "documented rule: the package ends at the first dot after the last slash, so this is not yaml.v3 (the linker never writes it like this)",
		},
		{
			name:   "escaped pointer method",
			sym:    "gopkg.in/yaml%2ev3.(*Node).IsZero",
			want:   Name{Package: "gopkg.in/yaml.v3", Receiver: "Node", Pointer: true, Func: "IsZero"},
			reason: "escapes combine with receivers",
		},
		{
			name:   "dotted host only",
			sym:    "example.com.F",
			want:   Name{Package: "example", Receiver: "com", Func: "F"},
			reason: "a one-element path ends at its first dot too: the rule has no exceptions",
		},
		{
			name:   "generic function canonical",
			sym:    "example.com/app/x.Map[...]",
			want:   Name{Package: "example.com/app/x", Func: "Map", Generic: true},
			reason: "the runtime's spelling of type arguments",
		},
		{
			name:   "generic function shapes",
			sym:    "example.com/app/x.Map[go.shape.int,go.shape.string]",
			want:   Name{Package: "example.com/app/x", Func: "Map", Generic: true},
			reason: "the symbol table's spelling; the arguments contain dots",
		},
		{
			name:   "generic pointer method",
			sym:    "example.com/app/x.(*List[...]).Push",
			want:   Name{Package: "example.com/app/x", Receiver: "List", Pointer: true, Func: "Push", Generic: true},
			reason: "type arguments inside the receiver parentheses",
		},
		{
			name:   "generic value method with struct shape",
			sym:    `main.List[go.shape.struct { A int "json:\"a\"" }].Len`,
			want:   Name{Package: "main", Receiver: "List", Func: "Len", Generic: true},
			reason: "struct tags inside type arguments are quoted and may hold brackets",
		},
		{
			name:   "shape with package path",
			sym:    "example.com/app/x.Map[go.shape.*example.com/app/y.T].func1",
			want:   Name{Package: "example.com/app/x", Func: "Map", Closure: "func1", Generic: true},
			reason: "a slash inside type arguments does not move the package boundary",
		},
		{
			name:   "go wrapper",
			sym:    "main.main.gowrap2",
			want:   Name{Package: "main", Func: "main", Closure: "gowrap2"},
			reason: "go statements get wrappers named after the enclosing function",
		},
		{
			name:   "defer wrapper",
			sym:    "gopkg.in/yaml%2ev3.Marshal.deferwrap1",
			want:   Name{Package: "gopkg.in/yaml.v3", Func: "Marshal", Closure: "deferwrap1"},
			reason: "defer statements get wrappers too",
		},
		{
			name:   "range body",
			sym:    "main.main-range1",
			want:   Name{Package: "main", Func: "main", Closure: "-range1"},
			reason: "range-over-func bodies are joined with '-', which Closure keeps",
		},
		{
			name:   "method value",
			sym:    "main.List[string].Len-fm",
			want:   Name{Package: "main", Receiver: "List", Func: "Len", Closure: "-fm", Generic: true},
			reason: "method value wrappers belong to their method",
		},
		{
			name:   "inlined closure",
			sym:    "gopkg.in/yaml%2ev3.(*encoder).marshal.(*encoder).mapv.func1",
			want:   Name{Package: "gopkg.in/yaml.v3", Receiver: "encoder", Pointer: true, Func: "marshal", Closure: "(*encoder).mapv.func1"},
			reason: "a closure of mapv inlined into marshal is compiled into marshal",
		},
		{
			name:   "inlined closure number",
			sym:    "cmd/go/internal/modload.moduleInfo.func1.checkReuse.2",
			want:   Name{Package: "cmd/go/internal/modload", Func: "moduleInfo", Closure: "func1.checkReuse.2"},
			reason: "closure numbers may follow an inlined name once a closure was entered",
		},
		{
			name:   "abi0",
			sym:    "example.com/app/x.(*T).M.abi0",
			want:   Name{Package: "example.com/app/x", Receiver: "T", Pointer: true, Func: "M", Closure: "abi0"},
			reason: "the ABI0 wrapper of a method is part of the method",
		},
		{
			name:   "abi0 function",
			sym:    "internal/bytealg.Count.abi0",
			want:   Name{Package: "internal/bytealg", Func: "Count", Closure: "abi0"},
			reason: "not a method named abi0: assembly functions get this suffix",
		},
		{
			name:   "init",
			sym:    "example.com/app/x.init",
			want:   Name{Package: "example.com/app/x", Func: "init"},
			reason: "the package initializer",
		},
		{
			name:   "numbered init",
			sym:    "example.com/app/x.init.0",
			want:   Name{Package: "example.com/app/x", Func: "init.0"},
			reason: "each func init is numbered; it is not a closure",
		},
		{
			name:   "closure in numbered init",
			sym:    "example.com/app/x.init.0.func1",
			want:   Name{Package: "example.com/app/x", Func: "init.0", Closure: "func1"},
			reason: "closures of func init",
		},
		{
			name:   "package variable closure",
			sym:    "example.com/app/x.init.func1",
			want:   Name{Package: "example.com/app/x", Func: "init", Closure: "func1"},
			reason: "closures in package-level variables belong to init (they were glob..func1 before Go 1.22)",
		},
		{
			name:   "inlined into init",
			sym:    "syscall.init.OnceFunc.func3.1.1",
			want:   Name{Package: "syscall", Func: "init", Closure: "OnceFunc.func3.1.1"},
			reason: "no type can be named init, so there is no method reading",
		},
		{
			name:   "map init",
			sym:    "cmd/compile/internal/ssa.map.init.2",
			want:   Name{Package: "cmd/compile/internal/ssa", Func: "map.init.2"},
			reason: "outlined map literal initializers",
		},
		{
			name:   "local type pointer",
			sym:    "mime/multipart.(*writerOnly.1).Write",
			want:   Name{Package: "mime/multipart", Receiver: "writerOnly.1", Pointer: true, Func: "Write"},
			reason: "types declared in functions are numbered",
		},
		{
			name:   "local type value",
			sym:    "mime/multipart.writerOnly.1.Write",
			want:   Name{Package: "mime/multipart", Receiver: "writerOnly.1", Func: "Write"},
			reason: "the same without the pointer",
		},
		{
			name:   "unicode",
			sym:    "example.com/app/x.Grüße",
			want:   Name{Package: "example.com/app/x", Func: "Grüße"},
			reason: "identifiers are Unicode letters",
		},
		{
			name:   "plugin local",
			sym:    "local.plugin/unnamed-4f2a.main",
			want:   Name{Package: "local.plugin/unnamed-4f2a", Func: "main"},
			reason: "the local. prefix of plugin .symtab entries is the caller's to strip; Parse does not special-case it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.sym)
			if err != nil {
				t.Fatalf("Parse(%q): %v (%s)", tt.sym, err, tt.reason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got), %s:\n%s", tt.sym, tt.reason, diff)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("Parse(%q.String() = %q) = %+v, %v; want %+v", tt.sym, got.String(), again, err, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sym    string
		reason string
	}{
		{"empty", "", "nothing to parse"},
		{"no package", "aeshashbody", "assembly helpers without a package are not Go functions"},
		{"type data", "type:.eq.example.com/app/x.T", "compiler-generated type symbols have ':' in the package"},
		{"go data", "go:buildid", "linker data symbols"},
		{"dict", "main..dict.Map[int,string]", "generic dictionaries are data and have an empty name"},
		{"trailing dot", "example.com/app/x.F.", "empty last name"},
		{"empty package element", "example.com//x.F", "paths have no empty elements"},
		{"dotdot element", "example.com/%2e%2e.F", "escapes cannot smuggle in a .. element"},
		{"bad escape", "example.com/x%2.F", "% must be followed by two hex digits"},
		{"escaped slash char", "example.com/x%22.F", "a decoded quote is not an import path character"},
		{"unbalanced bracket", "example.com/x.Map[int", "type arguments must close"},
		{"mismatched bracket", "example.com/x.Map[int)", "( and [ must pair"},
		{"stray close", "example.com/x.F]", "a closing bracket without an opening one"},
		{"unterminated tag", `example.com/x.Map[struct { A int "x }]`, "quoted strings in type arguments must end"},
		{"empty type args", "example.com/x.Map[]", "instantiations have at least one argument"},
		{"pointer without method", "example.com/x.(*T)", "a receiver alone is not a function"},
		{"pointer without star", "example.com/x.(T).M", "the linker always writes (*T) for pointer receivers"},
		{"three names", "example.com/x.A.B.C", "a method with an inlined name but no closure marker"},
		{"bare number", "example.com/x.F.1", "closure numbers come only after a closure"},
		{"bad dash", "example.com/x.F-x", "only -rangeN and -fm follow a dash"},
		{"digit start", "example.com/x.1F", "identifiers start with a letter"},
		{"space", "example.com/x.F G", "spaces only appear inside type arguments"},
		{"unknown suffix", "example.com/x.T.M.abi1", "only the markers the compiler and linker write end a closure suffix"},
		{"invalid utf8", "example.com/x.F\xff", "names are valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := Parse(tt.sym); err == nil {
				t.Errorf("Parse(%q) = %+v, want error (%s)", tt.sym, got, tt.reason)
			}
		})
	}
}

func TestAlternate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sym    string
		want   Name // zero if there is no other reading
		reason string
	}{
		{
			name:   "value method closure",
			sym:    "example.com/app/x.A.B.func1",
			want:   Name{Package: "example.com/app/x", Func: "A", Closure: "B.func1"},
			reason: "B may be a function inlined into A",
		},
		{
			name:   "generic receiver",
			sym:    "example.com/app/x.List[...].Len.func1",
			want:   Name{Package: "example.com/app/x", Func: "List", Closure: "Len.func1", Generic: true},
			reason: "the type arguments stay with the first name",
		},
		{
			name:   "pointer method closure",
			sym:    "example.com/app/x.(*A).B.func1",
			reason: "(*A) is always a receiver",
		},
		{
			name:   "plain closure",
			sym:    "example.com/app/x.A.func1",
			reason: "a method named func1 is read as a closure, with no second reading",
		},
		{
			name:   "init",
			sym:    "example.com/app/x.init.OnceFunc.func1",
			reason: "init cannot be a type",
		},
		{
			name:   "value method",
			sym:    "example.com/app/x.A.B",
			reason: "without a closure marker B cannot be an inlined function",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := Parse(tt.sym)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.sym, err)
			}
			alt, ok := n.Alternate()
			if diff := cmp.Diff(tt.want, alt); diff != "" {
				t.Errorf("Alternate of %q mismatch (-want +got), %s:\n%s", tt.sym, tt.reason, diff)
			}
			if ok != (tt.want != Name{}) {
				t.Errorf("Alternate of %q: ok = %v", tt.sym, ok)
			}
			if !ok {
				return
			}
			if alt.String() != n.String() {
				t.Errorf("alternate %+v prints %q, want %q", alt, alt.String(), n.String())
			}
			if back, ok := alt.Alternate(); !ok || back != n {
				t.Errorf("alternate of alternate = %+v, %v; want %+v", back, ok, n)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	n, err := Parse("gopkg.in/yaml%2ev3.(*encoder).marshal.(*encoder).mapv.func1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Type(), "gopkg.in/yaml.v3.encoder"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	want := Name{Package: "gopkg.in/yaml.v3", Receiver: "encoder", Pointer: true, Func: "marshal"}
	if diff := cmp.Diff(want, n.Outer()); diff != "" {
		t.Errorf("Outer() mismatch (-want +got):\n%s", diff)
	}
	if got := n.Outer().String(); got != "gopkg.in/yaml%2ev3.(*encoder).marshal" {
		t.Errorf("Outer().String() = %q", got)
	}
	if got := (Name{Package: "main", Func: "f"}).Type(); got != "" {
		t.Errorf("Type() of a function = %q, want empty", got)
	}
}

func TestValidPackagePath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"main", "gopkg.in/yaml.v3", "example.com/a-b/c_d/e~f/g+h", "A/B"} {
		if err := ValidPackagePath(p); err != nil {
			t.Errorf("CheckPackagePath(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", "/x", "x/", "a//b", "a/./b", "a/../b", "a b", "a%2eb", "a(b", "ä"} {
		if err := ValidPackagePath(p); err == nil {
			t.Errorf("CheckPackagePath(%q) = nil, want error", p)
		}
	}
}

// TestGolden parses function symbols taken from real Go 1.26 binaries (see
// testdata/README.md) and compares the result with testdata/symbols.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(filepath.Join("testdata", "symbols.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		sym := sc.Text()
		n, err := Parse(sym)
		if err != nil {
			t.Errorf("Parse(%q): %v", sym, err)
			continue
		}
		if again, err := Parse(n.String()); err != nil || again != n {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", n.String(), again, err, n)
		}
		fmt.Fprintf(&out, "%s\n\t%s\n", sym, describe(n))
		if alt, ok := n.Alternate(); ok {
			fmt.Fprintf(&out, "\tor %s\n", describe(alt))
		}
	}
	golden := filepath.Join("testdata", "symbols.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
	}
}

func describe(n Name) string {
	var parts []string
	parts = append(parts, "pkg="+n.Package)
	if n.Receiver != "" {
		r := n.Receiver
		if n.Pointer {
			r = "*" + r
		}
		parts = append(parts, "recv="+r)
	}
	parts = append(parts, "func="+n.Func)
	if n.Closure != "" {
		parts = append(parts, "closure="+n.Closure)
	}
	if n.Generic {
		parts = append(parts, "generic")
	}
	return strings.Join(parts, " ")
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"example.com/app/router.Greet",
		"example.com/app/router.(*Server).handle",
		"example.com/app/router.Server.Val.func1",
		"example.com/app/router.(*S).M.func2.1",
		"main.main.func1",
		"main.main-range1",
		"gopkg.in/yaml%2ev3.Marshal.deferwrap1",
		"example.com/app/x.(*List[...]).Push",
		`main.List[go.shape.struct { A int "json:\"a\"" }].Len-fm`,
		"syscall.init.OnceFunc.func3.1.1",
		"cmd/compile/internal/ssa.map.init.2",
		"mime/multipart.(*writerOnly.1).Write",
		"type:.eq.main.T",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sym string) {
		n, err := Parse(sym)
		if err != nil {
			return
		}
		s := n.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q): %v", sym, n, s, err)
		}
		if again != n {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v", sym, n, s, again)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String not stable: %q then %q", s, s2)
		}
		if o := n.Outer(); true {
			if got, err := Parse(o.String()); err != nil || got != o {
				t.Fatalf("Outer of %q = %+v, which parses as %+v, %v", sym, o, got, err)
			}
		}
		if alt, ok := n.Alternate(); ok {
			if alt.String() != s {
				t.Fatalf("Alternate of %q prints %q", s, alt.String())
			}
			if back, ok := alt.Alternate(); !ok || back != n {
				t.Fatalf("Alternate of Alternate of %q = %+v, %v", s, back, ok)
			}
		}
	})
}
