// Package catalog renders the shop's product listing: the service's
// CPU-bound hot path. It is not in the policy's allow list, so hotfix's
// build flags leave its inlining (and the standard library's) untouched.
package catalog

import (
	"encoding/json"
	"sort"
	"strings"
)

// Product is one line of the catalog.
type Product struct {
	SKU   string   `json:"sku"`
	Name  string   `json:"name"`
	Cents int      `json:"cents"`
	Tags  []string `json:"tags"`
}

// Listing sorts products by name, renders a text summary and the JSON
// document the catalog endpoint serves.
func Listing(products []Product) (summary string, doc []byte, err error) {
	sorted := append([]Product(nil), products...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Name != sorted[j].Name {
			return sorted[i].Name < sorted[j].Name
		}
		return sorted[i].SKU < sorted[j].SKU
	})
	var b strings.Builder
	for _, p := range sorted {
		b.WriteString(strings.ToUpper(p.Name[:1]))
		b.WriteString(p.Name[1:])
		b.WriteString(" (")
		b.WriteString(strings.Join(p.Tags, ", "))
		b.WriteString(")\n")
	}
	doc, err = json.Marshal(sorted)
	return b.String(), doc, err
}

// Sample returns n generated products.
func Sample(n int) []Product {
	ps := make([]Product, n)
	for i := range ps {
		name := []byte("product-xxxx")
		for j := 8; j < 12; j++ {
			name[j] = byte('a' + (i*7+j*13)%26)
		}
		ps[i] = Product{SKU: string(rune('A'+i%26)) + "-" + string(name[8:]), Name: string(name), Cents: 100 + i%900, Tags: []string{"fresh", "local", name2tag(i)}}
	}
	return ps
}

func name2tag(i int) string {
	if i%3 == 0 {
		return "organic"
	}
	return "seasonal"
}
