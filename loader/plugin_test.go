package loader

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestPluginClosureSymbols pins how a plugin names its own copy of a
// function, on the toolchain in use: a global function has a LOCAL alias
// "local.<sym>"; a closure has it too up to Go 1.26, and from Go 1.27 on is
// a static symbol bound LOCAL under its plain name, with no alias and no
// global symbol (so a go:linkname from another package cannot reach it).
// ownCode finds both.
func TestPluginClosureSymbols(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	so := filepath.Join(t.TempDir(), "p.so")
	cmd := exec.Command("go", "build", "-buildmode=plugin", "-trimpath", "-gcflags=-l", "-o", so, "./testdata/closureplugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	f, err := elf.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	binding := map[string]elf.SymBind{}
	var prefix string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && strings.HasSuffix(s.Name, ".Make.func1") && s.Section != elf.SHN_UNDEF {
			binding[s.Name] = elf.ST_BIND(s.Info)
			prefix = strings.TrimSuffix(strings.TrimPrefix(s.Name, "local."), ".Make.func1")
		}
	}
	closure := prefix + ".Make.func1"
	static := !strings.HasPrefix(runtime.Version(), "go1.26")
	if static {
		if b, ok := binding[closure]; !ok || b != elf.STB_LOCAL || len(binding) != 1 {
			t.Errorf("%s: closure symbols %v, want only %s bound LOCAL", runtime.Version(), binding, closure)
		}
	} else if b, ok := binding["local."+closure]; !ok || b != elf.STB_LOCAL {
		t.Errorf("%s: closure symbols %v, want local.%s bound LOCAL", runtime.Version(), binding, closure)
	}
	has, err := PluginCode(so, []string{prefix + ".Make", closure, prefix + ".Absent"})
	if err != nil {
		t.Fatal(err)
	}
	if !has[prefix+".Make"] || !has[closure] || has[prefix+".Absent"] {
		t.Errorf("PluginCode = %v, want Make and its closure, not Absent", has)
	}
	t.Logf("%s: %v", runtime.Version(), binding)
}
