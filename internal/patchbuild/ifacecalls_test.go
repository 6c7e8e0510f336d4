package patchbuild

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gohotfix/hotfix/loader"
)

// The release's main never calls Area through an interface, and never
// makes a Circle a Shape: its linker drops (Circle).Area, a method of a
// name the interface Shape has.
const droppedRelease = `package p

type Shape interface{ Area() int }

type Circle struct{ R int }

func (c Circle) Area() int { return 3 * c.R * c.R }

type Square struct{ S int }

func (s Square) Area() int { return s.S * s.S }

func Radius(c Circle) int { return c.R }

func Sum(n int) int { return n + 1 }
`

const droppedMain = `package main

import (
	"fmt"

	"example.com/dropped/p"
)

func main() { fmt.Println(p.Radius(p.Circle{R: 2}), p.Sum(1)) }
`

// TestDroppedMethods: a change to a method the release's linker dropped
// is a note while no code the patch runs calls a method of that name
// through an interface, and refused, naming the caller, once a replaced
// function does (directly, or through a function of the package it calls).
func TestDroppedMethods(t *testing.T) {
	flags := []string{"-trimpath", "-gcflags=example.com/dropped/p=-l"}
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"go.mod": "module example.com/dropped\n\ngo 1.26\n", "main.go": droppedMain, "p/p.go": droppedRelease})
	host := filepath.Join(base, "host")
	if out, err := runAll(context.Background(), base, nil, append(append([]string{"build"}, flags...), "-o", host, ".")...); err != nil {
		t.Fatalf("build the release: %v\n%s", err, out)
	}
	bin, err := loader.ReadBinary(host)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bin.Func("example.com/dropped/p.Circle.Area"); ok {
		t.Fatal("the release kept Circle.Area: the test's premise is gone")
	}
	area := strings.Replace(droppedRelease, "3 * c.R * c.R", "314 * c.R * c.R / 100", 1)
	tests := []struct {
		name, fix, want string
		refused         bool
	}{
		{"only the dead method", area, "no code of the release or the patch calls Area through an interface", false},
		{"a caller through the interface", strings.Replace(area, "n + 1 }", "n + Shape(Square{n}).Area() }", 1), "the patch's p.Sum may call Area through an interface", true},
		{"a caller through a helper", strings.Replace(area, "n + 1 }", "n + total([]Shape{Square{n}}) }\n\nfunc total(s []Shape) int { return s[0].Area() }", 1), "the patch's p.Sum may call Area through an interface", true},
		{"a caller through a function value", strings.Replace(area, "n + 1 }", "n + apply(total, n) }\n\nfunc apply(f func(int) int, n int) int { return f(n) }\n\nfunc total(n int) int { return Shape(Square{n}).Area() }", 1), "the patch's p.Sum may call Area through an interface", true},
		{"a method expression", strings.Replace(area, "n + 1 }", "n + Shape.Area(Square{n}) }", 1), "the patch's p.Sum may call Area through an interface", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fix := t.TempDir()
			writeFiles(t, fix, map[string]string{"go.mod": "module example.com/dropped\n\ngo 1.26\n", "main.go": droppedMain, "p/p.go": tt.fix})
			plan, err := analyze(context.Background(), analyzeInput{Base: base, Fix: fix, Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			plan.check(bin, nil)
			var found *Finding
			for _, f := range append(plan.Refusals, plan.Notes...) {
				if f.Object == "example.com/dropped/p.Circle.Area" {
					found = &f
				}
			}
			if found == nil || !strings.Contains(found.Detail, tt.want) || (found.Rule != "not in the release binary") {
				t.Fatalf("Circle.Area: %+v, want %q\nrefusals %v\nnotes %v", found, tt.want, plan.Refusals, plan.Notes)
			}
			if refused := len(plan.Refusals) > 0 && plan.Refusals[0].Object == found.Object; refused != tt.refused {
				t.Errorf("refused %v, want %v: %v", refused, tt.refused, plan.Refusals)
			}
		})
	}
}
