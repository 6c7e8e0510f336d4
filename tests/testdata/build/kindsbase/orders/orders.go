// Package orders is the release of the change-kinds test (TestBuildShipsChangeKinds):
// its fix (../../kinds) adds a helper, an exported function, a function
// literal, an import, new variables (zero and initialized), a new type and
// a new method, changes a constant and removes a function.
package orders

import "strings"

// Order is what /order reads from its query.
type Order struct {
	ID  string
	Qty int
}

// maxQty is the most of one item an order may hold (bug: too many).
const maxQty = 10

// served counts checked orders: the release's state, shared with fixes.
var served int

// Check validates an order (bug: any quantity passes).
func Check(o *Order) string {
	served++
	return "ok:" + Normalize(o.ID)
}

// Normalize is how IDs compare; only Check calls it.
func Normalize(id string) string {
	return strings.ToLower(id)
}

// Limit is the quantity limit as the service reports it; its body does not
// change, the constant it uses does.
func Limit() int {
	return maxQty
}

// Served reports how many orders were checked.
func Served() int { return served }

// weight is dead code in the release: the linker drops it.
func (o *Order) weight() int { return o.Qty }

// legacy is removed by the fix.
func legacy() string { return "legacy" }
