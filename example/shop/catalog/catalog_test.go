package catalog

import "testing"

// BenchmarkListing is the hot path used to show that hotfix's build flags
// cost nothing outside the patchable packages: `make bench` runs it in a
// default build, with `hotfix flags`, and with -gcflags=all=-l.
func BenchmarkListing(b *testing.B) {
	ps := Sample(500)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := Listing(ps); err != nil {
			b.Fatal(err)
		}
	}
}
