package hotfix

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Issue 22: the text/plain status page prints file names from the patch
// directory and strings from patch files escaped, one row per patch;
// the JSON answer keeps them exact.
func TestHandlerTextEscapes(t *testing.T) {
	hostile := map[string]*PatchStatus{
		"a": {ID: "p1", Version: "1\x1b]0;owned\a", File: "a\x1b[2J.so", State: StateApplied, Functions: []string{"f"}},
		"b": {ID: "p2", Version: "2", File: "b\u202eos.txt", State: StateRefused, Reason: "bad\ntarget\t\xff"},
	}
	a := &Agent{status: hostile}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "text/plain")
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	out := rec.Body.String()
	for _, raw := range []string{"\x1b", "\a", "\u202e", "\t", "\xff"} {
		if strings.Contains(out, raw) {
			t.Errorf("text status holds %q raw:\n%s", raw, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d lines, want a header and 2 rows:\n%s", n, out)
	}
	for _, want := range []string{`"a\x1b[2J.so"`, `"b\u202eos.txt"`, `"bad\ntarget\t\xff"`} {
		if !strings.Contains(out, want) {
			t.Errorf("text status lacks %s:\n%s", want, out)
		}
	}

	req.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	var rep StatusReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("decode JSON status: %v\n%s", err, rec.Body)
	}
	if len(rep.Patches) != 2 || rep.Patches[0].File != hostile["a"].File || rep.Patches[0].Version != hostile["a"].Version {
		t.Errorf("JSON status changed the names: %+v", rep.Patches)
	}
}
