package loader

import (
	"runtime/debug"
	"strings"
	"testing"
)

// Issue 22: names a patch file brings (targets, symbols, module paths,
// versions) reach the ledger's reasons, logs and the CLI through these
// errors: they are escaped there, not left to each printer.
func TestErrorsEscapeFileStrings(t *testing.T) {
	t.Parallel()
	const evil = "x\x1b[2J\u202e\xff"
	const shown = `"x\x1b[2J\u202e\xff"`
	bin := &Binary{img: &image{funcs: map[string]uint64{}, info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/app"}}}}
	anchor := testManifest()
	anchor.Anchor = evil
	target := testManifest()
	target.Targets = []Target{{Name: evil}}
	withAnchor := &image{objects: map[string]uint64{target.PluginPath + "." + target.Anchor: 1}}
	binInfo := bin.BuildInfo()
	tests := []struct {
		name, reason string
		err          func() error
	}{
		{"anchor", "the anchor symbol is named by the manifest", func() error {
			return (&Patch{File: &File{Manifest: anchor}, plugImg: &image{}}).Resolve(bin)
		}},
		{"target", "a target the binary lacks is named by the manifest", func() error {
			return (&Patch{File: &File{Manifest: target}, plugImg: withAnchor}).Resolve(bin)
		}},
		{"go version", "the patch's build information is in the file", func() error {
			return compatible(&debug.BuildInfo{GoVersion: evil}, binInfo)
		}},
		{"setting", "so are its build settings", func() error {
			return compatible(&debug.BuildInfo{GoVersion: binInfo.GoVersion, Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: evil}}}, binInfo)
		}},
		{"main module", "and its main module", func() error {
			return compatible(&debug.BuildInfo{GoVersion: binInfo.GoVersion, Main: debug.Module{Path: evil}}, binInfo)
		}},
		{"dependency", "and the versions of its dependencies", func() error {
			b := *binInfo
			b.Deps = []*debug.Module{{Path: "m", Version: "v1"}}
			return compatible(&debug.BuildInfo{GoVersion: b.GoVersion, Main: b.Main, Deps: []*debug.Module{{Path: "m", Version: evil}}}, &b)
		}},
		{"package", "package paths come from the patch's symbol table", func() error {
			return samePackages(map[string]string{evil: "1"}, map[string]string{evil: "2"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err()
			if err == nil {
				t.Fatalf("no error (%s)", tt.reason)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\x1b\u202e\xff") || !strings.Contains(msg, shown[1:len(shown)-1]) {
				t.Errorf("error %q: want the name escaped as %s (%s)", msg, shown, tt.reason)
			}
		})
	}
	p := &Patch{File: &File{Manifest: Manifest{ID: "p", Version: evil}}, Path: "dir/" + evil}
	if s := p.String(); strings.ContainsAny(s, "\x1b\u202e\xff") {
		t.Errorf("Patch.String() = %q holds the raw bytes", s)
	}
}
