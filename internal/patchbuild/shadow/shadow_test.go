package shadow

import (
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

type object struct {
	a, b int
	name string
}

type outer struct {
	head int
	in   object
}

var global object

// keep makes its objects escape to the heap.
var keep []any

func onHeap[T any](p *T) *T { keep = append(keep, p); return p }

func entries(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

// The facts the carried storage relies on, on the running Go release.
func TestShadowStorage(t *testing.T) {
	var table sync.Map
	get := func(p *object) *int { return hotfixShadowGet[object, int](&table, hotfixShadowNoEscape(p), nil) }

	heap1, heap2 := onHeap(new(object)), onHeap(new(object))
	*get(heap1) = 7
	if got := *get(heap1); got != 7 {
		t.Fatalf("heap object: the field reads %d after 7 was written", got)
	}
	if got := *get(heap2); got != 0 {
		t.Fatalf("another heap object: the field reads %d, want its own zero", got)
	}

	*get(&global) = 9
	if got := *get(&global); got != 9 {
		t.Fatalf("global object: the field reads %d after 9 was written", got)
	}

	o := onHeap(&outer{})
	*get(&o.in) = 5
	if got := *get(&o.in); got != 5 {
		t.Fatalf("object inside another: the field reads %d after 5 was written", got)
	}

	// hotfixShadowNoEscape keeps onStack on the stack: no weak pointer to
	// it, a fresh zero each time.
	var onStack object
	if hotfixShadowPlaced(unsafeAddr(hotfixShadowNoEscape(&onStack))) {
		t.Fatal("a stack object is reported in the heap or in data")
	}
	*get(&onStack) = 3
	if got := *get(&onStack); got != 0 {
		t.Fatalf("stack object: the field reads %d, want a fresh zero", got)
	}
	keep = nil
}

// A freed object's field leaves the table: the cleanup runs after a GC.
func TestShadowFreedWithObject(t *testing.T) {
	var table sync.Map
	for i := 0; i < 100; i++ {
		p := new(object)
		*hotfixShadowGet[object, int](&table, p, nil) = i
	}
	if n := entries(&table); n != 100 {
		t.Fatalf("%d entries for 100 live objects", n)
	}
	for i := 0; i < 1000 && entries(&table) > 0; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := entries(&table); n != 0 {
		t.Fatalf("%d entries left after the objects were freed", n)
	}
}

// Objects made and freed over and over never see another's field, even
// at a reused address, which the test sees happen.
func TestShadowNoStaleField(t *testing.T) {
	var table sync.Map
	seen := map[uintptr]bool{}
	reused := 0
	for i := 0; i < 20000; i++ {
		p := onHeap(new(object))
		keep = keep[:0]
		addr := uintptr(unsafe.Pointer(p))
		if seen[addr] {
			reused++
		}
		seen[addr] = true
		f := hotfixShadowGet[object, int](&table, p, nil)
		if *f != 0 {
			t.Fatalf("round %d: a new object's field reads %d (an address used %d times before)", i, *f, reused)
		}
		*f = i + 1
		if i%1000 == 0 {
			runtime.GC()
		}
	}
	if reused == 0 {
		t.Fatal("no address was reused: the test shows nothing")
	}
	t.Logf("%d objects made at an address an earlier, freed one had", reused)
}

// BenchmarkShadowGet is one use of a new field of a live heap object.
func BenchmarkShadowGet(b *testing.B) {
	var table sync.Map
	p := onHeap(new(object))
	for b.Loop() {
		*hotfixShadowGet[object, int](&table, hotfixShadowNoEscape(p), nil)++
	}
	keep = nil
}

func unsafeAddr(p *object) unsafe.Pointer { return unsafe.Pointer(p) }

// The default initializes a field on first use, on every kind of object.
func TestShadowDefault(t *testing.T) {
	var table sync.Map
	init := func(v *int) { *v = 42 }
	p := onHeap(new(object))
	if got := *hotfixShadowGet(&table, p, init); got != 42 {
		t.Fatalf("heap object: the field reads %d, want the default 42", got)
	}
	*hotfixShadowGet(&table, p, init) = 1
	if got := *hotfixShadowGet(&table, p, init); got != 1 {
		t.Fatalf("heap object: the field reads %d after 1 was written", got)
	}
	var onStack object
	if got := *hotfixShadowGet(&table, hotfixShadowNoEscape(&onStack), init); got != 42 {
		t.Fatalf("stack object: the field reads %d, want the default 42", got)
	}
	keep = nil
}
