package patchbuild

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"
)

// TestBlankUnusedImports: the struct loses its new field (the line is
// emptied, as shadowEdits does), and the file's imports that nothing
// names any more become blank, on their own lines; the result compiles,
// but where a local's selector looks like the package's: that import is
// kept, and the compiler says it is unused, as it did before.
func TestBlankUnusedImports(t *testing.T) {
	for _, tc := range []struct {
		name, imports, field, body, want string
	}{
		{"only the field's type", `"sync/atomic"`, "pending atomic.Bool", "", `_ "sync/atomic"`},
		{"named import", `at "sync/atomic"`, "pending at.Bool", "", `_ "sync/atomic"`},
		{"path's last element is not the name", `"math/rand/v2"`, "r *rand.Rand", "", `_ "math/rand/v2"`},
		{"used elsewhere", `"sync/atomic"`, "pending atomic.Bool", "var n atomic.Int64; n.Add(1)", `"sync/atomic"`},
		{"a local's selector looks like it: kept", `"sync/atomic"`, "pending atomic.Bool", "atomic := struct{ x int }{}; _ = atomic.x", `"sync/atomic"`},
		{"untouched", `"strings"`, "n int", "_ = strings.ToLower", `"strings"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "package p\n\nimport (\n\t" + tc.imports + "\n)\n\ntype S struct {\n\tName string\n\t" + tc.field + "\n}\n\nfunc F() {\n\t" + tc.body + "\n}\n"
			f, info := typeCheck(t, src)
			edited := strings.Replace(src, "\t"+tc.field+"\n", "\n", 1)
			got, err := blankUnusedImports("p.go", f, info, []byte(edited))
			if err != nil {
				t.Fatal(err)
			}
			if line := strings.Split(string(got), "\n")[3]; line != "\t"+tc.want {
				t.Errorf("import line %q, want %q\n%s", line, "\t"+tc.want, got)
			}
			if strings.Count(string(got), "\n") != strings.Count(src, "\n") {
				t.Errorf("lines moved:\n%s", got)
			}
			if !strings.Contains(tc.name, "looks like") {
				typeCheck(t, string(got))
			}
		})
	}
}

func typeCheck(t *testing.T, src string) (*ast.File, *types.Info) {
	t.Helper()
	return checkFile(t, token.NewFileSet(), src, importer.Default())
}

// checkFile type-checks src as package p's only file.
func checkFile(t *testing.T, fset *token.FileSet, src string, imp types.Importer) (*ast.File, *types.Info) {
	t.Helper()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}, Implicits: map[ast.Node]types.Object{}}
	if _, err := (&types.Config{Importer: imp}).Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return f, info
}
