package policy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const matchPolicy = `patch_dir: /p
state_dir: /s
allow:
  packages:
    - example.com/app/router
    - example.com/app/billing/...
    - example.com/app/auth
    - example.com/app/authz
    - example.com/app/auth/oauth
    - example.com/app/vault
    - gopkg.in/ini.v1
    - github.com/gohotfix/...
    - net/textproto
    - math
    - sync/...
  types:
    - example.com/app/store.Cache
    - gopkg.in/yaml.v3.Node
  functions:
    - example.com/app/util.parseHeader
    - example.com/app/api.(*Server).handle
    - example.com/app/api.Server.Get
    - example.com/app/auth.Login
    - example.com/app/glob.*
    - gopkg.in/yaml%2ev3.Marshal
    - main.handler
deny:
  packages: [example.com/app/billing/ledger/...]
  types: [example.com/app/router.Admin]
  functions:
    - example.com/app/auth.*
    - example.com/app/router.Login
    - gopkg.in/ini.v1.Load
    - example.com/app/vault.Secret.*
`

func TestPermits(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(matchPolicy), "hotfix.yaml")
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	const notAllowed = ": not in allow (packages, types, functions)"
	tests := []struct {
		name   string
		sym    string
		want   string // "" if allowed, else the reason after "policy: denied: SYM: "
		reason string
	}{
		// packages
		{"package exact", "example.com/app/router.Greet", "", "allow.packages names the package"},
		{"package closure", "example.com/app/router.(*Server).handle.func1", "", "closures go with their function"},
		{"package not below", "example.com/app/router/sub.F", notAllowed, "an exact package does not cover subpackages"},
		{"package not prefix", "example.com/app/routerx.F", notAllowed, "a package is not a string prefix"},
		{"tree root", "example.com/app/billing.Charge", "", "/... covers its root"},
		{"tree below", "example.com/app/billing/invoice.(*Invoice).Total", "", "/... covers everything below"},
		{"tree not prefix", "example.com/app/billingx.F", notAllowed, "/... matches whole elements"},
		{"deny tree", "example.com/app/billing/ledger/entry.Post", `matches deny.packages "example.com/app/billing/ledger/..."`, "deny wins over a wider allow"},
		{"deny tree root", "example.com/app/billing/ledger.Post", `matches deny.packages "example.com/app/billing/ledger/..."`, "and covers its root"},

		// types
		{"type pointer method", "example.com/app/store.(*Cache).Get", "", "types cover pointer methods"},
		{"type value method", "example.com/app/store.Cache.Len", "", "and value methods"},
		{"type method closure", "example.com/app/store.Cache.Len.func2", "", "and their closures"},
		{"type generic", "example.com/app/store.(*Cache[go.shape.string]).Get", "", "and instantiations"},
		{"type not constructor", "example.com/app/store.NewCache", notAllowed, "a type's functions are not its methods"},
		{"type other", "example.com/app/store.(*Other).Get", notAllowed, "only the named type"},
		{"type dotted path", "gopkg.in/yaml%2ev3.(*Node).IsZero", "", "types take the plain import path; symbols the escaped one"},

		// functions
		{"function", "example.com/app/util.parseHeader", "", "allow.functions names it"},
		{"function closure", "example.com/app/util.parseHeader.func1.1", "", "nested closures too"},
		{"function generic", "example.com/app/util.parseHeader[go.shape.int]", "", "instantiations of an allowed generic function"},
		{"function sibling", "example.com/app/util.other", notAllowed, "only the named function"},
		{"function inlined closure", "example.com/app/util.parseHeader.Cut.func1", "", "a closure of an inlined Cut is parseHeader's code (the other reading of the text)"},
		{"pointer method", "example.com/app/api.(*Server).handle", "", "written as (*T).M"},
		{"pointer method as value", "example.com/app/api.Server.handle", "", "a method is one method whichever receiver spelling"},
		{"value method", "example.com/app/api.Server.Get", "", "written as T.M"},
		{"value method wrapper", "example.com/app/api.(*Server).Get", "", "the compiler's (*T).M wrapper of T.M"},
		{"method value", "example.com/app/api.Server.Get-fm", "", "a method value wrapper belongs to the method"},
		{"other method", "example.com/app/api.(*Server).other", notAllowed, "only the named method"},
		{"glob", "example.com/app/glob.F", "", "pkg.* covers functions"},
		{"glob method", "example.com/app/glob.(*T).M.func1", "", "and methods and their closures"},
		{"glob not sub", "example.com/app/glob/sub.F", notAllowed, "but not subpackages"},
		{"escaped function", "gopkg.in/yaml%2ev3.Marshal", "", "gopkg.in/yaml%2ev3.Marshal in allow.functions"},
		{"escaped function wrapper", "gopkg.in/yaml%2ev3.Marshal.deferwrap1", "", "with its defer wrappers"},
		{"escaped sibling", "gopkg.in/yaml%2ev3.Unmarshal", notAllowed, "only Marshal"},
		{"main function", "main.handler", "", "main's functions are listed as main.F"},
		{"main closure", "main.handler.func1", "", "with closures"},
		{"main other", "main.main", notAllowed, "main as a whole is not allowed"},

		// deny
		{"deny glob over allow", "example.com/app/auth.Login", `matches deny.functions "example.com/app/auth.*"`, "deny wins over allow.functions and allow.packages"},
		{"deny glob method", "example.com/app/auth.(*Session).Refresh", `matches deny.functions "example.com/app/auth.*"`, "pkg.* covers methods"},
		{"deny glob closure", "example.com/app/auth.(*Session).Refresh.func1", `matches deny.functions "example.com/app/auth.*"`, "and closures"},
		{"deny glob boundary", "example.com/app/authz.Check", "", "auth.* does not cover package authz"},
		{"deny glob sub", "example.com/app/auth/oauth.Exchange", "", "nor auth/oauth"},
		{"deny type", "example.com/app/router.(*Admin).Reset", `matches deny.types "example.com/app/router.Admin"`, "deny.types wins over allow.packages"},
		{"deny type value", "example.com/app/router.Admin.Name.func1", `matches deny.types "example.com/app/router.Admin"`, "value methods and closures too"},
		{"deny function", "example.com/app/router.Login", `matches deny.functions "example.com/app/router.Login"`, "deny.functions wins over allow.packages"},
		{"deny function closure", "example.com/app/router.Login.func1", `matches deny.functions "example.com/app/router.Login"`, "with closures"},
		{"deny inlined reading", "example.com/app/router.Login.OnceFunc.func1", `matches deny.functions "example.com/app/router.Login"`, "reads as method OnceFunc of a type Login too; deny looks at both readings"},
		{"deny dotted text", "gopkg.in/ini%2ev1.Load", `matches deny.functions "gopkg.in/ini.v1.Load"`, "the entry reads as type v1's method Load, but deny also matches it as text"},
		{"deny dotted sibling", "gopkg.in/ini%2ev1.Empty", "", "allowed by allow.packages gopkg.in/ini.v1"},
		{"deny type glob", "example.com/app/vault.(*Secret).Reveal", `matches deny.functions "example.com/app/vault.Secret.*"`, "a glob over a type's name denies its methods"},
		{"deny type glob sibling", "example.com/app/vault.Open", "", "but nothing else"},

		// built-in
		{"std runtime", "runtime.gopark", `package "runtime" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial)`, "the runtime itself"},
		{"std runtime dep", "internal/bytealg.IndexByte", `package "internal/bytealg" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial)`, "go list -deps runtime"},
		{"std runtime tree", "internal/runtime/maps.(*Map).Get", `package "internal/runtime/maps" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial)`, "internal/runtime/..."},
		{"std runtime sub", "runtime/debug.SetGCPercent", `package "runtime/debug" is bound to the runtime by linkname (built-in denial)`, "runtime/... is not built into the runtime but bound to it"},
		{"std reflect", "reflect.Value.Call", `package "reflect" is entered from assembly stubs and linknamed helpers of the runtime (makeFuncStub, methodValueCall, typedmemmove) (built-in denial)`, "the runtime jumps into it"},
		{"std plugin", "plugin.Open", `package "plugin" is the loader that opens patches (built-in denial)`, "explicitly denied"},
		{"std intrinsic package", "sync/atomic.AddInt32", `package "sync/atomic" holds compiler intrinsics: calls to its functions become instructions and never reach a patch (built-in denial)`, "every function an intrinsic, though allow.packages sync/... covers it"},
		{"std intrinsic function", "math.Floor", "math.Floor is a compiler intrinsic: calls to it become instructions and never reach a patch (built-in denial)", "one function of a package the policy allows"},
		{"std intrinsic sync", "sync.runtime_LoadAcquintptr", "sync.runtime_LoadAcquintptr is a compiler intrinsic: calls to it become instructions and never reach a patch (built-in denial)", "sync is ordinary but for its intrinsics"},
		{"std sync", "sync.(*Mutex).Lock", "", "sync is ordinary code: allow.packages sync/... allows it"},
		{"std runtime code", "sync.runtime_Semacquire", "sync.runtime_Semacquire is the runtime's code under this name (//go:linkname in package runtime): replacing it patches the runtime (built-in denial)", "the runtime implements it for sync"},
		{"std math", "math.Log", "", "math is allowed, but for its intrinsics"},
		{"std allowed", "net/textproto.(*Reader).ReadLine", "", "the standard library is allowed like any package"},
		{"std other", "net/http.(*Server).Serve", notAllowed, "the standard library is allowed like any package"},
		{"std vendor", "vendor/golang.org/x/net/http2/hpack.NewEncoder", notAllowed, "std's vendored packages too"},
		{"hotfix", "github.com/gohotfix/hotfix/patcher.Apply", `package "github.com/gohotfix/hotfix/patcher" is part of hotfix itself (built-in denial)`, "even though allow.packages github.com/gohotfix/... covers it"},
		{"hotfix root", "github.com/gohotfix/hotfix.Start", `package "github.com/gohotfix/hotfix" is part of hotfix itself (built-in denial)`, "the module root"},
		{"hotfix lookalike", "github.com/gohotfix/hotfixer.F", "", "a path prefix is not a package prefix"},

		// not in allow, malformed
		{"unlisted", "example.com/app/unlisted.F", notAllowed, "default deny"},
		{"unescaped dotted symbol", "gopkg.in/yaml.v3.Marshal", notAllowed, "symbols come from the linker, which escapes; this reads as method Marshal of type v3 in gopkg.in/yaml"},
		{"type symbol", "type:.eq.example.com/app/router.T", `malformed function symbol: package path "type:.eq.example.com/app/router" contains ':' (in "type:.eq.example.com/app/router.T")`, "data symbols are not functions"},
		{"empty", "", `malformed function symbol: "" has no package qualifier`, "nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := p.Permits(tt.sym)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil (%s)", tt.sym, err, tt.reason)
				}
				return
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("Check(%q) = %v, want ErrDenied (%s)", tt.sym, err, tt.reason)
			}
			want := "policy: denied: " + tt.sym + ": " + tt.want
			if tt.want == notAllowed {
				want = "policy: denied: " + tt.sym + notAllowed
			}
			if diff := cmp.Diff(want, err.Error()); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got), %s:\n%s", tt.sym, tt.reason, diff)
			}
		})
	}
}

func TestPermitsHandBuilt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		p      *Policy
		sym    string
		want   string
		reason string
	}{
		{
			name:   "nil",
			p:      nil,
			sym:    "example.com/a.F",
			want:   "policy: denied: example.com/a.F: no policy",
			reason: "a nil policy allows nothing",
		},
		{
			name:   "zero",
			p:      &Policy{},
			sym:    "example.com/a.F",
			want:   "policy: denied: example.com/a.F: not in allow (packages, types, functions)",
			reason: "an empty policy allows nothing",
		},
		{
			name:   "invalid allow entry",
			p:      &Policy{Allow: Rules{Packages: []string{"example.com/a", "a b"}}},
			sym:    "example.com/a.F",
			want:   `policy: denied: example.com/a.F: invalid policy: allow.packages: "a b" is not an import path`,
			reason: "entries Parse would refuse deny everything rather than be guessed at",
		},
		{
			name:   "invalid deny entry",
			p:      &Policy{Allow: Rules{Packages: []string{"example.com/a"}}, Deny: Rules{Functions: []string{"example.com/a.F.func1"}}},
			sym:    "example.com/a.G",
			want:   `policy: denied: example.com/a.G: invalid policy: deny.functions: "example.com/a.F.func1" names a closure or wrapper; list "example.com/a.F", which it belongs to`,
			reason: "a broken deny list must not become no deny list",
		},
		{
			name:   "builtin allowed by hand",
			p:      &Policy{Allow: Rules{Packages: []string{"runtime"}}},
			sym:    "runtime.gopark",
			want:   `policy: denied: runtime.gopark: package "runtime" is built into the runtime (go list -deps runtime): its code runs inside the scheduler, the collector and the stop of the world a patch is written in (built-in denial)`,
			reason: "built-in denials hold even where Parse was bypassed",
		},
		{
			name: "allowed",
			p:    &Policy{Allow: Rules{Types: []string{"example.com/a.T"}}},
			sym:  "example.com/a.(*T).M",
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.Permits(tt.sym)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrDenied) {
					t.Errorf("error %v does not wrap ErrDenied", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got), %s:\n%s", tt.sym, tt.reason, diff)
			}
		})
	}
}

func TestNoInlinePatternsHandBuilt(t *testing.T) {
	t.Parallel()
	p := &Policy{Inlining: InliningOff, Allow: Rules{
		Packages:  []string{"example.com/b", "bad path", "example.com/a/...", "example.com/b"},
		Types:     []string{"example.com/c.T", "nodot"},
		Functions: []string{"example.com/c.F", "example.com/d.*", "x.F.func1"},
	}}
	want := []string{"example.com/a/...", "example.com/b", "example.com/c", "example.com/d"}
	if diff := cmp.Diff(want, p.NoInlinePatterns()); diff != "" {
		t.Errorf("NoInlinePatterns mismatch (-want +got); invalid entries are left out:\n%s", diff)
	}
}
