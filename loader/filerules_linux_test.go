package loader

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func goodPatch(t *testing.T) []byte {
	t.Helper()
	b, err := Encode([]byte("\x7fELF code"), testManifest(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeMode(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
}

// errIs reports whether err wraps want and its text names the rule.
func errIs(err, want error, text string) bool {
	return errors.Is(err, want) && strings.Contains(err.Error(), text)
}

func TestReadPatchFileRules(t *testing.T) {
	good := goodPatch(t)
	root := os.Geteuid() == 0
	tests := []struct {
		name   string
		file   string                                  // name passed to ReadPatch
		make   func(t *testing.T, dir, outside string) // creates dir/file
		rules  ReadOptions
		want   error // nil: accepted
		text   string
		root   bool // needs root (mknod, chown)
		reason string
	}{
		{"regular file", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o644) }, ReadOptions{}, nil, "", false,
			"the way an operator drops a patch"},
		{"owner-only mode", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o400) }, ReadOptions{}, nil, "", false,
			"read-only is fine"},
		{"slash in name", "sub/x.so", func(t *testing.T, dir, _ string) {}, ReadOptions{}, ErrFileRule, "not a file name in patch_dir", false,
			"the name is a base name in patch_dir, never a path"},
		{"dot-dot", "..", func(t *testing.T, dir, _ string) {}, ReadOptions{}, ErrFileRule, "not a file name", false,
			"never the parent"},
		{"symlink outside", "x.so", func(t *testing.T, dir, out string) {
			writeMode(t, out+"/v1.so", good, 0o644)
			os.Symlink(out+"/v1.so", dir+"/x.so")
		}, ReadOptions{}, ErrFileRule, "a symbolic link (to ", false, "a link could point anywhere, and be re-pointed after the check"},
		{"symlink inside", "x.so", func(t *testing.T, dir, _ string) {
			writeMode(t, dir+"/real", good, 0o644)
			os.Symlink("real", dir+"/x.so")
		}, ReadOptions{}, ErrFileRule, "symbolic link", false, "no link at all, even to a file next to it"},
		{"hard link", "x.so", func(t *testing.T, dir, out string) {
			writeMode(t, out+"/v1.so", good, 0o644)
			if err := os.Link(out+"/v1.so", dir+"/x.so"); err != nil {
				t.Skipf("hard link: %v", err)
			}
		}, ReadOptions{}, ErrFileRule, "2 hard links", false, "a file from elsewhere must not appear in patch_dir"},
		{"directory", "x.so", func(t *testing.T, dir, _ string) { os.Mkdir(dir+"/x.so", 0o755) }, ReadOptions{}, ErrFileRule, "a directory, not a regular file", false,
			"a directory named x.so"},
		{"fifo", "x.so", func(t *testing.T, dir, _ string) {
			if err := syscall.Mkfifo(dir+"/x.so", 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, ReadOptions{}, ErrFileRule, "a FIFO, not a regular file", false, "must be refused without waiting for a writer"},
		{"socket", "x.so", func(t *testing.T, dir, _ string) {
			l, err := net.Listen("unix", dir+"/x.so")
			if err != nil {
				t.Skipf("unix socket: %v", err)
			}
			t.Cleanup(func() { l.Close() })
		}, ReadOptions{}, ErrFileRule, "a socket, not a regular file", false, "a socket cannot even be opened"},
		{"device", "x.so", func(t *testing.T, dir, _ string) {
			if err := syscall.Mknod(dir+"/x.so", syscall.S_IFCHR|0o644, 1<<8|3); err != nil { // like /dev/null
				t.Skipf("mknod: %v", err)
			}
		}, ReadOptions{}, ErrFileRule, "a character device", true, "a device node"},
		{"other owner", "x.so", func(t *testing.T, dir, _ string) {
			writeMode(t, dir+"/x.so", good, 0o644)
			if err := os.Chown(dir+"/x.so", 65534, 65534); err != nil {
				t.Skipf("chown: %v", err)
			}
		}, ReadOptions{}, ErrFileRule, "owned by uid 65534", true, "only root or the service itself may have put it there"},
		{"group-writable", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o664) }, ReadOptions{}, ErrFileRule, "group- or world-writable", false,
			"a group member could change it"},
		{"world-writable", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o646) }, ReadOptions{}, ErrFileRule, "mode -rw-r--rw- is group- or world-writable", false,
			"anyone could change it"},
		{"over the size limit", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o644) }, ReadOptions{MaxBytes: int64(len(good) - 1)}, ErrFileRule, "limits.max_file_bytes", false,
			"refused before a byte is read"},
		{"at the size limit", "x.so", func(t *testing.T, dir, _ string) { writeMode(t, dir+"/x.so", good, 0o644) }, ReadOptions{MaxBytes: int64(len(good))}, nil, "", false,
			"the limit is inclusive"},
		{"missing", "x.so", func(t *testing.T, dir, _ string) {}, ReadOptions{}, os.ErrNotExist, "", false,
			"gone before it was read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && !root {
				t.Skip("needs root")
			}
			dir, out := t.TempDir(), t.TempDir()
			tt.make(t, dir, out)
			done := make(chan struct{})
			var err error
			go func() {
				defer close(done)
				tt.rules.Stage = filepath.Join(out, "loaded")
				var f *File
				f, err = ReadPatch(dir, tt.file, tt.rules)
				f.Close()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadPatch blocked (%s)", tt.reason)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ReadPatch = %v, want accepted (%s)", err, tt.reason)
				}
				return
			}
			if !errIs(err, tt.want, tt.text) {
				t.Fatalf("ReadPatch = %v, want %v naming %q (%s)", err, tt.want, tt.text, tt.reason)
			}
		})
	}
}

// TestReadOfflineRulesOwner covers the owner rule without root: a file of
// this service's own uid is accepted, root's too, anybody else's not.
func TestReadOfflineRulesOwner(t *testing.T) {
	const euid = 1000
	for _, tt := range []struct {
		uid      uint32
		ok       bool
		twoLinks bool
	}{{0, true, false}, {euid, true, false}, {1001, false, false}, {euid, false, true}} {
		st := &syscall.Stat_t{Mode: syscall.S_IFREG | 0o644, Uid: tt.uid, Nlink: 1}
		if tt.twoLinks {
			st.Nlink = 2
		}
		if err := checkFileRules(st, euid); (err == nil) != tt.ok {
			t.Errorf("uid %d nlink %d: %v, want ok=%v", tt.uid, st.Nlink, err, tt.ok)
		}
	}
}

// TestReadPatchOrder proves the order of the checks: a file that breaks
// two rules is refused for the earlier one. The order is file rules, size,
// signature (trailer, signature, trust), manifest.
func TestReadPatchOrder(t *testing.T) {
	good := goodPatch(t)
	m := testManifest()
	m.ID = "../escape" // an invalid manifest
	badManifest, _ := Encode([]byte("\x7fELF code"), m, nil)
	badManifestSigned, _ := Encode([]byte("\x7fELF code"), m, testKey())
	flippedSig := bytes.Clone(badManifestSigned)
	flippedSig[len(flippedSig)-footerLen-1] ^= 1
	requireSig := func(pub ed25519.PublicKey) error {
		if pub == nil {
			return errors.New("untrusted: unsigned")
		}
		return nil
	}
	noKeys := func(pub ed25519.PublicKey) error { return errors.New("untrusted: signer not listed") }
	tests := []struct {
		name   string
		data   []byte
		mode   os.FileMode
		rules  ReadOptions
		text   string
		reason string
	}{
		{"file rule before size", good, 0o666, ReadOptions{MaxBytes: 1}, "world-writable", "file rules come first"},
		{"size before signature", []byte("garbage, and too big"), 0o644, ReadOptions{MaxBytes: 4}, "limits.max_file_bytes", "size is checked before a byte is read"},
		{"trailer before trust", []byte("garbage without a trailer"), 0o644, ReadOptions{Trust: noKeys}, "no hotfix trailer", "the signature is found through the trailer"},
		{"signature before trust", flippedSig, 0o644, ReadOptions{Trust: noKeys}, "does not match the file's bytes", "a broken signature says nothing about the signer"},
		{"signature before manifest", flippedSig, 0o644, ReadOptions{}, "does not match", "nothing in a manifest is read before its signature verified"},
		{"trust before manifest", badManifest, 0o644, ReadOptions{Trust: requireSig}, "untrusted: unsigned", "nothing an untrusted signer wrote is parsed"},
		{"unlisted signer before manifest", badManifestSigned, 0o644, ReadOptions{Trust: noKeys}, "signer not listed", "likewise for an unlisted key"},
		{"manifest last", badManifestSigned, 0o644, ReadOptions{Trust: requireSig}, "manifest id", "all else passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeMode(t, filepath.Join(dir, "x.so"), tt.data, tt.mode)
			tt.rules.Stage = filepath.Join(dir, "loaded")
			_, err := ReadPatch(dir, "x.so", tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("ReadPatch = %v, want a refusal naming %q (%s)", err, tt.text, tt.reason)
			}
		})
	}
}

func TestDecodeTrustedCallsTrust(t *testing.T) {
	key := testKey()
	signed, _ := Encode([]byte("\x7fELF code"), testManifest(), key)
	unsigned, _ := Encode([]byte("\x7fELF code"), testManifest(), nil)
	for _, tt := range []struct {
		name string
		data []byte
		want ed25519.PublicKey
	}{{"signed", signed, key.Public().(ed25519.PublicKey)}, {"unsigned", unsigned, nil}} {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			f, err := DecodeTrusted(tt.data, func(pub ed25519.PublicKey) error {
				called = true
				if !bytes.Equal(pub, tt.want) {
					t.Errorf("trust got signer %x, want %x", pub, tt.want)
				}
				return nil
			})
			if err != nil || !called || f.Manifest.ID != testManifest().ID {
				t.Fatalf("DecodeTrusted = %v, called %v", err, called)
			}
		})
	}
}

func TestCompleteDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "x.so"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	os.Symlink("x.so", filepath.Join(dir, "link.so"))
	done := make(chan bool)
	go func() { done <- Complete(filepath.Join(dir, "x.so")) || Complete(filepath.Join(dir, "link.so")) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a FIFO is complete")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Complete blocked on a FIFO")
	}
}

func TestReadOffline(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.so")
	writeMode(t, p, goodPatch(t), 0o666)
	// Offline, the file rules of patch_dir do not apply; size and trust do.
	if _, err := ReadOffline(p, ReadOptions{}); err != nil {
		t.Fatalf("ReadOffline: %v", err)
	}
	if _, err := ReadOffline(p, ReadOptions{MaxBytes: 10}); !errIs(err, ErrFileRule, "limits.max_file_bytes") {
		t.Fatalf("ReadOffline over the limit = %v", err)
	}
	untrusted := errors.New("not listed")
	if _, err := ReadOffline(p, ReadOptions{Trust: func(ed25519.PublicKey) error { return untrusted }}); !errors.Is(err, untrusted) {
		t.Fatalf("ReadOffline with a refusing trust = %v", err)
	}
	if _, err := ReadOffline(dir, ReadOptions{}); !errIs(err, ErrFileRule, "a directory") {
		t.Fatalf("ReadOffline of a directory = %v", err)
	}
}

func TestPrivateDir(t *testing.T) {
	t.Run("created 0700", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "loaded")
		if err := privateDir(dir); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(dir); err != nil || st.Mode().Perm() != 0o700 || !st.IsDir() {
			t.Fatalf("private dir: %v %v", st.Mode(), err)
		}
	})
	t.Run("loose mode tightened", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "loaded")
		os.Mkdir(dir, 0o777)
		os.Chmod(dir, 0o777)
		if err := privateDir(dir); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Lstat(dir); st.Mode().Perm() != 0o700 {
			t.Fatalf("mode %v, want 0700", st.Mode().Perm())
		}
	})
	t.Run("link refused", func(t *testing.T) {
		parent, elsewhere := t.TempDir(), t.TempDir()
		dir := filepath.Join(parent, "loaded")
		os.Symlink(elsewhere, dir)
		if err := privateDir(dir); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("privateDir through a link = %v", err)
		}
	})
	t.Run("writable parent refused", func(t *testing.T) {
		parent := t.TempDir()
		os.Chmod(parent, 0o777)
		if err := privateDir(filepath.Join(parent, "loaded")); err == nil || !strings.Contains(err.Error(), "others could replace") {
			t.Fatalf("privateDir in a world-writable state_dir = %v", err)
		}
	})
	t.Run("sticky parent accepted", func(t *testing.T) {
		parent := t.TempDir()
		os.Chmod(parent, 0o777|os.ModeSticky)
		if err := privateDir(filepath.Join(parent, "loaded")); err != nil {
			t.Fatalf("privateDir in a sticky state_dir = %v", err)
		}
	})
	t.Run("other owner refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "loaded")
		os.Mkdir(dir, 0o700)
		if err := os.Chown(dir, 65534, 65534); err != nil || os.Geteuid() == 65534 {
			t.Skipf("chown: %v", err)
		}
		if err := privateDir(dir); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("privateDir owned by another user = %v", err)
		}
	})
}

// TestWritePrivateReplacesPlanted: whatever sits at the copy's name is
// replaced by a new file, never opened or written through.
func TestWritePrivateReplacesPlanted(t *testing.T) {
	want := []byte("verified bytes")
	for _, tt := range []struct {
		name  string
		plant func(t *testing.T, path, elsewhere string)
		ok    bool
	}{
		{"nothing", func(t *testing.T, path, _ string) {}, true},
		{"planted file", func(t *testing.T, path, _ string) { writeMode(t, path, []byte("planted"), 0o644) }, true},
		{"planted link", func(t *testing.T, path, elsewhere string) {
			writeMode(t, elsewhere, []byte("target"), 0o644)
			os.Symlink(elsewhere, path)
		}, true},
		{"planted directory", func(t *testing.T, path, _ string) { os.Mkdir(path, 0o700) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			elsewhere := filepath.Join(t.TempDir(), "target")
			tt.plant(t, filepath.Join(dir, "p.so"), elsewhere)
			got, err := writePrivate(dir, "p.so", bytes.NewReader(want))
			if !tt.ok {
				if err == nil {
					t.Fatal("writePrivate over a directory succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Lstat(got)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
				t.Fatalf("copy: %v %v", st.Mode(), err)
			}
			if b, _ := os.ReadFile(got); !bytes.Equal(b, want) {
				t.Fatalf("copy holds %q", b)
			}
			if b, err := os.ReadFile(elsewhere); err == nil && string(b) != "target" {
				t.Fatalf("written through the planted link: %q", b)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Fatalf("temporary files left: %v", ents)
			}
		})
	}
}

// TestReadPatchStages: ReadPatch copies the file into the private
// directory as it reads it, and everything after reads that copy: the
// file in patch_dir can change afterwards without changing what is
// opened. A refused file leaves no copy behind; Close removes one.
func TestReadPatchStages(t *testing.T) {
	good, err := Encode([]byte("\x7fELF code"), testManifest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stage := filepath.Join(t.TempDir(), "loaded")
	writeMode(t, filepath.Join(dir, "x.so"), good, 0o644)
	f, err := ReadPatch(dir, "x.so", ReadOptions{Stage: stage})
	if err != nil {
		t.Fatal(err)
	}
	writeMode(t, filepath.Join(dir, "x.so"), bytes.Repeat([]byte("x"), len(good)), 0o644)
	if got := readELF(t, f); string(got) != "\x7fELF code" {
		t.Fatalf("ELF after the original changed = %q", got)
	}
	if ents, _ := os.ReadDir(stage); len(ents) != 1 {
		t.Fatalf("private dir holds %d files, want the one copy", len(ents))
	}
	f.Close()
	f.Close()
	if _, err := ReadPatch(dir, "x.so", ReadOptions{Stage: stage}); !errors.Is(err, ErrFormat) {
		t.Fatalf("ReadPatch of garbage = %v", err)
	}
	if ents, _ := os.ReadDir(stage); len(ents) != 0 {
		t.Fatalf("left in the private dir: %v", ents)
	}
}
