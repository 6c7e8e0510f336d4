package patchbuild

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gohotfix/hotfix/loader"
)

// flagsHint explains the self-check's refusal err when it is a package
// fingerprint (loader.PackageError) of a package the patch compiled from
// the release's own source (changed says which it did not): then the
// export data can differ only by the flags it was compiled with, and the
// release was built with other -gcflags for it than the patch's flags.
// The build settings cannot show that when the difference is in an
// earlier -gcflags than the last, the only one the build information
// keeps (loader's TestGcflagsFacts). It returns "" for any other error or
// package, whose cause is the source: the callers' own hints then apply.
func flagsHint(err error, flags []string, changed func(pkg string) bool) string {
	var pe *loader.PackageError
	if !errors.As(err, &pe) || changed(pe.Package) {
		return ""
	}
	v, gerr := gcflagsFor(flags, pe.Package)
	given := fmt.Sprintf("-gcflags=%s", v)
	switch {
	case gerr != nil:
		given = "-gcflags that depend on the directory"
	case v == "":
		given = "no -gcflags"
	}
	var gcflags []string
	for _, f := range flags {
		if strings.HasPrefix(strings.TrimLeft(f, "-"), "gcflags") {
			gcflags = append(gcflags, f)
		}
	}
	return fmt.Sprintf("%s is compiled from the release's own source, and this build gave it %s (this build's -gcflags: %s): the release was built with other -gcflags for it. Its build information shows only the last -gcflags, so an earlier one that differs is found here: build the release with exactly `hotfix flags` under this policy.",
		pe.Package, given, strings.Join(gcflags, " "))
}

// compiles reports whether the patch compiles pkg from anything but the
// release's own files: a package with targets, a rebuilt one, one with a
// changed generic function, or the main package when its functions
// changed. Any other package of the patch is the release's source.
func (p *Plan) compiles(pkg string) bool {
	if p == nil {
		return true
	}
	if p.mainPkg != nil && pkg == p.Main {
		return true
	}
	for _, q := range p.pkgs {
		if q == pkg {
			return true
		}
	}
	for _, r := range p.rebuilt {
		if r.path == pkg {
			return true
		}
	}
	for _, g := range p.generics {
		if g.pkg == pkg {
			return true
		}
	}
	return false
}
