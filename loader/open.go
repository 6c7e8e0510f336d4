package loader

import (
	"fmt"
	"plugin"
	"reflect"
	"runtime"
	"runtime/debug"
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
	// A new file renamed over the name: whatever was planted there is
	// replaced, not trusted. Only this service's user (or root) can change
	// the private dir between here and plugin.Open.
	name, err := writePrivate(dir, p.Manifest.ID+"-"+p.SHA256[:16]+".so", p.ELF)
	if err != nil {
		return nil, errorf(ErrOpen, "private copy: %v", err)
	}
	// From here on the bytes live in the page cache and, once opened, in
	// the mapping: drop the heap copy and the symbol tables before the
	// dynamic loader maps the file, so the two never add up in the peak.
	anchor := p.plugImg.objects[p.Manifest.PluginPath+"."+p.Manifest.Anchor]
	p.ELF = nil
	p.plugImg = nil
	debug.FreeOSMemory()
	plug, err := plugin.Open(name)
	if err != nil {
		return nil, errorf(ErrOpen, "plugin.Open: %v", err)
	}
	sym, err := plug.Lookup(p.Manifest.Anchor)
	if err != nil {
		return nil, errorf(ErrOpen, "lookup %s: %v", p.Manifest.Anchor, err)
	}
	base := reflect.ValueOf(sym).Pointer() - uintptr(anchor)
	l := &Loaded{Patch: p, File: name}
	for _, f := range p.Funcs {
		f.To = base + uintptr(f.PluginAddr)
		// Cross-check the address against the runtime's own table of the
		// new module: a wrong base would send calls into the wrong code.
		rf := runtime.FuncForPC(f.To)
		if rf == nil || rf.Entry() != f.To || rf.Name() != f.PluginName {
			got := "nothing"
			if rf != nil {
				got = fmt.Sprintf("%s+%#x", rf.Name(), f.To-rf.Entry())
			}
			return nil, errorf(ErrOpen, "%s: new code resolved to %s", f.Name, got)
		}
		l.Funcs = append(l.Funcs, f)
	}
	return l, nil
}
