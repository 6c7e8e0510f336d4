package ledger

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzRead feeds damaged ledger files to the parser behind Read and Open.
// Seeds are in testdata/fuzz/FuzzRead (see testdata/README.md).
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "/state/ledger.json"
		got, err := decode(path, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrUnsupportedFormat", err)
			}
			return
		}
		// Whatever the parser accepts must be a ledger Record could have
		// written: valid, unique, sorted, and stable when written again.
		if got == nil {
			t.Fatalf("accepted file decoded to nil entries, want an empty list")
		}
		seen := make(map[key]bool)
		for _, e := range got {
			if err := e.validate(); err != nil {
				t.Fatalf("accepted an invalid entry: %v", err)
			}
			if seen[e.key()] {
				t.Fatalf("accepted a duplicate %s", e.key())
			}
			seen[e.key()] = true
		}
		if !slices.IsSortedFunc(got, compareEntries) {
			t.Fatalf("entries not sorted")
		}
		out, err := encode(got)
		if err != nil {
			t.Fatalf("accepted entries do not encode again: %v", err)
		}
		again, err := decode(path, out)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v\n%s", err, out)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("entries changed through encode and decode (-want +got):\n%s", diff)
		}
	})
}
