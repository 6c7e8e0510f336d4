package patchbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// compareModules compares the go.mod files of the two trees. The patch is
// built in the release's tree, with the release's go.mod: what a changed
// requirement brings (a dependency's fix by version bump, a replaced copy)
// reaches the patch only as changed files of linked packages, which are
// compared like the module's own. So requirement changes are noted, and
// only what changes how every package compiles or runs is refused: the
// module path, the go and toolchain lines (language semantics) and godebug
// settings (runtime behaviour the release was started with).
func (a *analysis) compareModules() {
	var mf [2]*modfile.File
	for i, root := range []string{a.in.Base, a.in.Fix} {
		path := filepath.Join(root, "go.mod")
		data, err := os.ReadFile(path)
		if err == nil {
			mf[i], err = modfile.Parse(path, data, nil)
		}
		if err != nil {
			a.refuse(Finding{Pos: "go.mod", Object: a.module, Rule: "module changed", Detail: err.Error()})
			return
		}
	}
	refusals, notes := moduleChanges(mf[0], mf[1])
	for _, d := range refusals {
		a.refuse(Finding{Pos: "go.mod", Object: a.module, Rule: "module changed", Detail: d})
	}
	for _, d := range notes {
		a.note(Finding{Pos: "go.mod", Object: a.module, Rule: "requirement changed", Detail: d})
	}
	if len(refusals) == 0 {
		a.addRequirements(mf[0], mf[1])
	}
}

// addRequirements gives the patch's build the modules the fix requires and
// the release does not, when a package of the fix's build comes from one
// (podman's GO-2023-1681 fix reaches json-iterator through a package of a
// module the release already has): the release's go.mod with those
// requirements (and their replace lines) added, and its go.sum with the
// fix's lines, as overlays.
// Nothing else of the fix's go.mod is taken: a version it changes stays
// the release's, whose packages the host runs.
func (a *analysis) addRequirements(b, f *modfile.File) {
	if _, err := os.Stat(filepath.Join(a.in.Base, "vendor", "modules.txt")); err == nil {
		return // a vendored build lists its modules in vendor/modules.txt
	}
	used := map[string]bool{}
	for _, p := range a.fix {
		if p.Module != nil {
			used[p.Module.Path] = true
		}
	}
	br := requires(b)
	mod, err := modfile.Parse("go.mod", modfile.Format(b.Syntax), nil)
	if err != nil {
		return
	}
	added := 0
	for _, r := range f.Require {
		if br[r.Mod.Path] != "" || !used[r.Mod.Path] {
			continue
		}
		mod.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
		added++
		for _, rp := range f.Replace {
			if rp.Old.Path != r.Mod.Path {
				continue
			}
			to := rp.New.Path
			if rp.New.Version == "" && !filepath.IsAbs(to) {
				to = filepath.Join(a.in.Fix, to) // a directory of the fix's tree
			}
			_ = mod.AddReplace(rp.Old.Path, rp.Old.Version, to, rp.New.Version)
		}
	}
	if added == 0 {
		return
	}
	mod.Cleanup()
	gomod, err := mod.Format()
	if err != nil {
		return
	}
	bsum, _ := os.ReadFile(filepath.Join(a.in.Base, "go.sum"))
	fsum, _ := os.ReadFile(filepath.Join(a.in.Fix, "go.sum"))
	if a.plan.overlays == nil {
		a.plan.overlays = map[string][]byte{}
	}
	a.plan.overlays[filepath.Join(a.in.Base, "go.mod")] = gomod
	a.plan.overlays[filepath.Join(a.in.Base, "go.sum")] = mergeSums(bsum, fsum)
}

// mergeSums is the lines of both go.sum files, each once, sorted.
func mergeSums(a, b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(a))+"\n"+strings.TrimSpace(string(b)), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" })
	slices.Sort(lines)
	return []byte(strings.Join(slices.Compact(lines), "\n") + "\n")
}

// moduleChanges lists what differs between two go.mod files: the changes
// a patch cannot carry, and the requirement changes it carries through
// the changed packages.
func moduleChanges(b, f *modfile.File) (refusals, notes []string) {
	line := func(what, x, y string) {
		if x != y {
			refusals = append(refusals, fmt.Sprintf("%s changed: %q -> %q", what, x, y))
		}
	}
	line("module path", b.Module.Mod.Path, f.Module.Mod.Path)
	line("go line (language version)", goLine(b), goLine(f))
	line("toolchain line", toolchainLine(b), toolchainLine(f))
	line("godebug settings", godebugs(b), godebugs(f))
	br, fr := requires(b), requires(f)
	for _, p := range unionKeys(br, fr) {
		switch {
		case br[p] == "":
			notes = append(notes, fmt.Sprintf("%s %s added: used only if a changed package imports it", p, fr[p]))
		case fr[p] == "":
			notes = append(notes, fmt.Sprintf("%s %s removed: the release keeps it", p, br[p]))
		case br[p] != fr[p]:
			notes = append(notes, fmt.Sprintf("%s %s -> %s: its linked packages are compared", p, br[p], fr[p]))
		}
	}
	bp, fp := replaces(b), replaces(f)
	for _, p := range unionKeys(bp, fp) {
		if bp[p] != fp[p] {
			notes = append(notes, fmt.Sprintf("replace %s: %s -> %s: its linked packages are compared", p, orNone(bp[p]), orNone(fp[p])))
		}
	}
	return refusals, notes
}

func goLine(f *modfile.File) string {
	if f.Go == nil {
		return ""
	}
	return f.Go.Version
}

func toolchainLine(f *modfile.File) string {
	if f.Toolchain == nil {
		return ""
	}
	return f.Toolchain.Name
}

func godebugs(f *modfile.File) string {
	var s []string
	for _, g := range f.Godebug {
		s = append(s, g.Key+"="+g.Value)
	}
	slices.Sort(s)
	return fmt.Sprint(s)
}

func requires(f *modfile.File) map[string]string {
	m := map[string]string{}
	for _, r := range f.Require {
		m[r.Mod.Path] = r.Mod.Version
	}
	return m
}

func replaces(f *modfile.File) map[string]string {
	m := map[string]string{}
	for _, r := range f.Replace {
		m[r.Old.String()] = r.New.String()
	}
	return m
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
