// Package pricing quotes prices for the shop.
package pricing

import "fmt"

// BulkQuantity is the quantity from which the bulk discount applies.
const BulkQuantity = 10

var cents = map[string]int{"apple": 50, "pear": 80, "melon": 300}

// Quote prices qty items. Orders of BulkQuantity or more get 10% off.
func Quote(item string, qty int) (string, error) {
	price, ok := cents[item]
	if !ok {
		return "", fmt.Errorf("unknown item %q", item)
	}
	total := price * qty
	// FIX: orders of exactly BulkQuantity get the discount too.
	if qty >= BulkQuantity {
		total = total * 90 / 100
	}
	return fmt.Sprintf("%d x %s = %d.%02d EUR", qty, item, total/100, total%100), nil
}
