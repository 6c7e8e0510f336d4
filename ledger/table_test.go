package ledger

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Issue 22: a file name from the patch directory, or a version or reason
// from a patch file, must neither reach the terminal raw nor break the
// table's columns.
func TestWriteTableEscapes(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	entries := []Entry{
		{ID: "p1", Version: "1\x1b]0;owned\a", File: "a\x1b[2J.so", Targets: []string{"f"}, State: "applied", UpdatedAt: at},
		{ID: "p2", Version: "2", File: "a\xff.so", State: "refused", Reason: "target \"x\u202eb\": not\tin\nthis binary", UpdatedAt: at},
		{ID: "p3", Version: "3", File: "a\ufffd.so", State: "refused", UpdatedAt: at},
		{ID: "p4", Version: "4", File: "ok\r.so", State: "applied", UpdatedAt: at},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, entries); err != nil {
		t.Fatalf("write table: %v", err)
	}
	out := buf.String()
	for _, raw := range []string{"\x1b", "\a", "\xff", "\u202e", "\t", "\r"} {
		if strings.Contains(out, raw) {
			t.Errorf("table holds %q raw:\n%s", raw, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+len(entries) {
		t.Fatalf("%d lines for %d entries: a newline in a cell made a row:\n%s", len(lines), len(entries), out)
	}
	for _, want := range []string{`"a\x1b[2J.so"`, `"a\xff.so"`, "a\ufffd.so", `"1\x1b]0;owned\a"`, `"ok\r.so"`,
		`"target \"x\u202eb\": not\tin\nthis binary"`} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
	// Columns line up: the UPDATED column starts at the same offset on
	// every row, whatever the names held.
	col := strings.Index(lines[0], "UPDATED")
	for _, l := range lines[1:] {
		i := strings.Index(l, at.Local().Format(time.DateTime))
		if i < 0 || utf8.RuneCountInString(l[:i]) != col {
			t.Errorf("UPDATED not at rune %d, where the header has it: %q", col, l)
		}
	}
}
