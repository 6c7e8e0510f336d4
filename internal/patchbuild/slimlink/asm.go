package slimlink

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// asmID marks the assembler's identity under this -toolexec program, as
// compileID does the compiler's: the go command keys a package's cache
// entry by it, so an archive holding an object assemble made without
// -dynlink is never taken by a build that runs without this program.
const asmID = " +hotfix-asm-unlinkable-1"

// dynlinkRejects is how the assembler refuses code -dynlink cannot
// assemble (cmd/internal/obj/x86/obj6.go: R15 used after a global
// access, which -dynlink makes through R15).
const dynlinkRejects = "when dynamic linking"

// objFlagUnlinkable is cmd/internal/goobj.ObjFlagUnlinkable: the linker
// refuses to load an object with it ("unlinkable object").
const objFlagUnlinkable = 1 << 3

// assemble runs the assembler as asked. Where -dynlink rejects the
// package's assembly, it assembles it without and marks the object
// unlinkable: a plugin compiles every package it imports, also those a
// slim link leaves hollow, whose objects it never reads. A link that
// does read the object fails (linkable names the package first).
func assemble(args []string) int {
	if slices.Contains(args[1:], "-V=full") {
		return markedVersion(args, asmID)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte(dynlinkRejects)) || !slices.Contains(args[1:], "-dynlink") {
		os.Stderr.Write(out)
		return exitCode(err)
	}
	plain := slices.DeleteFunc(slices.Clone(args[1:]), func(a string) bool { return a == "-dynlink" || a == "-shared" })
	if again, err := exec.Command(args[0], plain...).CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Stderr.Write(again)
		return exitCode(err)
	}
	// Said on success too: when a later step of the same go command
	// fails (linkable's refusal), it shows this under the package's
	// name. (A cached package's is not shown again.)
	fmt.Fprintf(os.Stderr, "hotfix toolexec: assembled without -dynlink, which rejects it; no plugin can link this object:\n%s", out)
	if slices.Contains(plain, "-gensymabis") {
		return 0 // symbol ABIs, not an object: the same either way
	}
	if err := markUnlinkable(outputOf(plain)); err != nil {
		fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
		return 2
	}
	return 0
}

func outputOf(args []string) string {
	if i := slices.Index(args, "-o"); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "hotfix toolexec:", err)
	return 2
}

// markUnlinkable sets objFlagUnlinkable in the Go object file at path.
func markUnlinkable(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	at, err := objFlagsAt(b)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	binary.LittleEndian.PutUint32(b[at:], binary.LittleEndian.Uint32(b[at:])|objFlagUnlinkable)
	return os.WriteFile(path, b, 0o644)
}

// objFlagsAt returns the offset of the flags in the Go object obj: after
// the magic and the 8-byte fingerprint (cmd/internal/goobj.Header).
func objFlagsAt(obj []byte) (int, error) {
	at, err := headerAt(obj, 8+4)
	return at + 8, err
}

// unlinkableMembers returns the members of the archive ar that are Go
// objects marked unlinkable.
func unlinkableMembers(ar []byte) ([]string, error) {
	ms, err := members(ar)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if at, err := objFlagsAt(m.body); err == nil && binary.LittleEndian.Uint32(m.body[at:])&objFlagUnlinkable != 0 {
			out = append(out, m.name)
		}
	}
	return out, nil
}

// linkable checks the archives of the packages the link's import
// configuration (its -importcfg) names, those read says the link reads:
// none may hold an object assemble marked.
func linkable(args []string, read func(pkg string) bool) error {
	at := slices.Index(args, "-importcfg")
	if at < 0 || at+1 == len(args) {
		return nil
	}
	f, err := os.Open(args[at+1])
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		pkg, file, ok := packageFile(sc.Text())
		if !ok || !read(pkg) {
			continue
		}
		ar, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if bad, err := unlinkableMembers(ar); err != nil {
			return fmt.Errorf("%s: %v", pkg, err)
		} else if len(bad) > 0 {
			return fmt.Errorf("%s: the plugin must link its assembly (%s), which -dynlink rejects (%q: R15 used after a global variable's address is loaded); a patch that leaves the package to the release does not link it", pkg, strings.Join(bad, ", "), dynlinkRejects+", R15 is clobbered by a global variable access")
		}
	}
	return sc.Err()
}
