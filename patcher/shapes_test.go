package patcher

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	stClosure    = func(x int) string { return fmt.Sprintf("closure v0 %d", x) }
	stClosureNew = func(x int) string { return fmt.Sprintf("closure v1 %d", x) }
	stAdder      = stMakeAdder(40)
	stAdderNew   = stMakeAdderNew(40)
)

// stMakeAdder returns a closure that reads its captured k through the
// closure context register (RDX on amd64, R26 on arm64), which the jump
// and trampoline keep.
//
//go:noinline
func stMakeAdder(k int) func(int) string {
	return func(x int) string { return fmt.Sprintf("adder v0 %d", x+k) }
}

//go:noinline
func stMakeAdderNew(k int) func(int) string {
	return func(x int) string { return fmt.Sprintf("adder v1 %d", x+k) }
}

// TestShapesPatchable is the list of function shapes the patcher was
// checked on: each is redirected, called through its call site, and
// reverted.
func TestShapesPatchable(t *testing.T) {
	tests := []struct {
		name     string
		from, to any
		call     func() string
		old, new string // answers; new "" when refused
		refused  string // substring of the refusal
		reason   string
	}{
		{"small frame", stSmall, stSmallNew, func() string { return stSmall(1) }, "small v0 1", "small v1 1", "", "CMPQ SP, 16(R14); JLS"},
		{"medium frame", stMedium, stMediumNew, func() string { return stMedium(1) }, "medium v0 11", "medium v1 11", "", "LEAQ -n(SP), R12 is 5 bytes"},
		{"large frame (> 4 KiB)", stBig, stBigNew, func() string { return stBig(1) }, "big v0 30", "big v1 30", "", "MOVQ SP, R12 then the unsafe SUBQ"},
		{"pointer method", (*stCounter).Ptr, (*stCounter).PtrNew, func() string { return stCtr.Ptr(1) }, "ptr v0 8", "ptr v1 8", "", "a method is a function with the receiver first"},
		{"method value bound before", (*stCounter).Ptr, (*stCounter).PtrNew, func() string { return stBound(1) }, "ptr v0 8", "ptr v1 8", "", "the -fm wrapper calls the method's entry"},
		{"value method", stVal.Value, stVal.ValueNew, func() string { return stV.Value(1) }, "value v0 4", "value v1 4", "", "direct call"},
		{"value method through an interface", stVal.Value, stVal.ValueNew, func() string { return stValuer.Value(1) }, "value v0 4", "value v1 4", "", "the itab holds the (*T).M wrapper, which calls T.M"},
		{"method through an interface", (*stSquare).Area, (*stSquare).AreaNew, func() string { return stSq.Area(1) }, "area v0 26", "area v1 26", "", "the itab holds the entry itself"},
		{"func value stored before", stPlain, stPlainNew, func() string { return stStored(1) }, "plain v0 1", "plain v1 1", "", "a func value points at the entry"},
		{"recursive", stRec, stRecNew, func() string { return stRec(5, 0) }, "rec v0 15", "rec v1 15", "", "the new code recurses into itself"},
		{"defer/recover, panicking", stGuard, stGuardNew, func() string { return stGuard(4) }, "guard v0 recovered 4", "guard v1 recovered 4", "", "panics unwind through the new code's own defer"},
		{"defer/recover, returning", stGuard, stGuardNew, func() string { return stGuard(1) }, "guard v0 1", "guard v1 1", "", ""},
		{"closure", stClosure, stClosureNew, func() string { return stClosure(1) }, "closure v0 1", "closure v1 1", "", "a func literal is a function like any other"},
		{"closure with captured variables", stAdder, stAdderNew, func() string { return stAdder(1) }, "adder v0 41", "adder v1 41", "", "the context register (RDX, R26) survives the jump and the trampoline"},
		{"leaf, 6-byte first instruction", lfLong, lfLongNew, func() string { return fmt.Sprint(lfLong(10000)) }, "10000", "9500", "", "no instruction boundary inside the jump"},
		{"leaf, short first instruction", lfShort, lfShortNew, func() string { return fmt.Sprint(lfShort(2, 3)) }, "9", "3", "", "guarded: a goroutine may be parked at entry+1..4"},
		{"small-frame leaf, PUSHQ BP first", lfFramed, lfFramedNew, func() string { return fmt.Sprint(lfFramed(1)) }, "7", "-3", "", "made nosplit by the assembler: guarded"},
		{"//go:nosplit", lfNoSplit, lfNoSplitNew, func() string { return fmt.Sprint(lfNoSplit(2, 3)) }, "7", "8", "", "every instruction async-unsafe: nothing to guard"},
		{"shorter than the jump", lfTiny, lfTinyNew, func() string { return fmt.Sprint(lfTiny()) }, "0", "1", "", "the jump runs into the INT3 padding, never executed"},
		{"loop at the entry, NOP first", lfWait, lfWaitNew, lfWaitOnReady, "1", "2", "", "guarded over the whole function: no goroutine may be inside"},
		{"leaf value method through an interface", lfCents.Euros, lfCents.EurosNew, func() string { return fmt.Sprint(lfPrice.Euros()) }, "2", "3", "", "the itab's wrapper calls the entry"},
		{"leaf method value", lfCents.Euros, lfCents.EurosNew, func() string { return fmt.Sprint(lfEurosOf(250)) }, "2", "3", "", "a method expression points at the entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			plan, err := p.Plan(tt.name, addr(tt.from), asyncSafe(tt.from))
			shape := plan.Shape
			if tt.refused != "" {
				if !errors.Is(err, ErrUnsafePrologue) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("Check = %q, %v; want ErrUnsafePrologue with %q (%s)", shape, err, tt.refused, tt.reason)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := tt.call(); got != tt.old {
				t.Fatalf("before apply: %q, want %q", got, tt.old)
			}
			if _, err := p.Apply("shape", []Redirect{redirect(tt.name, tt.from, tt.to)}); err != nil {
				t.Fatalf("apply: %v", err)
			}
			got := tt.call()
			if _, err := p.Revert("shape"); err != nil {
				t.Fatalf("revert: %v", err)
			}
			if got != tt.new {
				t.Errorf("applied: %q, want %q (%s)", got, tt.new, tt.reason)
			}
			if got := tt.call(); got != tt.old {
				t.Errorf("reverted: %q, want %q", got, tt.old)
			}
			t.Logf("%s: %s", tt.name, shape)
		})
	}
}
