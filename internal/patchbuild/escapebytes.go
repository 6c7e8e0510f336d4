package patchbuild

import (
	"go/types"
	"strconv"
	"strings"
)

// What a caller relies on when its callee does not write through a
// parameter is a []byte(s) conversion sharing s's bytes
// (TestZeroCopyNeedsMutationTags): only a write to memory that may be a
// []byte's array can break it. A fix that starts writing to a struct
// through its pointer (s.hits++) asks nothing of its callers.

// writableBytes reports whether memory derefs dereferences from a value
// of type t (0: what the value points to) may be the bytes of a []byte.
func writableBytes(t types.Type, derefs int) bool {
	level := pointees(t)
	for ; derefs > 0; derefs-- {
		var next []types.Type
		for _, m := range level {
			if m == nil {
				return true
			}
			next = append(next, pointees(m)...)
		}
		if len(next) > 256 {
			return true
		}
		level = next
	}
	for _, m := range level {
		if m == nil || isByte(m) {
			return true
		}
		if a, ok := m.Underlying().(*types.Array); ok && isByte(a.Elem()) {
			return true // *[N]byte, from a []byte by conversion
		}
	}
	return false
}

// pointees returns the types of the memory a value of type t points to
// directly; nil stands for memory of any type.
func pointees(t types.Type) []types.Type {
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		return []types.Type{u.Elem()}
	case *types.Slice:
		return []types.Type{u.Elem()}
	case *types.Map:
		return []types.Type{u.Key(), u.Elem()}
	case *types.Chan:
		return []types.Type{u.Elem()}
	case *types.Array:
		return pointees(u.Elem())
	case *types.Struct:
		var out []types.Type
		for i := range u.NumFields() {
			out = append(out, pointees(u.Field(i).Type())...)
		}
		return out
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return []types.Type{nil}
		}
		return nil // a string's bytes are never written
	}
	return []types.Type{nil} // an interface, a func (its closure), a type parameter
}

func isByte(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && (b.Kind() == types.Byte || b.Kind() == types.Uint8)
}

// withoutHarmlessWrites drops from a parameter's diagnostics the writes
// through it that cannot reach a []byte's bytes, for a parameter of type t
// (nil: unknown, nothing dropped).
func withoutHarmlessWrites(diags string, t types.Type) string {
	if t == nil || diags == "" {
		return diags
	}
	var keep []string
	for _, msg := range strings.Split(diags, "; ") {
		if rest, ok := strings.CutPrefix(msg, "mutates param: "); ok {
			_, d, _ := strings.Cut(rest, " derefs=")
			if n, err := strconv.Atoi(d); err == nil && !writableBytes(t, n) {
				continue
			}
		}
		keep = append(keep, msg)
	}
	if len(keep) == 0 {
		name, _, _ := strings.Cut(strings.TrimPrefix(diags, "mutates param: "), " ")
		return name + " does not escape, mutate, or call"
	}
	return strings.Join(keep, "; ")
}
