// Package printable holds the one rule for printing a string that came
// from outside (a patch file's name, a manifest field, an error that
// quotes them) to a terminal, a tab-separated table or a text/plain page.
package printable

import (
	"strconv"
	"unicode/utf8"
)

// String returns s unchanged when it is safe to print as it is, and
// otherwise s as a Go string literal (strconv.Quote). Safe means valid
// UTF-8 of runes that strconv.IsPrint accepts, so no control byte, ESC,
// tab or newline and no bidi override (U+202A–U+202E, U+2066–U+2069: they
// are format characters, not printable), not starting with a double
// quote and neither starting nor ending with a space.
//
// The exceptions keep two different strings from ever printing the same:
// a quoted string starts with '"', which a plain one never does, and in a
// table padded with spaces "a " would look like "a". strconv.Quote writes
// each invalid byte as \xff, never as U+FFFD. String is a pure function,
// safe for concurrent use.
func String(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

func plain(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == '"' || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		s = s[n:]
	}
	return true
}
