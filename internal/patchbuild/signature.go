package patchbuild

import (
	"fmt"
	"go/ast"
	"go/token"
	"sort"
	"strings"
)

// An unexported function's signature is not in its package's export data
// (TestFingerprintFacts), and calls between functions of a patched package
// bind to the plugin's own copies (DESIGN, facts). So when every caller of
// such a function is itself replaced, the patch can carry the function
// with its new signature: the new callers call the new copy, and the
// release's function is left as it is, never redirected, for the old code
// still running (a goroutine inside an old caller calls the old one, with
// the old arguments).

// newSignature takes the function under key k, whose signature changed, as
// a candidate; checkSignatures decides once every change is known.
func (d *pkgDiff) newSignature(k string, bf, ff *funcDecl) bool {
	if strings.Contains(k, ".") || ff.decl.Name.IsExported() || d.main || bf.obj == nil || ff.obj == nil ||
		bf.decl.Body == nil || ff.decl.Body == nil || bf.decl.Type.TypeParams != nil || ff.decl.Type.TypeParams != nil ||
		directives([]*ast.CommentGroup{bf.decl.Doc}) != directives([]*ast.CommentGroup{ff.decl.Doc}) {
		return false
	}
	d.sigCands = append(d.sigCands, &change{key: k, b: bf, f: ff, own: true, sig: true})
	return true
}

// checkSignatures keeps the candidates every caller of which is replaced
// (or is another candidate), and refuses the others, naming a caller that
// is not.
func (d *pkgDiff) checkSignatures() {
	if len(d.sigCands) == 0 {
		return
	}
	replaced := map[string]bool{}
	for _, c := range d.changed {
		replaced[c.key] = true
	}
	for _, c := range d.sigCands {
		replaced[c.key] = true
	}
	callers := d.referrers()
	for _, c := range d.sigCands {
		var other []string
		for _, r := range callers[c.key] {
			if !replaced[r] {
				other = append(other, r)
			}
		}
		if len(other) > 0 {
			sort.Strings(other)
			d.refuse(d.f.pos(c.f.decl.Name.Pos()), d.sym(c.key), "signature changed",
				"unexported, but used by "+strings.Join(other, ", ")+", which the patch does not replace: it would call the old function with the new arguments")
			continue
		}
		d.changed = append(d.changed, c)
	}
}

// referrers maps each function of the fix (by key) to the keys of the
// package-level declarations that refer to it ("" for a variable or other
// non-function declaration).
func (d *pkgDiff) referrers() map[string][]string {
	byObj := map[any]string{}
	for k, fd := range d.f.funcs {
		if fd.obj != nil {
			byObj[fd.obj] = k
		}
	}
	out := map[string][]string{}
	for _, file := range d.f.pkg.Syntax {
		for _, decl := range file.Decls {
			from := ""
			if fd, ok := decl.(*ast.FuncDecl); ok {
				from = funcKey(fd)
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					if k, ok := byObj[d.f.info().Uses[id]]; ok && k != from {
						out[k] = append(out[k], from)
					}
				}
				return true
			})
		}
	}
	return out
}

// signatureEdit puts the fix's parameters and results in place of the
// release's, on as many lines, so that nothing after them moves.
func (d *pkgDiff) signatureEdit(tf *token.File, c *change) (edit, error) {
	from, to := tf.Offset(c.b.decl.Type.Params.Pos()), tf.Offset(c.b.decl.Body.Lbrace)
	ff := d.f.pkg.Fset.File(c.f.file.Pos())
	text := string(d.f.src[c.f.file][ff.Offset(c.f.decl.Type.Params.Pos()):ff.Offset(c.f.decl.Body.Lbrace)])
	old := string(d.b.src[c.b.file][from:to])
	if strings.Count(text, "\n") != strings.Count(old, "\n") {
		return edit{}, fmt.Errorf("the new signature takes %d line(s), the release's %d: write it on as many", strings.Count(text, "\n")+1, strings.Count(old, "\n")+1)
	}
	return edit{from, to, text}, nil
}
