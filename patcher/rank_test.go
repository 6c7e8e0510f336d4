package patcher

import (
	"fmt"
	"testing"
)

//go:noinline
func quoteOld(x int) string { return fmt.Sprint("quote old ", x) }

//go:noinline
func quoteA(x int) string { return fmt.Sprint("quote A ", x) }

//go:noinline
func otherOld(x int) string { return fmt.Sprint("other old ", x) }

//go:noinline
func otherA(x int) string { return fmt.Sprint("other A ", x) }

//go:noinline
func otherB(x int) string { return fmt.Sprint("other B ", x) }

// TestApplyRankedOrderFree applies an older patch A (Quote and Other) and
// a newer patch B (Other only) in both orders: the code that runs depends
// only on which patches are applied, never on the order they came in.
func TestApplyRankedOrderFree(t *testing.T) {
	a := func(p *Patcher) error {
		_, err := p.ApplyRanked("A", 1, []Redirect{
			redirect("quoteOld", quoteOld, quoteA),
			redirect("otherOld", otherOld, otherA),
		})
		return err
	}
	b := func(p *Patcher) error {
		_, err := p.ApplyRanked("B", 2, []Redirect{redirect("otherOld", otherOld, otherB)})
		return err
	}
	origQ, origO := readCode(addr(quoteOld), 32), readCode(addr(otherOld), 32)
	check := func(t *testing.T, when, wantQ, wantO string) {
		t.Helper()
		if q, o := quoteOld(1), otherOld(1); q != wantQ || o != wantO {
			t.Fatalf("%s: Quote runs %q, Other %q; want %q, %q", when, q, o, wantQ, wantO)
		}
	}
	for _, order := range []string{"A then B", "B then A"} {
		t.Run(order, func(t *testing.T) {
			p := New()
			first, second := a, b
			if order == "B then A" {
				first, second = b, a
			}
			if err := first(p); err != nil {
				t.Fatal(err)
			}
			if err := second(p); err != nil {
				t.Fatal(err)
			}
			check(t, "both applied", "quote A 1", "other B 1")
			if _, err := p.Revert("B"); err != nil {
				t.Fatal(err)
			}
			check(t, "B reverted", "quote A 1", "other A 1")
			if _, err := p.Revert("A"); err != nil {
				t.Fatal(err)
			}
			check(t, "both reverted", "quote old 1", "other old 1")
			if string(readCode(addr(quoteOld), 32)) != string(origQ) || string(readCode(addr(otherOld), 32)) != string(origO) {
				t.Fatal("code not restored byte for byte")
			}
		})
	}
	t.Run("older reverted first", func(t *testing.T) {
		p := New()
		if err := b(p); err != nil {
			t.Fatal(err)
		}
		if err := a(p); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Revert("A"); err != nil {
			t.Fatal(err)
		}
		check(t, "A reverted under B", "quote old 1", "other B 1")
		if _, err := p.Revert("B"); err != nil {
			t.Fatal(err)
		}
		check(t, "both reverted", "quote old 1", "other old 1")
	})
}
