package printable

import (
	"strconv"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, reason string
	}{
		{"plain", "hotfix-1.2.so", "hotfix-1.2.so", "an ordinary name prints as it is"},
		{"empty", "", "", "an empty reason is an empty cell, not a pair of quotes"},
		{"inner space", "a b", "a b", "spaces inside a reason are fine"},
		{"non-ASCII letters", "päch-ü.so", "päch-ü.so", "printable UTF-8 is not mangled"},
		{"replacement char", "a\ufffd.so", "a\ufffd.so", "a real U+FFFD is printable and must differ from an invalid byte"},
		{"invalid UTF-8", "a\xff.so", `"a\xff.so"`, "an invalid byte is written as \\xff, not U+FFFD"},
		{"ESC", "a\x1b[2J.so", `"a\x1b[2J.so"`, "an escape sequence must not reach the terminal"},
		{"BEL and NUL", "a\a\x00", `"a\a\x00"`, "control bytes are escaped"},
		{"DEL", "a\x7f", `"a\x7f"`, "DEL is a control byte"},
		{"C1 CSI", "a\u009b2J", `"a\u009b2J"`, "the one-rune CSI is a control character too"},
		{"tab", "a\tb", `"a\tb"`, "a tab would start a new table column"},
		{"newline", "a\nb", `"a\nb"`, "a newline would start a new table row"},
		{"carriage return", "ok\rforged", `"ok\rforged"`, "CR overwrites what was printed"},
		{"RLO", "a\u202egpj.so", `"a\u202egpj.so"`, "a bidi override reorders what follows"},
		{"LRE", "a\u202ab", `"a\u202ab"`, "first of U+202A–U+202E"},
		{"isolate", "a\u2066b\u2069", `"a\u2066b\u2069"`, "bidi isolates U+2066–U+2069"},
		{"zero width", "a\u200bb", `"a\u200bb"`, "an invisible rune would make two names look alike"},
		{"nbsp", "a\u00a0b", `"a\u00a0b"`, "a non-ASCII space looks like a space"},
		{"leading quote", `"a\x1b"`, `"\"a\\x1b\""`, "must not print as the quoted form of a\\x1b"},
		{"trailing space", "a ", `"a "`, "padded in a table, it would look like \"a\""},
		{"leading space", " a", `" a"`, "would look like a wider column gap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %s, want %s (%s)", tt.in, got, tt.want, tt.reason)
			}
		})
	}
}

// Two different strings never print the same: the quoted form unquotes
// to the original, and a plain form never looks like a quoted one.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "a\xff", "a\ufffd", `"a"`, "a ", "a\x1b", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if got == s {
			if len(s) > 0 && s[0] == '"' {
				t.Fatalf("String(%q) is plain but starts with a quote", s)
			}
			return
		}
		back, err := strconv.Unquote(got)
		if err != nil || back != s {
			t.Fatalf("String(%q) = %s, which unquotes to %q, %v", s, got, back, err)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q is not valid UTF-8", s, got)
		}
		for _, r := range got {
			if !strconv.IsPrint(r) {
				t.Fatalf("String(%q) = %q holds %U", s, got, r)
			}
		}
	})
}
