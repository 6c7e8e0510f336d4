package patcher

import (
	"fmt"
	"strconv"
	"strings"
)

// The functions the stress and shape tests patch: one of each shape, in an
// old (v0) and a new (v1) version with the same signature. Every answer is
// "<prefix> <version> <payload>", where the payload depends only on the
// arguments, so a caller can tell old from new and both from garbage.

type stCounter struct{ base int }

//go:noinline
func (c *stCounter) Ptr(x int) string { return fmt.Sprintf("ptr v0 %d", c.base+x) }

//go:noinline
func (c *stCounter) PtrNew(x int) string { return fmt.Sprintf("ptr v1 %d", c.base+x) }

type stVal struct{ a, b int }

//go:noinline
func (v stVal) Value(x int) string { return fmt.Sprintf("value v0 %d", v.a*x+v.b) }

//go:noinline
func (v stVal) ValueNew(x int) string { return fmt.Sprintf("value v1 %d", v.a*x+v.b) }

type stShape interface{ Area(x int) string }

type stSquare struct{ side int }

//go:noinline
func (s *stSquare) Area(x int) string { return fmt.Sprintf("area v0 %d", s.side*s.side+x) }

//go:noinline
func (s *stSquare) AreaNew(x int) string { return fmt.Sprintf("area v1 %d", s.side*s.side+x) }

//go:noinline
func stPlain(x int) string { return fmt.Sprintf("plain v0 %d", x) }

//go:noinline
func stPlainNew(x int) string { return fmt.Sprintf("plain v1 %d", x) }

// stRec recurses into itself: redirected, its inner calls go to the new
// code, and only the innermost call names its version.
//
//go:noinline
func stRec(n, acc int) string {
	if n <= 0 {
		return fmt.Sprintf("rec v0 %d", acc)
	}
	return stRec(n-1, acc+n)
}

//go:noinline
func stRecNew(n, acc int) string {
	if n <= 0 {
		return fmt.Sprintf("rec v1 %d", acc)
	}
	return stRecNew(n-1, acc+n)
}

//go:noinline
func stGuard(x int) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("guard v0 recovered %v", r)
		}
	}()
	if x%4 == 0 {
		panic(x)
	}
	return fmt.Sprintf("guard v0 %d", x)
}

//go:noinline
func stGuardNew(x int) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("guard v1 recovered %v", r)
		}
	}()
	if x%4 == 0 {
		panic(x)
	}
	return fmt.Sprintf("guard v1 %d", x)
}

//go:noinline
func stMedium(x int) string {
	var buf [512]byte
	for i := range buf {
		buf[i] = byte(x + i)
	}
	return fmt.Sprintf("medium v0 %d", int(buf[x%len(buf)])+int(buf[(x+7)%len(buf)]))
}

//go:noinline
func stMediumNew(x int) string {
	var buf [512]byte
	for i := range buf {
		buf[i] = byte(x + i)
	}
	return fmt.Sprintf("medium v1 %d", int(buf[x%len(buf)])+int(buf[(x+7)%len(buf)]))
}

//go:noinline
func stBig(x int) string {
	var buf [8192]byte
	for i := range buf {
		buf[i] = byte(x ^ i)
	}
	return fmt.Sprintf("big v0 %d", int(buf[x%len(buf)])+int(buf[(x*31)%len(buf)]))
}

//go:noinline
func stBigNew(x int) string {
	var buf [8192]byte
	for i := range buf {
		buf[i] = byte(x ^ i)
	}
	return fmt.Sprintf("big v1 %d", int(buf[x%len(buf)])+int(buf[(x*31)%len(buf)]))
}

//go:noinline
func stSmall(x int) string { return "small v0 " + strconv.Itoa(x) }

//go:noinline
func stSmallNew(x int) string { return "small v1 " + strconv.Itoa(x) }

// stPair is one function and its replacement, as func values of the same
// type (what gohook needs) and as entry addresses (what Patcher needs).
type stPair struct {
	name     string
	old, new any
}

var stPairs = []stPair{
	{"(*stCounter).Ptr", (*stCounter).Ptr, (*stCounter).PtrNew},
	{"stVal.Value", stVal.Value, stVal.ValueNew},
	{"(*stSquare).Area", (*stSquare).Area, (*stSquare).AreaNew},
	{"stPlain", stPlain, stPlainNew},
	{"stRec", stRec, stRecNew},
	{"stGuard", stGuard, stGuardNew},
	{"stMedium", stMedium, stMediumNew},
	{"stBig", stBig, stBigNew},
	{"stSmall", stSmall, stSmallNew},
	{"stHotSmall", stHotSmall, stHotSmallNew},
	{"stHotMedium", stHotMedium, stHotMediumNew},
}

func stRedirects() []Redirect {
	rs := make([]Redirect, len(stPairs))
	for i, p := range stPairs {
		rs[i] = redirect(p.name, p.old, p.new)
	}
	return rs
}

// Taken before any patch: calls through them must follow the patches.
var (
	stCtr                 = &stCounter{base: 7}
	stV                   = stVal{a: 3, b: 1}
	stSq          stShape = &stSquare{side: 5}
	stValuer              = interface{ Value(int) string }(stV)
	stStored              = stPlain
	stBound               = stCtr.Ptr
	stVersionsAll         = []string{"v0", "v1"}
)

// stCheck is one call site: an answer is right when it is prefix, a space,
// a known version, then suffix(x).
type stCheck struct {
	name   string
	prefix string
	call   func(x int) string
	suffix func(x int) string
}

func stNum(n int) string { return " " + strconv.Itoa(n) }

var stChecks = []stCheck{
	{"pointer method", "ptr", func(x int) string { return stCtr.Ptr(x) }, func(x int) string { return stNum(7 + x) }},
	{"method value bound before the patch", "ptr", func(x int) string { return stBound(x) }, func(x int) string { return stNum(7 + x) }},
	{"value method", "value", func(x int) string { return stV.Value(x) }, func(x int) string { return stNum(3*x + 1) }},
	{"value method through an interface", "value", func(x int) string { return stValuer.Value(x) }, func(x int) string { return stNum(3*x + 1) }},
	{"method through an interface", "area", func(x int) string { return stSq.Area(x) }, func(x int) string { return stNum(25 + x) }},
	{"func value stored before the patch", "plain", func(x int) string { return stStored(x) }, func(x int) string { return stNum(x) }},
	{"recursive", "rec", func(x int) string { return stRec(x%32, 0) }, func(x int) string { n := x % 32; return stNum(n * (n + 1) / 2) }},
	{"defer/recover", "guard", stGuard, func(x int) string {
		if x%4 == 0 {
			return " recovered" + stNum(x)
		}
		return stNum(x)
	}},
	{"medium frame", "medium", stMedium, func(x int) string { return stNum(int(byte(x+x%512)) + int(byte(x+(x+7)%512))) }},
	{"large frame (> 4 KiB)", "big", stBig, func(x int) string { return stNum(int(byte(x^(x%8192))) + int(byte(x^((x*31)%8192)))) }},
	{"small frame", "small", stSmall, func(x int) string { return stNum(x) }},
}

// verify returns the version that answered and whether the answer is
// exactly what that version computes.
func (c *stCheck) verify(got string, x int) (string, bool) {
	rest, ok := strings.CutPrefix(got, c.prefix+" ")
	if !ok || len(rest) < 2 {
		return "", false
	}
	ver := rest[:2]
	known := false
	for _, v := range stVersionsAll {
		known = known || v == ver
	}
	return ver, known && rest[2:] == c.suffix(x)
}

// The hot functions are cheap, so callers spend much of their time near
// their entries: where a goroutine can be stopped just past the first
// instruction, as the experiment found (entry+5, after the LEAQ of
// a medium-frame stack check).

//go:noinline
func stSink(x int) int { return x }

//go:noinline
func stSinkArr(b *[24]int, x int) int { return b[x%24] }

// stHotSmall has a small-frame stack check: CMPQ SP, 16(R14); JLS.
//
//go:noinline
func stHotSmall(x int) int { return stSink(x) + 1 }

//go:noinline
func stHotSmallNew(x int) int { return stSink(x) + 2 }

// stHotMedium has a medium-frame stack check: LEAQ -n(SP), R12; CMPQ; JLS.
//
//go:noinline
func stHotMedium(x int) int {
	var b [24]int
	b[x%24] = x
	return stSinkArr(&b, x) + 1
}

//go:noinline
func stHotMediumNew(x int) int {
	var b [24]int
	b[x%24] = x
	return stSinkArr(&b, x) + 2
}

// stHot is a call site of a hot function: the old code answers x+1, the
// new x+2.
type stHot struct {
	name string
	call func(int) int
}

var stHots = []stHot{
	{"hot small frame", stHotSmall},
	{"hot medium frame", stHotMedium},
}
