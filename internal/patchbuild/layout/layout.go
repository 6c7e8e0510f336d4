package layout

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Why the release's layout must be kept: plugin.Open compares, for every
// package the plugin shares with the host, the linker fingerprint
// (go:link.pkghashbytes.<pkg>), a hash of the package's whole export data
// (cmd/compile/internal/noder/unified.go: base.Ctxt.Fingerprint =
// l.pw.DumpTo(out)). Function bodies are not in it when the package is
// compiled with -l, but the position (line and column) of every
// declaration is. A fix that adds one line inside a function moves every
// later declaration of its file, and plugin.Open would fail with "plugin
// was built with a different version of package". A //line directive does
// not help: it makes another position base, which is in the export data
// too. So the patch compiles the release's own file with only the bodies
// of the changed functions replaced, each new body fitted into exactly
// the lines of the old one.

// Fit returns the text to put between the braces of a function whose
// release body, between its braces, was base, so that the closing brace
// stays on its line and column; fix is the new body between its braces.
// how says what was done to the new body ("" when it fits as written).
func Fit(base, fix string) (text, how string, err error) {
	k := strings.Count(base, "\n")
	kf := strings.Count(fix, "\n")
	if k == 0 {
		// A one-line body: the new one must fit on that line too.
		if kf == 0 {
			return fix, "", nil
		}
		lines, err := collapse(fix, 1)
		if err != nil {
			return "", "", err
		}
		return " " + strings.TrimSpace(lines[0]) + " ", fmt.Sprintf("new body %d line(s) longer: collapsed onto the release's one line", kf), nil
	}
	// The indentation of the closing brace, when nothing else shares its
	// line (where the brace is is not in the export data, only its line
	// matters, for the declarations after it).
	indent := base[strings.LastIndexByte(base, '\n')+1:]
	if strings.TrimLeft(indent, " \t") != "" {
		indent = ""
	}
	if kf <= k {
		// As written, with blank lines before the closing brace. A newline
		// added there at most ends the last statement, as the brace did.
		text = strings.TrimRight(fix, " \t") + strings.Repeat("\n", k-kf) + indent
		if kf < k {
			how = fmt.Sprintf("new body %d line(s) shorter: padded with blank lines", k-kf)
		}
		return text, how, nil
	}
	// Longer: re-emit the new body's tokens on fewer lines.
	slots := k - 1
	if k == 1 {
		slots = 1
	}
	lines, err := collapse(fix, slots)
	if err != nil {
		return "", "", err
	}
	how = fmt.Sprintf("new body %d line(s) longer: collapsed into the release's %d line(s)", kf-k, slots)
	if k == 1 {
		return " " + strings.TrimSpace(lines[0]) + "\n" + indent, how, nil
	}
	return "\n" + strings.Join(lines, "\n") + "\n" + indent, how, nil
}

// collapse re-emits the tokens of src, a function body between its
// braces, on exactly n lines. Comments are dropped, an automatic
// semicolon becomes an explicit ";" where two lines are joined, and raw
// strings that span lines are written as interpreted strings. Each source
// line keeps its indentation and spacing; lines are joined, as evenly as
// possible, only when there are more of them than n.
func collapse(src string, n int) ([]string, error) {
	toks, err := bodyTokens(src)
	if err != nil {
		return nil, err
	}
	groups := sourceLines(src, toks)
	lines := make([]string, n)
	if len(groups) <= n {
		for i, g := range groups {
			lines[i] = g.indent + string(g.text)
		}
		return lines, nil
	}
	// More lines than room: join them as evenly as possible, each run
	// with the indentation of its first line.
	for i := 0; i < n; i++ {
		run := groups[i*len(groups)/n : (i+1)*len(groups)/n]
		texts := make([]string, len(run))
		for j, g := range run {
			texts[j] = string(g.text)
		}
		lines[i] = run[0].indent + strings.Join(texts, " ")
	}
	return lines, nil
}

// bodyToken is one token of a body, as collapse re-emits it.
type bodyToken struct {
	start, end int // byte offsets of its source text
	text       string
	line, last int // first and last line of its source text
	semi       bool
}

// bodyTokens scans src, comments dropped.
func bodyTokens(src string) ([]bodyToken, error) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var errs scanner.ErrorList
	var s scanner.Scanner
	s.Init(file, []byte(src), func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	var toks []bodyToken
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		off := file.Offset(pos)
		tk := bodyToken{start: off, line: file.Line(pos)}
		switch {
		case t == token.SEMICOLON && lit == "\n":
			tk.text, tk.end, tk.semi = ";", off, true
		case t == token.SEMICOLON:
			tk.text, tk.end, tk.semi = ";", off+1, true
		case t == token.STRING && strings.HasPrefix(lit, "`"):
			// The scanner drops carriage returns from raw strings, so
			// find the source end by the closing quote.
			tk.end = off + 1 + strings.IndexByte(src[off+1:], '`') + 1
			tk.text = lit
			if strings.Contains(lit, "\n") {
				tk.text = strconv.Quote(lit[1 : len(lit)-1])
			}
		case lit != "":
			tk.text, tk.end = lit, off+len(lit)
		default:
			tk.text = t.String()
			tk.end = off + len(tk.text)
		}
		tk.last = tk.line + strings.Count(src[tk.start:tk.end], "\n")
		toks = append(toks, tk)
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	return toks, nil
}

// srcLine is what was one source line of a body: its indentation, and its
// tokens with the spacing between them.
type srcLine struct {
	indent string
	text   []byte
}

// sourceLines regroups toks into the lines they were on: a new line starts
// at a token on a line after the one where the previous token ended.
func sourceLines(src string, toks []bodyToken) []srcLine {
	var lines []srcLine
	prevEnd, prevLast := 0, 0
	for i, tk := range toks {
		if i == 0 || tk.line > prevLast {
			ls := strings.LastIndexByte(src[:tk.start], '\n') + 1
			indent := src[ls:tk.start]
			if strings.TrimLeft(indent, " \t") != "" {
				indent = ""
			}
			lines = append(lines, srcLine{indent: indent})
		} else if !(tk.semi && tk.start == tk.end) {
			between := src[prevEnd:tk.start]
			if strings.TrimSpace(between) != "" || strings.Contains(between, "\n") {
				between = " " // a comment
			}
			lines[len(lines)-1].text = append(lines[len(lines)-1].text, between...)
		}
		lines[len(lines)-1].text = append(lines[len(lines)-1].text, tk.text...)
		prevEnd, prevLast = tk.end, tk.last
	}
	return lines
}

// An Edit replaces src[Start:End] with Text.
type Edit struct {
	Start, End int
	Text       string
}

func Apply(src []byte, edits []Edit) ([]byte, error) {
	sort.Slice(edits, func(i, j int) bool { return edits[i].Start > edits[j].Start })
	out := bytes.Clone(src)
	prev := len(src) + 1
	for _, e := range edits {
		if e.Start > e.End || e.End > prev {
			return nil, errors.New("overlapping edits")
		}
		out = append(out[:e.Start:e.Start], append([]byte(e.Text), out[e.End:]...)...)
		prev = e.Start
	}
	return out, nil
}

// Check compares the declarations of two versions of a file: every
// token outside the bodies of the functions named in changed (keys as
// FuncKey writes them) and outside import declarations must be the same
// token at the same line and column. It is the builder's own check of
// what plugin.Open will check with the package fingerprint.
func Check(name string, base, patched []byte, changed, sigs map[string]bool) error {
	type tk struct {
		tok       token.Token
		lit       string
		line, col int
	}
	scan := func(src []byte) ([]tk, error) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		var skip [][2]token.Pos
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					skip = append(skip, [2]token.Pos{d.Pos(), d.End()})
				}
			case *ast.FuncDecl:
				if d.Body != nil && changed[FuncKey(d)] {
					// The closing brace too: where a body ends is not in
					// the export data of a function compiled with -l.
					skip = append(skip, [2]token.Pos{d.Body.Lbrace + 1, d.Body.Rbrace + 1})
				}
				if d.Body != nil && sigs[FuncKey(d)] {
					// An unexported function's parameters are not in the
					// export data either (TestFingerprintFacts).
					skip = append(skip, [2]token.Pos{d.Type.Params.Pos(), d.Body.Lbrace + 1})
				}
			}
		}
		file := fset.File(f.Pos())
		var s scanner.Scanner
		s.Init(file, src, nil, 0)
		var out []tk
	next:
		for {
			pos, t, lit := s.Scan()
			if t == token.EOF {
				return out, nil
			}
			for _, r := range skip {
				if pos >= r[0] && pos < r[1] {
					continue next
				}
			}
			if t == token.SEMICOLON {
				continue // where a line ends is not a declaration's position
			}
			p := file.Position(pos)
			out = append(out, tk{t, lit, p.Line, p.Column})
		}
	}
	a, err := scan(base)
	if err != nil {
		return err
	}
	b, err := scan(patched)
	if err != nil {
		return fmt.Errorf("patched %s does not parse: %v", name, err)
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Errorf("%s: layout of the release not kept: %s at %d:%d became %s at %d:%d", name, a[i].tok, a[i].line, a[i].col, b[i].tok, b[i].line, b[i].col)
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("%s: layout of the release not kept: %d tokens outside changed bodies, now %d", name, len(a), len(b))
	}
	return nil
}

// FuncKey names a function declaration within its package: "F", "T.M",
// "(*T).M", with type parameters of the receiver dropped.
func FuncKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	ptr := false
	if st, ok := t.(*ast.StarExpr); ok {
		ptr, t = true, st.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	name := "?"
	if id, ok := t.(*ast.Ident); ok {
		name = id.Name
	}
	if ptr {
		return "(*" + name + ")." + fd.Name.Name
	}
	return name + "." + fd.Name.Name
}
