package patchbuild

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"

	"github.com/gohotfix/hotfix/internal/patchbuild/layout"
)

// blankUnusedImports makes each import that f's edited source src no
// longer names a blank import, on its own line: a new field leaves its
// struct (shadow state), and its type may have been the file's only use
// of a package (x/crypto/ssh's fix for GO-2026-5023 adds an atomic.Bool
// field to a file that used sync/atomic for nothing else). The compiler
// refuses an import a file does not use; a blank one keeps the package's
// imports, and their initialization order, as they were. A name that only
// looks like the package's (a local variable's selector) keeps it, and so
// does a dot import.
func blankUnusedImports(name string, f *ast.File, info *types.Info, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	edited, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	named := map[string]bool{}
	ast.Inspect(edited, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				named[id.Name] = true
			}
		}
		return true
	})
	if len(edited.Imports) != len(f.Imports) {
		return src, nil // the edits never touch imports; nothing to match them by
	}
	tf := fset.File(edited.Pos())
	var edits []layout.Edit
	for i, is := range edited.Imports {
		pn := info.PkgNameOf(f.Imports[i])
		if pn == nil || pn.Name() == "_" || pn.Name() == "." || pn.Imported().Path() == "C" || named[pn.Name()] {
			continue
		}
		if is.Name != nil {
			edits = append(edits, layout.Edit{Start: tf.Offset(is.Name.Pos()), End: tf.Offset(is.Name.End()), Text: "_"})
		} else {
			at := tf.Offset(is.Path.Pos())
			edits = append(edits, layout.Edit{Start: at, End: at, Text: "_ "})
		}
	}
	return layout.Apply(src, edits)
}
