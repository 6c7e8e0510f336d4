package patchbuild

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// A package-level object the fix removes stays in the release, and the
// release's code keeps calling its own (diff.go notes it). But a package
// the patch compiles from the release's own source, because the plugin
// imports it, is compiled against the fix's copy of the object's package,
// which lacks it: the compile fails (helm v4's fix of GO-2026-5666
// removes internal/plugin.LoadAll, which the release's pkg/cmd calls).
// removedInUse turns that compile error into a refusal that names the
// object, its user and what the fix author can do.

// undefinedLine is a compiler error for a name a package lacks, under the
// go command's "# import/path" header: "file.go:65:25: undefined: plugin.LoadAll".
var undefinedLine = regexp.MustCompile(`^(\S+:\d+(?::\d+)?): undefined: (\w+)\.(\w+)$`)

// removedInUse returns the refusal for a build error err whose cause is
// the use, by a package the patch compiles from the release's source, of
// an object the fix removed; nil for any other error.
func removedInUse(err error, p *Plan) error {
	if err == nil || p == nil {
		return nil
	}
	removed := map[string]string{} // "pkgname.Name" -> the object's full name
	for _, n := range p.Notes {
		if n.Rule == "package-level object removed" || n.Rule == "package-level variable removed" {
			pkg, name := splitObject(n.Object)
			removed[pkgName(pkg)+"."+name] = n.Object
		}
	}
	var refusals []error
	user := ""
	for _, l := range strings.Split(err.Error(), "\n") {
		if h, ok := strings.CutPrefix(l, "# "); ok {
			user = strings.TrimSpace(h)
			continue
		}
		m := undefinedLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || user == "" || p.compiles(user) {
			continue
		}
		if obj, ok := removed[m[2]+"."+m[3]]; ok {
			refusals = append(refusals, fmt.Errorf("%w: %s: %s: package-level object removed, but %s, which the patch compiles from the release's own source, uses it: keep %s in the fix, or change its users in %s in the same fix",
				ErrRefused, m[1], obj, user, m[3], user))
		}
	}
	return errors.Join(refusals...)
}

// splitObject splits a removed object's name into its package's import
// path and its name, which has no dot (a function, variable, constant or
// type): "gopkg.in/yaml.v3.Old" -> "gopkg.in/yaml.v3", "Old".
func splitObject(obj string) (string, string) {
	dot := strings.LastIndex(obj, ".")
	if dot < 0 {
		return obj, ""
	}
	return obj[:dot], obj[dot+1:]
}

// pkgName is the name a package is most likely imported by: the last
// element of its path, without a major version (yaml.v3, x/v2).
func pkgName(importPath string) string {
	base := path.Base(importPath)
	if isMajor(base) {
		base = path.Base(path.Dir(importPath))
	}
	if i := strings.LastIndex(base, ".v"); i > 0 && isMajor(base[i+1:]) {
		base = base[:i]
	}
	return base
}

func isMajor(s string) bool {
	return len(s) > 1 && s[0] == 'v' && strings.Trim(s[1:], "0123456789") == ""
}
