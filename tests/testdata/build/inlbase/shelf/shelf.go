// Package shelf prices from meter's rate, in another package than the
// fix changes: Price holds an inlined copy of meter.Rate.
package shelf

import (
	"strconv"
	"strings"

	"example.com/hostapp/meter"
)

// Price lists n's prices, each from its rate.
func Price(n int) string {
	var b strings.Builder
	b.WriteString("price=")
	for i := 0; i < 3; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(meter.Rate(n) * (10 + i)))
	}
	return b.String()
}
