package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBuildShipsChangeKinds: a fix that adds an unexported helper method,
// an exported function and an unexported one it calls with a new
// constant (on every order's check, under load), a function literal, two
// imports, a new type,
// changes an exported function's signature (only replaced code calls it),
// changes a method the release's linker dropped, changes a body in another
// package (audit) so that a parameter escapes less, and renames it,
// new variables (zero, and initialized by calls), changes a constant and
// removes a function, and in audit.Tag removes one of two function
// literals and uses a package the release does not link (encoding/base32,
// carried by the slim link and initialized when the plugin opens)
// (testdata/build/kinds) is built with `hotfix build`
// and applied to a host under HTTP load with GOGC=10. The constant's user,
// whose body did not change, answers the new value; the new variables are
// initialized once: `token` counts its initializer's runs and stays 1
// through a revert, a re-apply and a second patch that builds on the
// first, and the rejection counter keeps counting through all of them.
// Four new fields of desk.Desk (testdata/build/kinds/desk) are kept beside
// each desk (one the only use of an import in its file, one a function
// that desks made before the patch read as the constructor sets it), and
// the one the fix removes stays in the patch's Desk, where the release's
// objects have it: the desk made at start reads the field's
// //hotfix:default, new ones the constructor's value, desks made and
// freed under GC start from zero, and the main desk's count goes on
// through the revert, the re-apply and the second patch.
func TestBuildShipsChangeKinds(t *testing.T) {
	f := requireFixture(t)
	src, host := buildRepo(t, f, "kindsbase")
	if err := copyTree(filepath.Join("testdata", "build", "kinds"), src); err != nil {
		t.Fatal(err)
	}
	// A parameter that escapes in the fix and not in the release is
	// refused before the plugin is built: the release's callers may keep
	// the order on their stack. (A write through it is not: an Order's
	// memory cannot be a []byte(s) conversion's: TestWritableBytes.)
	out, err := buildEdited(t, f, src, host, filepath.Join(src, "orders", "orders.go"), "\tserved++\n\tclean :=", "\tserved++\n\tlast = o\n\tclean :=", "\nvar last *Order\n")
	if want := "orders.Check: parameter o: escape analysis changed (release: o does not escape, mutate, or call; fix: leaking param: o)"; err == nil || !strings.Contains(out, want) {
		t.Fatalf("a fix whose parameter leaks: %v, want %q\n%s", err, want, out)
	}
	plan, err := run(src, f.hotfix, "build", "-dry-run", "-binary", host)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, plan)
	}
	words := strings.Join(strings.Fields(plan), " ")
	for fn, reason := range map[string]string{
		"orders.Check": "body changed", "orders.Limit": "uses a changed constant",
		"audit.Record": "body changed", "desk.(*Desk).Take": "body changed", "desk.New": "body changed",
	} {
		if !replacedOrHeld(words, fn, reason) {
			t.Errorf("plan lacks %s (%s):\n%s", fn, reason, plan)
		}
	}
	outputHas(t, "plan", plan,
		"orders.Order: method added: method validate",
		"orders.Normalize: signature changed: in the export data, and no other package refers to it", "orders.Normalize: signature changed: every caller is replaced",
		"audit.Record: parameters renamed",
		"orders.(*Order).weight: not in the release binary: a method the release's linker dropped",
		"orders.ValidQty: new package-level object", "orders.atLeast: new package-level object", "orders.minQty: constant added", "import added: errors", "import added: encoding/base32",
		"orders.token: package-level variable added: var token: initialized once", "orders.legacy: package-level object removed",
		"desk.Desk: field added: field taken int: kept beside each object (shadow state); a copy of the struct value does not carry it",
		"desk.Desk: field added: field limit int: kept beside each object (shadow state); objects made before the patch read 20",
		"desk.Desk: field added: field used atomic.Bool: kept beside each object (shadow state)",
		"desk.Desk: field added: field report: objects made before the patch read func(name, verb string, taken, limit int) string {",
		"desk.Desk: field removed: field calls int: the patch's struct keeps it, so the layout stays the release's",
	)
	// Go 1.26 numbers function literals among the package's symbols; Go
	// 1.27 does not, and says nothing of the new one.
	if lits := strings.Contains(words, "function literals added or removed"); lits != strings.HasPrefix(runtime.Version(), "go1.26") {
		t.Errorf("plan notes function literals: %v under %s:\n%s", lits, runtime.Version(), plan)
	}
	v1 := filepath.Join(t.TempDir(), "kinds1.so")
	out, err = run(src, f.hotfix, "build", "-binary", host, "-version", "kinds1", "-o", v1)
	if err != nil {
		t.Fatalf("hotfix build: %v\n%s", err, out)
	}
	// Linked against the release, the patch carries the package the
	// release lacks.
	if !strings.Contains(out, "slim link: ") || !bytes.Contains(readFile(v1), []byte("encoding/base32.(*Encoding).EncodeToString")) {
		t.Errorf("the patch is not linked against the release, or lacks encoding/base32's code:\n%s", out)
	}
	// note's parameter escapes in the fix: Receipt, compiled for the
	// release's escape analysis, is replaced too; under full optimization
	// it holds note inlined, and is replaced for that already.
	if !strings.Contains(out, "desk.Receipt  calls desk.note, whose parameter b escapes now: compiled for it") && !strings.Contains(out, "desk.Receipt  holds an inlined copy of desk.note") {
		t.Errorf("hotfix build does not replace note's caller desk.Receipt:\n%s", out)
	}
	// Take's receiver does not escape in the release: a caller could keep
	// its desk on the stack, where the new fields have no place.
	if want := "note: example.com/hostapp/desk.(*Desk).Take: parameter d, which does not escape in the release, reaches the new field(s) Desk.taken, Desk.limit"; !strings.Contains(out, want) {
		t.Errorf("hotfix build does not say %q:\n%s", want, out)
	}
	// New variables' symbols are named after their types (and new types'
	// after their declarations, here without a descriptor to show it): a
	// later patch shares them only if it declares them alike.
	for _, sym := range []string{"example.com/hostapp/orders.token_hotfix", "example.com/hostapp/orders.blocked_hotfix"} {
		if !bytes.Contains(readFile(v1), []byte(sym)) {
			t.Errorf("the patch has no symbol %s...", sym)
		}
	}
	if out, err := run(src, f.hotfix, "inspect", v1); err != nil || !strings.Contains(strings.Join(strings.Fields(out), " "), "adopted example.com/hostapp/audit the release's fingerprint") || !strings.Contains(strings.Join(strings.Fields(out), " "), "adopted example.com/hostapp/orders") {
		t.Errorf("hotfix inspect: %v, want both packages adopted:\n%s", err, out)
	}
	// The second patch builds on the first: the same new variables, and a
	// new answer from Check.
	orders := filepath.Join(src, "orders", "orders.go")
	fixed := readFile(orders)
	if err := os.WriteFile(orders, []byte(strings.Replace(string(fixed), `"rejected:%v:%d:%d"`, `"rejected2:%v:%d:%d"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	v2 := filepath.Join(t.TempDir(), "kinds2.so")
	if out, err := run(src, f.hotfix, "build", "-binary", host, "-version", "kinds2", "-o", v2); err != nil {
		t.Fatalf("hotfix build v2: %v\n%s", err, out)
	}

	dir := newWorkDir(t, filepath.Join("build", "policy.yaml"))
	h := startHost(t, host, dir, "GOGC=10")
	const path = "/order?id=AB&q=3"
	if got := h.mustGet(path); got != "ok:ab 10" {
		t.Fatalf("release answers %q", got)
	}
	load := startFieldLoad(h, path, [][2]string{{"ok:ab", "ok:ab"}, {"10", "5"}})
	want := h.waitAnswer
	// Each rejection answers "rejected:<why>:<count>:<token>": the count
	// must go on by one from wherever it was, the token stay 1.
	count := 0
	reject := func(id, prefix, why string) {
		t.Helper()
		count++
		path := fmt.Sprintf("/order?id=%s&q=7", id)
		if id == "evil" {
			path = "/order?id=evil&q=1"
		}
		if got, want := h.mustGet(path), fmt.Sprintf("%s:%s:%d:1 5", prefix, why, count); got != want {
			t.Fatalf("GET %s = %q, want %q\nlogs:\n%s", path, got, want, h.logs)
		}
	}
	want("/desk?n=5", "main took 5")
	want("/tag?name=x", "<X>")
	drop(t, dir, v1, "kinds.so")
	h.waitRecord("patch applied", 1)
	want(path, "ok:ab 5")
	want("/tag?name=x", "[PA======]") // a literal removed, a package the release lacks
	// New fields: the desk made before the patch reads the default limit,
	// new desks the constructor's, and 200 desks made and freed under
	// GOGC=10 each start from nothing.
	want("/desk?n=5", "main took 5/20")
	want("/desk?n=5", "main took 10/20")
	want("/newdesk?n=3", "new took 3/10")
	want("/receipt?n=7", "receipt 7")
	want("/newdesk?n=30", "new full 0/10")
	for i := 0; i < 5; i++ {
		want("/churn?n=4", "ok")
	}
	want("/audit?name=x", "x!") // a spliced package whose parameter escapes less
	reject("AB", "rejected", "too-many")
	reject("evil", "rejected", "blocked")
	remove(t, dir, "kinds.so")
	h.waitRecord("patch reverted", 1)
	want(path, "ok:ab 10")
	want("/desk?n=5", "main took 5")
	want("/tag?name=x", "<X>")
	drop(t, dir, v1, "kinds.so")
	h.waitRecord("patch applied", 2)
	want(path, "ok:ab 5")
	want("/tag?name=x", "[PA======]")
	want("/desk?n=5", "main took 15/20") // the same desk's fields, kept through the revert
	reject("AB", "rejected", "too-many")
	drop(t, dir, v2, "kinds2.so")
	h.waitRecord("patch applied", 3)
	reject("AB", "rejected2", "too-many")
	want("/desk?n=5", "main took 20/20") // the second patch shares the first's fields
	want("/desk?n=1", "main full 20/20")
	time.Sleep(200 * time.Millisecond) // keep the callers going on the new code
	calls := load.finish(t)
	t.Logf("%d calls over HTTP with GOGC=10 through apply, revert, re-apply and a second patch, 0 wrong", calls)
	h.stop()
}
