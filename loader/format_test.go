package loader

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testManifest() Manifest {
	return Manifest{
		ID: "20261125t120000-abcdef", Version: "1.0.1", Sequence: 7,
		PluginPath: "example.com/app/hotfix_patch_x", Anchor: "HotfixTargets",
		Targets:   []Target{{Name: "example.com/app/router.Greet"}},
		GoVersion: "go1.26.8", Host: Host{BuildID: "a/b/c/d", MainPath: "example.com/app"},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	elfBytes := []byte("\x7fELF pretend shared object")
	_, key, _ := ed25519.GenerateKey(nil)
	for _, tc := range []struct {
		name   string
		key    ed25519.PrivateKey
		reason string
	}{
		{"unsigned", nil, "the signature block is optional"},
		{"signed", key, "signature covers ELF and manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(elfBytes, testManifest(), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v (%s)", err, tc.reason)
			}
			want := testManifest()
			want.Format = FormatVersion
			want.ELFSHA256 = f.Manifest.ELFSHA256 // TestDecodeRejects checks it
			if diff := cmp.Diff(want, f.Manifest); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
			if !bytes.Equal(readELF(t, f), elfBytes) {
				t.Errorf("ELF bytes changed")
			}
			if (f.Signature != nil) != (tc.key != nil) {
				t.Errorf("signature present = %v", f.Signature != nil)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	good, err := Encode([]byte("\x7fELF code"), testManifest(), key)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	manifestAt := len("\x7fELF code") + 5
	unsigned, err := Encode([]byte("\x7fELF code"), testManifest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	unsigned[2] ^= 1
	old := bytes.Clone(good)
	copy(old[len(old)-len(oldMagic):], oldMagic)
	tests := []struct {
		name   string
		data   []byte
		want   error
		reason string
	}{
		{"empty", nil, ErrFormat, "zero bytes"},
		{"truncated", good[:len(good)-10], ErrFormat, "a copy in progress has no complete trailer"},
		{"no trailer", []byte("just some bytes that are long enough"), ErrFormat, "not built by hotfix build"},
		{"code byte flipped", flip(2), ErrSignature, "signature covers the ELF"},
		{"manifest byte flipped", flip(manifestAt), ErrSignature, "signature covers the manifest"},
		{"signature byte flipped", flip(len(good) - footerLen - 3), ErrSignature, "the signature itself"},
		{"unsigned code byte flipped", unsigned, ErrFormat, "the manifest names the ELF's SHA-256"},
		{"first format", old, ErrFormat, "HOTFIX01 files signed the whole ELF: rebuilt, not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v (%s)", err, tt.want, tt.reason)
			}
			// A file refused once it was read whole names its SHA-256,
			// which the fleet playbook matches.
			sum := sha256.Sum256(tt.data)
			if hashed := errors.Is(err, ErrSignature); hashed && SHA256Of(err) != hex.EncodeToString(sum[:]) || !hashed && tt.name == "empty" && SHA256Of(err) != "" {
				t.Errorf("SHA256Of(%v) = %q", err, SHA256Of(err))
			}
		})
	}
}

func TestComplete(t *testing.T) {
	b, err := Encode([]byte("\x7fELF code"), testManifest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.so")
	for i := 0; i < len(b); i += 7 {
		os.WriteFile(p, b[:i], 0o644)
		if Complete(p) {
			t.Fatalf("Complete true after %d of %d bytes", i, len(b))
		}
	}
	os.WriteFile(p, b, 0o644)
	if !Complete(p) {
		t.Fatal("Complete false for the whole file")
	}
}

// testKey is fixed so that the seed corpus is reproducible.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
}

func TestGoSupported(t *testing.T) {
	for _, tt := range []struct {
		v      string
		ok     bool
		reason string
	}{
		{"go1.26.8", true, "the machine's Go"},
		{"go1.27.3", true, "the current release"},
		{"go1.27rc1", true, "a release candidate of a supported release"},
		{"go1.25.9", false, "older than the oldest release tested"},
		{"go1.28.0", false, "a newer release may have moved what hotfix reads"},
		{"devel go1.28-abcdef", false, "a development build"},
		{"", false, "no version at all"},
	} {
		err := GoSupported(tt.v)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), tt.v) && tt.v != "") {
			t.Errorf("GoSupported(%q) = %v, want ok=%v (%s)", tt.v, err, tt.ok, tt.reason)
		}
	}
}

// TestDecodeLargeFile: a file read in many chunks, with the ELF ending
// inside one of them, hashes to what Encode wrote and what sha256sum
// says, and the ELF bytes come back whole.
func TestDecodeLargeFile(t *testing.T) {
	elfBytes := make([]byte, 3<<20+12345)
	for i := range elfBytes {
		elfBytes[i] = byte(i * 7)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	b, err := Encode(elfBytes, testManifest(), key)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256 = %s, want the file's", f.SHA256)
	}
	if sum := sha256.Sum256(elfBytes); f.Manifest.ELFSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("elf_sha256 = %s, want the ELF's", f.Manifest.ELFSHA256)
	}
	if !bytes.Equal(readELF(t, f), elfBytes) {
		t.Error("ELF bytes differ")
	}
}
