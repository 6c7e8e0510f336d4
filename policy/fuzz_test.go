package policy

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// FuzzParse checks that Parse never panics, that its errors are ErrInvalid
// and name the file, and that what it accepts keeps the built-in denials and
// survives a trip through yaml.Marshal. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(matchPolicy))
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "/etc/app/hotfix.yaml"
		p, err := Parse(data, path)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "policy: invalid: "+path) {
				t.Fatalf("error %q does not name the file", err)
			}
			if p != nil {
				t.Fatalf("policy returned with error")
			}
			return
		}
		if !filepath.IsAbs(p.PatchDir) || !filepath.IsAbs(p.StateDir) || p.PatchDir == p.StateDir {
			t.Fatalf("dirs %q, %q", p.PatchDir, p.StateDir)
		}
		if p.Limits.MaxPatches <= 0 || p.Limits.MaxFileBytes <= 0 {
			t.Fatalf("limits %+v", p.Limits)
		}
		if len(p.PublicKeys()) != len(p.Trust.Keys) {
			t.Fatalf("%d keys parsed of %d", len(p.PublicKeys()), len(p.Trust.Keys))
		}
		for _, pat := range p.NoInlinePatterns() {
			if why := builtinDenial(strings.TrimSuffix(pat, "/...")); why != "" {
				t.Fatalf("NoInlinePatterns has %q: %s", pat, why)
			}
		}
		for _, sym := range []string{"sync/atomic.AddInt32", "runtime.gopark", "github.com/gohotfix/hotfix/patcher.Apply", "math.Floor", "reflect.Value.Call"} {
			if err := p.Permits(sym); !errors.Is(err, ErrDenied) {
				t.Fatalf("Check(%q) = %v, want a built-in denial", sym, err)
			}
		}
		for _, sym := range []string{"example.com/app/router.Greet", "main.main.func1", "example.com/x.(*T[...]).M-fm"} {
			_ = p.Permits(sym)
		}
		p.BuildFlags()

		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(out, path)
		if err != nil {
			t.Fatalf("Parse(Marshal(p)): %v\n%s", err, out)
		}
		if diff := cmp.Diff(p, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Parse(Marshal(p)) mismatch (-want +got):\n%s", diff)
		}
	})
}
