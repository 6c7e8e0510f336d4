package patchbuild

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
)

// crossCC is the C cross compiler Debian names for each GOARCH hotfix
// patches (gcc-aarch64-linux-gnu, gcc-x86-64-linux-gnu): a plugin needs
// cgo, and the go command turns cgo off when it cross-compiles without a
// CC (cmd/go/internal/cfg: CGO_ENABLED defaults to 0 then).
var crossCC = map[string]string{"arm64": "aarch64-linux-gnu-gcc", "amd64": "x86_64-linux-gnu-gcc"}

// archEnv is the environment the go commands of a patch build need to
// build for the release's architecture. From the release binary's build
// information when there is one (bi): its GOARCH, CGO_ENABLED and
// architecture level (GOAMD64, GOARM64), which the patch must share or the
// agent refuses it. Without a binary, from GOARCH as the caller set it.
// When that architecture is not the build machine's (hostArch) and CC is
// not set, it names the cross C compiler, and says how to get it when it
// is missing (lookPath fails). getenv reads the caller's environment.
func archEnv(bi *debug.BuildInfo, hostArch string, getenv func(string) string, lookPath func(string) (string, error)) ([]string, error) {
	var env []string
	goarch := getenv("GOARCH")
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOARCH", "CGO_ENABLED", "GOAMD64", "GOARM64":
				if getenv(s.Key) != s.Value {
					env = append(env, s.Key+"="+s.Value)
				}
			}
			if s.Key == "GOARCH" {
				goarch = s.Value
			}
		}
	}
	if goarch == "" || goarch == hostArch || getenv("CC") != "" {
		return env, nil
	}
	cc, ok := crossCC[goarch]
	if !ok {
		return nil, fmt.Errorf("the release is built for GOARCH=%s: hotfix patches amd64 and arm64", goarch)
	}
	if _, err := lookPath(cc); err != nil {
		return nil, fmt.Errorf("the release is built for GOARCH=%s and this machine is %s: its patch needs cgo, so a C cross compiler: install %s (Debian: gcc-%s), or set CC", goarch, hostArch, cc, debianGCC(goarch))
	}
	if getenv("CGO_ENABLED") == "" && !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "CGO_ENABLED=") }) {
		env = append(env, "CGO_ENABLED=1")
	}
	return append(env, "CC="+cc), nil
}

func debianGCC(goarch string) string {
	return map[string]string{"arm64": "aarch64-linux-gnu", "amd64": "x86-64-linux-gnu"}[goarch]
}

// useArch sets the process environment for every go command of this build
// (as useHostToolchain does for GOTOOLCHAIN): the release's architecture,
// and a cross C compiler when it is not this machine's.
func useArch(opt Options, bi *debug.BuildInfo) error {
	env, err := archEnv(bi, runtime.GOARCH, os.Getenv, exec.LookPath)
	if err != nil {
		return err
	}
	for _, kv := range env {
		fmt.Fprintf(opt.Log, "building for the release's architecture: %s\n", kv)
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}
