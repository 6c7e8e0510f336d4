package layout

import (
	"go/scanner"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestFit checks that a new body fitted into the release's lines keeps
// the closing brace on its line and reads as the same tokens as written.
func TestFit(t *testing.T) {
	const base3 = "\n\tr = x\n\treturn\n" // three lines between the braces' lines
	tests := []struct {
		name, base, fix string
		how             string // substring of the report; "" when it fits as written
		reason          string
	}{
		{"same lines", base3, "\n\tr = x + 1\n\treturn\n", "", "a body of the same length is used as written"},
		{"shorter", base3, "\n\treturn x\n", "shorter", "padded with blank lines"},
		{"comments and blank lines", base3, "\n\t// one\n\n\tr = x /* two */ + 1\n\n\t// three\n\treturn\n", "collapsed", "comments dropped, lines joined"},
		{"automatic semicolons", base3, "\n\ty := x\n\ty++\n\tr = y\n\tr *= 2\n\treturn\n", "collapsed", "joined lines get explicit semicolons"},
		{"raw string over lines", base3, "\n\ts := `a\nb\n\tc`\n\tr = len(s) +\n\t\tx\n\treturn\n", "collapsed", "a raw string with newlines becomes an interpreted string"},
		{"raw string then tokens", base3, "\n\tr = len(`a\nb`) + x\n\tr++\n\treturn\n", "collapsed", "tokens after a multi-line raw string stay with it"},
		{"labels and blocks", base3, "\nloop:\n\tfor i := 0; i < x; i++ {\n\t\tswitch {\n\t\tcase i > 3:\n\t\t\tbreak loop\n\t\tdefault:\n\t\t\tr += i\n\t\t}\n\t}\n\tif r > 10 {\n\t\tr = 10\n\t} else {\n\t\tr++\n\t}\n\treturn\n", "collapsed", "labels, else and case clauses survive joining"},
		{"call over lines", base3, "\n\tr = max(\n\t\tx,\n\t\t2,\n\t)\n\treturn\n", "collapsed", "a trailing comma joins without a semicolon"},
		{"closure", base3, "\n\tf := func(a int) int {\n\t\treturn a * 2\n\t}\n\tr = f(x)\n\treturn\n", "collapsed", "function literals"},
		{"to one line", " return x ", "\n\tr = x\n\tr++\n\treturn\n", "one line", "a one-line body stays one line"},
		{"to the brace lines", "\n", "\n\tr = x\n\treturn\n", "collapsed", "an empty two-line body takes the new one after its opening brace"},
		{"content on the brace line, same lines", "\n\tr = x\n\treturn ", "\n\tr = x + 1\n\treturn ", "", "not gofmt'd: the last statement shares the closing brace's line"},
		{"content on the brace line, shorter", "\n\tr = x\n\tr++\n\treturn ", "\n\tr = x\n\treturn ", "shorter", "the last statement is kept, then blank lines"},
		{"content on the brace line, longer", "\n\tr = x\n\treturn ", "\n\tr = x\n\tr++\n\tr++\n\treturn ", "collapsed", "the release's last line held code, not indentation"},
		{"one line, same length", " return x ", " r = x; return ", "", "one line as written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, how, err := Fit(tt.base, tt.fix)
			if err != nil {
				t.Fatalf("fit: %v", err)
			}
			if tt.how == "" && how != "" || tt.how != "" && !strings.Contains(how, tt.how) {
				t.Errorf("how = %q, want %q (%s)", how, tt.how, tt.reason)
			}
			if n, want := strings.Count(got, "\n"), strings.Count(tt.base, "\n"); n != want {
				t.Errorf("%d newlines, want the release's %d (%s):\n%s", n, want, tt.reason, got)
			}
			if i := strings.LastIndexByte(tt.base, '\n'); i >= 0 && strings.TrimSpace(tt.base[i:]) == "" && !strings.HasSuffix(got, tt.base[i:]) {
				t.Errorf("closing brace not at its column (%s): %q", tt.reason, got)
			}
			if a, b := bodyForm(t, tt.fix), bodyForm(t, got); a != b {
				t.Errorf("fitted body compiles differently (%s):\nfix:\n%s\nfitted:\n%s", tt.reason, tt.fix, got)
			}
		})
	}
}

// bodyForm returns the tokens of body as the compiler reads them:
// comments dropped, a semicolon the scanner inserts at a line's end the
// same as one written, and string literals by their value (a raw string
// over lines becomes an interpreted one).
func bodyForm(t *testing.T, body string) string {
	t.Helper()
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(body))
	var s scanner.Scanner
	s.Init(file, []byte(body), func(pos token.Position, msg string) { t.Fatalf("scan %q: %v: %s", body, pos, msg) }, 0)
	var out []string
	for {
		_, tok, lit := s.Scan()
		switch tok {
		case token.EOF:
			return strings.Join(out, " ")
		case token.SEMICOLON:
			lit = ";"
		case token.STRING:
			v, err := strconv.Unquote(lit)
			if err != nil {
				t.Fatalf("unquote %s: %v", lit, err)
			}
			lit = strconv.Quote(v)
		}
		out = append(out, tok.String()+lit)
	}
}

// TestCheckLayout: the builder's own check catches a declaration moved by
// a body that does not fit.
func TestCheckLayout(t *testing.T) {
	base := "package p\n\nfunc A() int {\n\treturn 1\n}\n\nfunc B() int { return 2 }\n"
	moved := "package p\n\nfunc A() int {\n\tx := 1\n\treturn x\n}\n\nfunc B() int { return 2 }\n"
	if err := Check("p.go", []byte(base), []byte(moved), map[string]bool{"A": true}, nil); err == nil {
		t.Fatal("a moved declaration passed the layout check")
	}
	text, _, err := Fit("\n\treturn 1\n", "\n\tx := 1\n\treturn x\n")
	if err != nil {
		t.Fatal(err)
	}
	fitted := strings.Replace(base, "\n\treturn 1\n", text, 1)
	if err := Check("p.go", []byte(base), []byte(fitted), map[string]bool{"A": true}, nil); err != nil {
		t.Fatalf("fitted body: %v", err)
	}
}
