// Package orders is the release of the change-kinds test (TestBuildShipsChangeKinds):
// its fix (../../kinds) adds a helper, an exported function, a function
// literal, an import, new variables (zero and initialized), a new type and
// a new method, changes a constant and removes a function.
package orders

import (
	"errors"
	"fmt"
	"strings"
)

// Order is what /order reads from its query.
type Order struct {
	ID  string
	Qty int
}

// maxQty is the most of one item an order may hold.
const maxQty = 5

// served counts checked orders: the release's state, shared with fixes.
var served int

// New in the fix: errors, a set, a counter and a value whose initializer
// must run exactly once per process.
var (
	errTooMany = errors.New("too-many")
	errBlocked = errors.New("blocked")
	blocked    = map[string]bool{"evil": true}
	rejected   int
	token      = mint()
	mints      int
)

func mint() int {
	mints++
	return mints
}

// verdict is a new type.
type verdict struct {
	err  error
	note string
}

// Check validates an order.
func Check(o *Order) string {
	served++
	clean := func(s string) string { return strings.TrimSpace(strings.ToLower(s)) }
	if v := o.validate(); v.err != nil {
		rejected++
		return fmt.Sprintf("rejected:%v:%d:%d", v.err, rejected, token)
	}
	return "ok:" + clean(Normalize(o.ID, true))
}

// Normalize is how IDs compare; only Check calls it. The fix gives it a
// parameter.
func Normalize(id string, trim bool) string {
	if trim {
		id = strings.TrimSpace(id)
	}
	return strings.ToLower(id)
}

// validate is a new method of a release type.
func (o *Order) validate() verdict {
	if !ValidQty(o.weight() / 2) {
		return verdict{err: errTooMany}
	}
	if blocked[o.ID] {
		return verdict{err: errBlocked}
	}
	return verdict{note: "fine"}
}

// weight was dead code in the release, whose linker dropped it.
func (o *Order) weight() int { return o.Qty * 2 }

// ValidQty is a new exported function; it calls a new unexported helper
// with a new constant.
func ValidQty(q int) bool {
	return atLeast(q, minQty) && q <= maxQty
}

// minQty is a new constant.
const minQty = 1

// atLeast is a new unexported helper, which every order's check calls.
//
//go:noinline
func atLeast(q, min int) bool { return q >= min }

// Limit is the quantity limit as the service reports it; its body does not
// change, the constant it uses does.
func Limit() int {
	return maxQty
}

// Served reports how many orders were checked.
func Served() int { return served }
