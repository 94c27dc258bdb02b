package untrusted

import (
	"strings"
	"testing"
)

// safe reports whether s is printable ASCII only: nothing in it can
// drive a terminal.
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func TestQuote(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"crypto-psbt", 0, `"crypto-psbt"`},
		{"\x1b[2J\x1b]0;pwned\a", 0, `"\x1b[2J\x1b]0;pwned\a"`},
		{"a\u202eb", 0, `"a\u202eb"`},   // right-to-left override
		{"\xff\xfe", 0, `"\xff\xfe"`},   // invalid UTF-8
		{"\u009b31m", 0, `"\u009b31m"`}, // C1 CSI
		{"abcdefgh", 4, `"abcd"...`},    // cut
		{"ab\u00e9cd", 3, `"ab"...`},    // not inside a rune
		{"short", 16, `"short"`},        // not cut
		{"日本", 0, `"\u65e5\u672c"`},     // non-ASCII escaped too
	}
	for _, c := range cases {
		got := Quote(c.in, c.max)
		if got != c.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", c.in, c.max, got, c.want)
		}
		if !safe(got) {
			t.Errorf("Quote(%q) = %q is not printable ASCII", c.in, got)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"bcrt1qxyz":  "bcrt1qxyz",
		"":           `""`,
		"a b":        `"a b"`,
		"\x1b[31m":   `"\x1b[31m"`,
		`say "hi"`:   `"say \"hi\""`,
		"tx\u202eid": `"tx\u202eid"`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("\x1b[2J", 16)
	f.Add("ab\u00e9cd", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		for _, got := range []string{Quote(s, max), Text(s)} {
			if !safe(got) || strings.ContainsAny(got, "\x1b\x9b") {
				t.Fatalf("unsafe output %q for %q", got, s)
			}
		}
	})
}
