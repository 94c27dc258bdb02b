package bip39

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzEntropyFromMnemonic checks that parsing never panics, that every
// refusal wraps one of the sentinel errors, and that every accepted mnemonic
// re-encodes to its NFKD-normalised words joined with the list's canonical
// separator.
func FuzzEntropyFromMnemonic(f *testing.F) {
	f.Add(validEnglish12, uint8(0))
	f.Add(validEnglish12, uint8(1))
	f.Add("  "+strings.ReplaceAll(validEnglish12, " ", "\u3000\t")+"\n", uint8(0))
	f.Add(strings.Repeat("abandon ", 11)+"about", uint8(0))
	f.Add(strings.Repeat("zoo ", 23)+"vote", uint8(0))
	f.Add(strings.Repeat("abandon ", 12), uint8(0))
	f.Add(strings.Repeat("あいこくしん\u3000", 11)+"あおぞら", uint8(0))
	f.Add(strings.Repeat("あいこくしん ", 11)+"あおぞら", uint8(2))
	f.Add(norm.NFC.String("そつう れきだい ほんやく わかす りくつ ばいか ろせん やちん そつう れきだい ほんやく わかめ"), uint8(0))
	f.Add("", uint8(0))
	f.Add("\xff\xfe abandon", uint8(1))

	f.Fuzz(func(t *testing.T, mnemonic string, which uint8) {
		var wl *Wordlist
		switch which % 3 {
		case 1:
			wl = English
		case 2:
			wl = Japanese
		}
		ent, err := EntropyFromMnemonic(mnemonic, wl)
		if err != nil {
			if !errors.Is(err, ErrWordCount) && !errors.Is(err, ErrUnknownWord) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if Validate(mnemonic) == nil && wl == nil {
				t.Fatal("Validate accepts what EntropyFromMnemonic(nil) refuses")
			}
			return
		}
		if err := Validate(mnemonic); err != nil {
			t.Fatalf("EntropyFromMnemonic accepted, Validate refused: %v", err)
		}
		words := strings.Fields(norm.NFKD.String(mnemonic))
		used := wl
		if used == nil {
			used = English
			if _, ok := English.Index(words[0]); !ok {
				used = Japanese
			}
		}
		want := strings.Join(words, used.sep)
		got, err := NewMnemonic(ent, used)
		if err != nil {
			t.Fatalf("NewMnemonic of accepted entropy: %v", err)
		}
		if got != want {
			t.Fatalf("re-encoded %q, want %q", got, want)
		}
		back, err := EntropyFromMnemonic(got, used)
		if err != nil || !bytes.Equal(back, ent) {
			t.Fatalf("canonical form does not round-trip: %v", err)
		}
	})
}
