// Package report answers /report with a line that uses package sum.
package report

import (
	"fmt"

	"example.com/hostapp/sum"
)

// MixFn is sum.Mix as a value: the release then has Mix's ABIInternal
// wrapper too, beside the ABI0 entry Line calls directly.
var MixFn = sum.Mix

// Line reports x mixed (the bug: says v1).
func Line(x uint64) string {
	return fmt.Sprintf("v1 %s=%d fn=%d", sum.Label(), sum.Mix(x), MixFn(x))
}
