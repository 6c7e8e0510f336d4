package loader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// File rules: whoever can put a file in patch_dir runs code as the
// service, so the agent looks at who put it there and what it is before it
// reads a byte of it. Every rule is checked on the file descriptor the
// bytes are then read from, never on a path looked up again later: there
// is no window between the check and the read in which the file could be
// swapped.

// openFlags open a patch file without following a symbolic link in its
// last element, without waiting for the writer of a FIFO, and without
// making a terminal device the controlling terminal.
const openFlags = syscall.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC

// ReadPatch reads the file name in the directory dir (patch_dir) and
// checks it in a fixed order, refusing it for the first rule it breaks:
//
//  1. file rules: name is a plain file name (no '/'); the file, opened
//     relative to dir without following links, is a regular file (not a
//     symbolic link, directory, FIFO, socket or device), has exactly one
//     link (a hard link could bring in a file from elsewhere), is owned
//     by root or by this process's effective uid, and is not writable by
//     group or others;
//  2. size: at most r.MaxBytes, before any byte is read;
//  3. signature: the trailer is complete, the signature (if any) verifies
//     over the ELF and the manifest, and r.Trust accepts the signer;
//  4. manifest: strict JSON, known format, sane fields, and the ELF
//     bytes' SHA-256.
//
// The bytes are copied, as they are read and hashed, to a private file in
// r.Stage (state_dir/loaded): later checks and Open use that copy, never
// the file in patch_dir again, and the process never holds the whole file
// in memory. Close the File to remove the copy if it is not opened. A
// refusal wraps ErrFileRule, ErrFormat, ErrSignature or the error of
// r.Trust. ReadPatch does not block on a FIFO or device. It is safe for
// concurrent use.
func ReadPatch(dir, name string, r ReadOptions) (*File, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, errorf(ErrFileRule, "%q is not a file name in patch_dir", name)
	}
	dfd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open patch_dir", Path: dir, Err: err}
	}
	defer syscall.Close(dfd)
	var fd int
	for {
		fd, err = syscall.Openat(dfd, name, openFlags, 0)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case err == syscall.ELOOP:
		// O_NOFOLLOW refuses a link in the last element with ELOOP. Where
		// it points is read only for the message.
		target, _ := os.Readlink(filepath.Join(dir, name))
		return nil, errorf(ErrFileRule, "a symbolic link (to %q): only a regular file inside patch_dir is read, never a link", target)
	case err == syscall.ENXIO:
		// A socket cannot be opened at all.
		kind := "not a regular file"
		if st, lerr := os.Lstat(filepath.Join(dir, name)); lerr == nil {
			kind = fileKind(st.Mode()) + ", not a regular file"
		}
		return nil, errorf(ErrFileRule, "%s", kind)
	case err != nil:
		return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, name), Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: filepath.Join(dir, name), Err: err}
	}
	if err := checkFileRules(&st, os.Geteuid()); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	// A regular file: O_NONBLOCK did its job (a FIFO swapped in before the
	// open would have been refused above) and means nothing for reads.
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: filepath.Join(dir, name), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, name))
	defer f.Close()
	if err := checkSize(st.Size, r.MaxBytes); err != nil {
		return nil, err
	}
	return stageAndDecode(f, st.Size, r)
}

// stageAndDecode decodes the size bytes of src through a new private copy
// in r.Stage, which the File keeps.
func stageAndDecode(src *os.File, size int64, r ReadOptions) (*File, error) {
	if err := privateDir(r.Stage); err != nil {
		return nil, fmt.Errorf("private dir: %w", err)
	}
	stage, err := os.CreateTemp(r.Stage, stagePrefix+"*") // O_EXCL, mode 0600
	if err != nil {
		return nil, fmt.Errorf("private copy: %w", err)
	}
	pf, err := decode(src, size, r.Trust, stage)
	if err != nil {
		stage.Close()
		os.Remove(stage.Name())
		return nil, err
	}
	pf.stage = stage
	return pf, nil
}

// checkFileRules applies the file rules to what fstat said of an open
// file, in a fixed order: type, links, owner, mode.
func checkFileRules(st *syscall.Stat_t, euid int) error {
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return errorf(ErrFileRule, "%s, not a regular file", statKind(st.Mode))
	}
	if st.Nlink != 1 {
		return errorf(ErrFileRule, "%d hard links: a patch file must have exactly one (a hard link can bring a file from outside patch_dir in)", st.Nlink)
	}
	if st.Uid != 0 && int(st.Uid) != euid {
		return errorf(ErrFileRule, "owned by uid %d: a patch file must be owned by root or by this service (uid %d)", st.Uid, euid)
	}
	if perm := fs.FileMode(st.Mode & 0o777); perm&0o022 != 0 {
		return errorf(ErrFileRule, "mode %v is group- or world-writable: only the owner may be able to change a patch file", perm)
	}
	return nil
}

func statKind(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFLNK:
		return "a symbolic link"
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	}
	return fmt.Sprintf("file type %#o", mode&syscall.S_IFMT)
}

// openNoBlock opens path for reading without waiting for the writer of a
// FIFO; with nofollow it also refuses a symbolic link in the last element.
func openNoBlock(path string, nofollow bool) (*os.File, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if nofollow {
		flags |= syscall.O_NOFOLLOW
	}
	return os.OpenFile(path, flags, 0)
}

// privateDir makes sure dir (state_dir/loaded) is a directory that only
// this process's user can change: not a link, owned by the effective uid,
// mode 0700, in a parent (state_dir) that nobody else can write to either,
// so nobody else can rename dir away and put another in its place.
func privateDir(dir string) error {
	euid := os.Geteuid()
	parent := filepath.Dir(dir)
	// state_dir itself may be a link set up by the operator: follow it.
	pst, err := os.Stat(parent)
	if err != nil {
		return err
	}
	if ps, ok := pst.Sys().(*syscall.Stat_t); ok && ps.Uid != 0 && int(ps.Uid) != euid {
		return fmt.Errorf("%s is owned by uid %d, not root or this service (uid %d)", parent, ps.Uid, euid)
	}
	if pst.Mode().Perm()&0o022 != 0 && pst.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%s has mode %v: others could replace %s with a directory of their own", parent, pst.Mode().Perm(), filepath.Base(dir))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is %s, not a directory", dir, fileKind(st.Mode()))
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok && int(s.Uid) != euid {
		return fmt.Errorf("%s is owned by uid %d, not this service (uid %d)", dir, s.Uid, euid)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// writePrivate writes what r holds to dir/name through a new temporary
// file and a rename (renamePrivate).
func writePrivate(dir, name string, r io.Reader) (string, error) {
	tmp, err := os.CreateTemp(dir, stagePrefix+"*") // O_EXCL, mode 0600
	if err != nil {
		return "", err
	}
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return renamePrivate(tmp, filepath.Join(dir, name))
}

// renamePrivate gives the private file f the name final, and checks that
// final is then the file f is: whatever was at that name before (a file
// planted there, a link) is replaced, never reused.
func renamePrivate(f *os.File, final string) (string, error) {
	wrote, err := f.Stat()
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	if err := os.Rename(f.Name(), final); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	got, err := os.Lstat(final)
	if err != nil {
		return "", err
	}
	if !os.SameFile(wrote, got) || got.Size() != wrote.Size() {
		return "", fmt.Errorf("%s changed under us after it was written", final)
	}
	return final, nil
}
