// Package untrusted makes text that came from outside (a PSBT, a QR code,
// a file, a UR or BBQr header) safe to put in an error, a review or a
// log. It is the one place kinko does this: every package that echoes
// such text calls [Quote] or [Text].
//
// The danger is a terminal's: ESC and the other C0 and C1 control
// characters move the cursor, rewrite lines or change the title, and
// Unicode format characters (bidi overrides) reorder what is shown. The
// functions here escape all of them, invalid UTF-8 and every non-ASCII
// rune, so what an operator reads is exactly what the input held.
package untrusted

import (
	"strconv"
	"unicode/utf8"
)

// Quote returns s as a double-quoted Go string literal in which every
// byte outside printable ASCII is escaped (\x1b, \u202e, ...). When s is
// longer than max bytes (max > 0) only its first max bytes are kept,
// cut at a rune boundary, and "..." follows the closing quote.
func Quote(s string, max int) string {
	cut := false
	if max > 0 && len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 {
			n = max
		}
		s, cut = s[:n], true
	}
	q := strconv.QuoteToASCII(s)
	if cut {
		q += "..."
	}
	return q
}

// Text returns s unchanged when it is non-empty printable ASCII without
// spaces or quotes (an address, a txid, a name), and Quote(s, 0)
// otherwise, so that the bare form can never be mistaken for a quoted one.
func Text(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '"' {
			return Quote(s, 0)
		}
	}
	return s
}
