package bip39

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// SHA-256 of the official files in bitcoin/bips bip-0039/. Both values are
// the ones commonly published (e.g. the checksum table in rust-bitcoin's
// rust-bip39); the Japanese file also matches the CRC-32 0x0acc1419 pinned by
// github.com/tyler-smith/go-bip39. The Japanese file stores its words in
// decomposed (NFD = NFKD for these words) form.
const (
	englishSHA256  = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
	japaneseSHA256 = "2eed0aef492291e061633d7ad8117f1a2b03eb80a29d0e4e3117ac2528d05ffd"
)

func TestWordlistFilesAreOfficial(t *testing.T) {
	for _, tc := range []struct {
		name, txt, want string
	}{
		{"english", englishTxt, englishSHA256},
		{"japanese", japaneseTxt, japaneseSHA256},
	} {
		sum := sha256.Sum256([]byte(tc.txt))
		if got := hex.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("%s.txt SHA-256 = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestWordlists(t *testing.T) {
	for _, tc := range []struct {
		wl          *Wordlist
		name        string
		first, last string
	}{
		{English, "english", "abandon", "zoo"},
		{Japanese, "japanese", "あいこくしん", "われる"},
	} {
		wl := tc.wl
		if wl.Name() != tc.name {
			t.Errorf("Name() = %q, want %q", wl.Name(), tc.name)
		}
		if len(wl.words) != 2048 || len(wl.index) != 2048 {
			t.Fatalf("%s: %d words, %d distinct; want 2048 of each", tc.name, len(wl.words), len(wl.index))
		}
		if got, want := wl.Word(0), norm.NFKD.String(tc.first); got != want {
			t.Errorf("%s Word(0) = %q, want %q", tc.name, got, want)
		}
		if got, want := wl.Word(2047), norm.NFKD.String(tc.last); got != want {
			t.Errorf("%s Word(2047) = %q, want %q", tc.name, got, want)
		}
		for _, i := range []int{-1, 2048, 1 << 30} {
			if w := wl.Word(i); w != "" {
				t.Errorf("%s Word(%d) = %q, want \"\"", tc.name, i, w)
			}
		}
		for i := 0; i < 2048; i++ {
			w := wl.Word(i)
			if !norm.NFKD.IsNormalString(w) {
				t.Errorf("%s word %d is not in NFKD form", tc.name, i)
			}
			if j, ok := wl.Index(w); !ok || j != i {
				t.Errorf("%s Index(Word(%d)) = %d, %v", tc.name, i, j, ok)
			}
			// The composed spelling must be found too.
			if j, ok := wl.Index(norm.NFC.String(w)); !ok || j != i {
				t.Errorf("%s Index(NFC(Word(%d))) = %d, %v", tc.name, i, j, ok)
			}
		}
		if _, ok := wl.Index("notaword"); ok {
			t.Errorf("%s Index found a word that is not in the list", tc.name)
		}
	}
}

func TestJapaneseListNeedsNFKD(t *testing.T) {
	// がいき is word 317; the file stores it decomposed, so the composed
	// spelling (as typed on most keyboards) differs byte-wise but must match.
	composed := "\u304c\u3044\u304d"
	if strings.Contains(japaneseTxt, composed+"\n") {
		t.Fatal("japanese.txt unexpectedly stores がいき composed")
	}
	if i, ok := Japanese.Index(composed); !ok || i != 317 {
		t.Fatalf("Index(がいき) = %d, %v; want 317, true", i, ok)
	}
}

func TestWordlistsDisjoint(t *testing.T) {
	for w := range English.index {
		if _, ok := Japanese.index[w]; ok {
			t.Fatalf("a word is in both lists")
		}
	}
}

func TestLoadRejectsMalformedLists(t *testing.T) {
	good := englishTxt
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	for name, txt := range map[string]string{
		"no final newline": strings.TrimSuffix(good, "\n"),
		"too few":          strings.Join(lines[1:], "\n") + "\n",
		"too many":         good + "extra\n",
		"duplicate":        strings.Join(append([]string{lines[1]}, lines[1:]...), "\n") + "\n",
		"blank line":       strings.Join(append([]string{""}, lines[1:]...), "\n") + "\n",
		"trailing space":   strings.Replace(good, "accuse\n", "accuse \n", 1),
		"CRLF":             strings.ReplaceAll(good, "\n", "\r\n"),
	} {
		if _, err := load("test", " ", txt); err == nil {
			t.Errorf("%s: load accepted a malformed list", name)
		}
	}
	if _, err := load("test", " ", good); err != nil {
		t.Fatalf("load rejected the official list: %v", err)
	}
}
