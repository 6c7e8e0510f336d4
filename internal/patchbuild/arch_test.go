package patchbuild

import (
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestArchEnv: the patch of a release is built for the release's
// architecture, with a C cross compiler when it is not this machine's.
// The compiler is looked up for real on PATH: the cross case needs Debian's
// gcc-aarch64-linux-gnu (make test-arm64 installs it), the missing case an
// empty PATH.
func TestArchEnv(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Skip("no aarch64-linux-gnu-gcc on PATH (make test-arm64 installs it)")
	}
	arm64Bin := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "CGO_ENABLED", Value: "1"}, {Key: "GOARCH", Value: "arm64"}, {Key: "GOOS", Value: "linux"}, {Key: "GOARM64", Value: "v8.0"}}}
	amd64Bin := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "CGO_ENABLED", Value: "1"}, {Key: "GOARCH", Value: "amd64"}, {Key: "GOOS", Value: "linux"}, {Key: "GOAMD64", Value: "v1"}}}
	tests := []struct {
		name   string
		bi     *debug.BuildInfo
		host   string
		env    map[string]string
		want   []string
		reason string
	}{
		{"arm64 release on amd64", arm64Bin, "amd64", nil,
			[]string{"CGO_ENABLED=1", "GOARCH=arm64", "GOARM64=v8.0", "CC=aarch64-linux-gnu-gcc"}, "the go command would turn cgo off, and plugins need it"},
		{"arm64 release on arm64", arm64Bin, "arm64", nil,
			[]string{"CGO_ENABLED=1", "GOARCH=arm64", "GOARM64=v8.0"}, "native: the machine's gcc"},
		{"CC set by the caller", arm64Bin, "amd64", map[string]string{"CC": "clang --target=aarch64-linux-gnu"},
			[]string{"CGO_ENABLED=1", "GOARCH=arm64", "GOARM64=v8.0"}, "the caller's compiler wins"},
		{"amd64 release, GOARCH=arm64 exported", amd64Bin, "amd64", map[string]string{"GOARCH": "arm64"},
			[]string{"CGO_ENABLED=1", "GOARCH=amd64", "GOAMD64=v1"}, "the binary decides, not a stray GOARCH"},
		{"no binary, GOARCH=arm64", nil, "amd64", map[string]string{"GOARCH": "arm64"},
			[]string{"CGO_ENABLED=1", "CC=aarch64-linux-gnu-gcc"}, "hotfix build -base REV with GOARCH set"},
		{"no binary, native", nil, "amd64", nil, nil, "nothing to change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := archEnv(tt.bi, tt.host, func(k string) string { return tt.env[k] }, exec.LookPath)
			if err != nil {
				t.Fatalf("archEnv: %v (%s)", err, tt.reason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("archEnv (-want +got) (%s):\n%s", tt.reason, diff)
			}
		})
	}
	t.Run("no cross compiler", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := archEnv(arm64Bin, "amd64", func(string) string { return "" }, exec.LookPath)
		want := "the release is built for GOARCH=arm64 and this machine is amd64: its patch needs cgo, so a C cross compiler: install aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu), or set CC"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("archEnv = %v, want %q", err, want)
		}
	})
}

func TestBuiltFrom(t *testing.T) {
	const rev = "dd10fcfb83fa0000000000000000000000000000"
	bi := func(kv ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return b
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string // in the error; "" for none
	}{
		{"the release, clean", bi("vcs.revision", rev, "vcs.modified", "false"), ""},
		{"no version control information", bi(), ""},
		{"another revision", bi("vcs.revision", "0123456789ab0000000000000000000000000000", "vcs.modified", "false"), "built from revision 0123456789ab, not the release dd10fcfb83fa"},
		{"a modified tree", bi("vcs.revision", rev, "vcs.modified", "true"), "built from a modified tree at dd10fcfb83fa"},
		{"no build information", nil, ""},
	} {
		err := builtFrom(tc.bi, rev)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRecordedMain(t *testing.T) {
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{Path: "example.com/shop/cmd/shop"}, "example.com/shop/cmd/shop"},
		{&debug.BuildInfo{Path: "command-line-arguments"}, ""}, // go build main.go
		{&debug.BuildInfo{}, ""},
		{nil, ""},
	} {
		if got := recordedMain(tc.bi); got != tc.want {
			t.Errorf("recordedMain(%+v) = %q, want %q", tc.bi, got, tc.want)
		}
	}
}
