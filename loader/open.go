package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"plugin"
	"reflect"
	"runtime"
	"strings"

	"github.com/gohotfix/hotfix/internal/printable"
)

// Loaded is an opened patch: its code is mapped and initialized, and every
// Func has its To address. Plugins never unload, so neither does this.
type Loaded struct {
	Patch *Patch
	Funcs []Func
	File  string // the private copy that was opened
}

// Open writes the verified ELF bytes of p to a private copy in dir (created
// with mode 0700, owned by this process's user, in a parent nobody else
// can write) and opens that copy with plugin.Open: the bytes that run
// are the bytes Inspect checked, whatever happens to the original file.
// This is the first point where code from the patch runs (its package
// init functions). A patch must be opened at most once per process.
func Open(p *Patch, dir string) (*Loaded, error) {
	if err := privateDir(dir); err != nil {
		return nil, errorf(ErrOpen, "private dir: %v", err)
	}
	name, err := p.private(dir)
	if err != nil {
		return nil, errorf(ErrOpen, "private copy: %v", err)
	}
	anchor := p.plugImg.objects[p.Manifest.PluginPath+"."+p.Manifest.Anchor]
	p.plugImg = nil
	plug, err := plugin.Open(name)
	if err != nil {
		removeIfUnmapped(name)
		// The runtime's message names packages of the patch.
		return nil, errorf(ErrOpen, "plugin.Open: %s", printable.String(err.Error()))
	}
	sym, err := plug.Lookup(p.Manifest.Anchor)
	if err != nil {
		return nil, errorf(ErrOpen, "lookup %s: %s", printable.String(p.Manifest.Anchor), printable.String(err.Error()))
	}
	base := reflect.ValueOf(sym).Pointer() - uintptr(anchor)
	l := &Loaded{Patch: p, File: name}
	for _, f := range p.Funcs {
		f.To = base + uintptr(f.PluginAddr)
		// Cross-check the address against the runtime's own table of the
		// new module: a wrong base would send calls into the wrong code.
		rf := runtime.FuncForPC(f.To)
		if rf == nil || rf.Entry() != f.To || rf.Name() != nameForPrint(f.PluginName) {
			got := "nothing"
			if rf != nil {
				got = fmt.Sprintf("%s+%#x", printable.String(rf.Name()), f.To-rf.Entry())
			}
			return nil, errorf(ErrOpen, "%s: new code resolved to %s", printable.String(f.Name), got)
		}
		l.Funcs = append(l.Funcs, f)
	}
	return l, nil
}

// private returns the path of a private copy of the checked bytes in dir,
// under a name of its own: the copy ReadPatch made, renamed, or a new one.
// A new file renamed over the name: whatever was planted there is
// replaced, not trusted. Only this service's user (or root) can change the
// private dir between here and plugin.Open.
func (p *Patch) private(dir string) (string, error) {
	name := filepath.Join(dir, p.Manifest.ID+"-"+p.SHA256[:16]+".so")
	if p.stage == nil || filepath.Dir(p.stage.Name()) != filepath.Clean(dir) {
		return writePrivate(dir, filepath.Base(name), p.ELF())
	}
	stage := p.stage
	p.stage = nil // Open has it now: Close must not remove it
	defer stage.Close()
	return renamePrivate(stage, name)
}

// removeStaged removes the copies in dir that were staged and never
// renamed for plugin.Open: nothing maps them.
func removeStaged(dir string) error {
	names, _ := filepath.Glob(filepath.Join(dir, stagePrefix+"*"))
	var first error
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// nameForPrint is the name runtime.Func.Name reports for a function
// symbol: type arguments, from the first '[' to the last ']', print as
// "[...]" (runtime/symtab.go, funcNamePiecesForPrint).
func nameForPrint(name string) string {
	i := strings.IndexByte(name, '[')
	j := strings.LastIndexByte(name, ']')
	if i < 0 || j <= i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}
