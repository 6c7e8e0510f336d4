// Package shadow is the storage of the new struct fields a patch carries
// (shadow state, as kpatch's klp_shadow_get_or_alloc): the release's
// objects keep their layout, and a new field lives beside each object in a
// table keyed by a weak pointer to it, created on first use, zero for
// objects made before the patch, and dropped when the object is freed.
//
// hotfix build copies everything below the package clause and imports
// into the generated file of each package whose fix adds a field
// (patchbuild/shadow.go), so that the patch carries it in that package and
// needs nothing of hotfix at run time; the tests here run the same code.
package shadow

import (
	"runtime"
	"sync"
	"unsafe"
	"weak"
)

// ---- carried into patches ----

// hotfixShadowGet returns the new field that table keeps for the object at
// p, adding one on first use: zero, or what init sets (the field's
// //hotfix:default). The key is a weak pointer: it is
// equal for every weak.Make of the same address of a live object, and a
// new object at the address of a freed one gets another, so a stale entry
// is never handed out; the cleanup removes it once the object is freed.
//
// An object on a goroutine stack has no stable address (the stack moves
// when it grows) and no weak pointer: it gets a new zero value on every
// call (as an object made before the patch would), and what is written
// to it is not kept. hotfix build only passes
// such pointers here through parameters whose escape analysis says the
// release's callers may keep the object on their stack, and notes them.
func hotfixShadowGet[S, T any](table *sync.Map, p *S, init func(*T)) *T {
	if !hotfixShadowPlaced(unsafe.Pointer(p)) {
		return hotfixShadowNew(init)
	}
	k := weak.Make(p)
	if v, ok := table.Load(k); ok {
		return v.(*T)
	}
	v, loaded := table.LoadOrStore(k, hotfixShadowNew(init))
	if !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[S]) { table.Delete(k) }, k)
	}
	return v.(*T)
}

func hotfixShadowNew[T any](init func(*T)) *T {
	v := new(T)
	if init != nil {
		init(v)
	}
	return v
}

// hotfixShadowPlaced reports whether p is in the heap or in a module's
// data: not on a goroutine stack.
func hotfixShadowPlaced(p unsafe.Pointer) bool {
	return hotfixSpanOfHeap(uintptr(p)) != nil || hotfixGoPointerWithoutSpan(p)
}

// hotfixShadowNoEscape hides p from escape analysis, as the runtime's
// noescape does: a replaced function that reaches a new field through a
// parameter must not make the parameter escape, or the release's callers,
// compiled with the old escape analysis, could hand it a stack object it
// keeps.
//
//go:nosplit
func hotfixShadowNoEscape[S any](p *S) *S {
	x := uintptr(unsafe.Pointer(p))
	return *(**S)(unsafe.Pointer(&x))
}

//go:linkname hotfixSpanOfHeap runtime.spanOfHeap
func hotfixSpanOfHeap(p uintptr) unsafe.Pointer

//go:linkname hotfixGoPointerWithoutSpan runtime.isGoPointerWithoutSpan
func hotfixGoPointerWithoutSpan(p unsafe.Pointer) bool
