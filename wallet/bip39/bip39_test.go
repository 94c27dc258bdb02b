package bip39

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
)

const validEnglish12 = "legal winner thank year wave sausage worth useful legal winner thank yellow"

// assertNoWords fails if msg contains any of the given secret words.
func assertNoWords(t *testing.T, msg string, words ...string) {
	t.Helper()
	for _, w := range words {
		if w != "" && strings.Contains(msg, w) {
			t.Errorf("error message %q leaks a mnemonic word", msg)
		}
	}
}

func TestNewEntropy(t *testing.T) {
	for _, bits := range []int{128, 160, 192, 224, 256} {
		a, err := NewEntropy(bits)
		if err != nil {
			t.Fatalf("NewEntropy(%d): %v", bits, err)
		}
		b, err := NewEntropy(bits)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != bits/8 || len(b) != bits/8 {
			t.Fatalf("NewEntropy(%d) returned %d bytes", bits, len(a))
		}
		if bytes.Equal(a, b) {
			t.Fatalf("NewEntropy(%d) returned the same bytes twice", bits)
		}
	}
	for _, bits := range []int{0, -128, 8, 127, 129, 136, 255, 257, 512} {
		if _, err := NewEntropy(bits); !errors.Is(err, ErrEntropyLength) {
			t.Errorf("NewEntropy(%d) error = %v, want ErrEntropyLength", bits, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, wl := range []*Wordlist{English, Japanese} {
		for _, bits := range []int{128, 160, 192, 224, 256} {
			for n := 0; n < 20; n++ {
				ent, err := NewEntropy(bits)
				if err != nil {
					t.Fatal(err)
				}
				m, err := NewMnemonic(ent, wl)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(splitWords(m)); got != bits/32*3 {
					t.Fatalf("%d bits gave %d words", bits, got)
				}
				for _, list := range []*Wordlist{wl, nil} {
					back, err := EntropyFromMnemonic(m, list)
					if err != nil {
						t.Fatalf("%s %d bits: %v", wl.Name(), bits, err)
					}
					if !bytes.Equal(back, ent) {
						t.Fatalf("%s %d bits: round trip changed the entropy", wl.Name(), bits)
					}
				}
			}
		}
	}
}

func TestWhitespaceTolerance(t *testing.T) {
	want, err := EntropyFromMnemonic(validEnglish12, English)
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(validEnglish12)
	for _, m := range []string{
		"  " + validEnglish12 + "\n",
		strings.Join(words, "\t"),
		strings.Join(words, " \r\n "),
		strings.Join(words, "\u3000"), // ideographic space
		strings.Join(words, "\u00a0"), // no-break space
		strings.Join(words, "\u2003"), // em space
	} {
		got, err := EntropyFromMnemonic(m, nil)
		if err != nil {
			t.Errorf("%q: %v", m, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q: wrong entropy", m)
		}
	}
	// Full-width Latin letters are compatibility characters; NFKD maps
	// them to ASCII.
	fullwidth := strings.Replace(validEnglish12, "legal", "ｌｅｇａｌ", 1)
	if err := Validate(fullwidth); err != nil {
		t.Errorf("full-width word: %v", err)
	}
}

func TestWrongWordCount(t *testing.T) {
	words := strings.Fields(validEnglish12 + " " + validEnglish12 + " " + validEnglish12)
	for _, n := range []int{0, 1, 3, 11, 13, 14, 16, 23, 25, 36} {
		m := strings.Join(words[:n], " ")
		for _, wl := range []*Wordlist{English, nil} {
			_, err := EntropyFromMnemonic(m, wl)
			if !errors.Is(err, ErrWordCount) {
				t.Fatalf("%d words: error = %v, want ErrWordCount", n, err)
			}
			if !strings.Contains(err.Error(), "has "+itoa(n)+" words") {
				t.Errorf("%d words: error %q does not give the count", n, err)
			}
			assertNoWords(t, err.Error(), words[:n]...)
		}
	}
	if err := Validate("   \n\t "); !errors.Is(err, ErrWordCount) {
		t.Errorf("blank mnemonic: error = %v, want ErrWordCount", err)
	}
}

func TestUnknownWord(t *testing.T) {
	words := strings.Fields(validEnglish12)
	secret := append([]string(nil), words...)

	for pos := 1; pos <= 12; pos++ {
		bad := append([]string(nil), words...)
		bad[pos-1] = "qqzzyx"
		m := strings.Join(bad, " ")
		for _, wl := range []*Wordlist{English, nil} {
			_, err := EntropyFromMnemonic(m, wl)
			if !errors.Is(err, ErrUnknownWord) {
				t.Fatalf("position %d: error = %v, want ErrUnknownWord", pos, err)
			}
			want := "word " + itoa(pos) + " is not in the english word list"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("position %d: error %q does not contain %q", pos, err, want)
			}
			assertNoWords(t, err.Error(), append(secret, "qqzzyx")...)
		}
	}

	// Upper case is not the list's spelling.
	if err := Validate(strings.Replace(validEnglish12, "wave", "Wave", 1)); !errors.Is(err, ErrUnknownWord) {
		t.Errorf("capitalised word: error = %v, want ErrUnknownWord", err)
	}

	// No word in any list: position 1 is reported without naming a list.
	_, err := EntropyFromMnemonic(strings.Repeat("qqzzyx ", 12), nil)
	if !errors.Is(err, ErrUnknownWord) || !strings.Contains(err.Error(), "word 1 is not in any supported word list") {
		t.Errorf("no known words: error = %v", err)
	}
	assertNoWords(t, err.Error(), "qqzzyx")

	// A Japanese word among English ones: the list is detected as English
	// and the Japanese word is the unknown one.
	mixed := append([]string(nil), words...)
	mixed[7] = "あいこくしん"
	_, err = EntropyFromMnemonic(strings.Join(mixed, " "), nil)
	if !errors.Is(err, ErrUnknownWord) || !strings.Contains(err.Error(), "word 8 is not in the english word list") {
		t.Errorf("mixed languages: error = %v", err)
	}
	assertNoWords(t, err.Error(), append(secret, "あいこくしん")...)

	// An English mnemonic checked against the Japanese list.
	_, err = EntropyFromMnemonic(validEnglish12, Japanese)
	if !errors.Is(err, ErrUnknownWord) || !strings.Contains(err.Error(), "word 1 is not in the japanese word list") {
		t.Errorf("English words, Japanese list: error = %v", err)
	}
}

func TestBadChecksum(t *testing.T) {
	for _, m := range []string{
		strings.Repeat("abandon ", 12),
		strings.Repeat("zoo ", 24),
		// legal winner ... with the last word changed
		strings.Replace(validEnglish12, "yellow", "year", 1),
		// two words swapped
		"winner legal thank year wave sausage worth useful legal winner thank yellow",
	} {
		for _, wl := range []*Wordlist{English, nil} {
			_, err := EntropyFromMnemonic(m, wl)
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("%q: error = %v, want ErrChecksum", m, err)
			}
			assertNoWords(t, err.Error(), strings.Fields(m)...)
		}
	}
	// Every single-word substitution in a 24-word mnemonic either fails the
	// checksum or (1 time in 256) happens to pass it; none may be accepted
	// with the original entropy.
	ent := bytes.Repeat([]byte{0x5a}, 32)
	m, err := NewMnemonic(ent, English)
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(m)
	passed := 0
	for pos := range words {
		for _, repl := range []string{"abandon", "zoo", "satoshi"} {
			if words[pos] == repl {
				continue
			}
			w := append([]string(nil), words...)
			w[pos] = repl
			got, err := EntropyFromMnemonic(strings.Join(w, " "), English)
			switch {
			case err == nil:
				passed++
				if bytes.Equal(got, ent) {
					t.Fatalf("substituted word %d decoded to the original entropy", pos+1)
				}
			case !errors.Is(err, ErrChecksum):
				t.Fatalf("substituted word %d: error = %v", pos+1, err)
			}
		}
	}
	if passed > 3 {
		t.Errorf("%d of %d substitutions passed the 8-bit checksum", passed, 3*len(words))
	}
}

func TestNewMnemonicRefusals(t *testing.T) {
	for _, n := range []int{0, 1, 15, 17, 31, 33, 64} {
		_, err := NewMnemonic(make([]byte, n), English)
		if !errors.Is(err, ErrEntropyLength) {
			t.Errorf("%d bytes: error = %v, want ErrEntropyLength", n, err)
		}
	}
	if _, err := NewMnemonic(nil, English); !errors.Is(err, ErrEntropyLength) {
		t.Errorf("nil entropy: error = %v, want ErrEntropyLength", err)
	}
	if _, err := NewMnemonic(make([]byte, 16), nil); err == nil {
		t.Error("NewMnemonic accepted a nil word list")
	}
}

func TestMinRollsIsExact(t *testing.T) {
	six := big.NewInt(6)
	for bits, n := range minRolls {
		two := new(big.Int).Lsh(big.NewInt(1), uint(bits))
		enough := new(big.Int).Exp(six, big.NewInt(int64(n)), nil)
		fewer := new(big.Int).Exp(six, big.NewInt(int64(n-1)), nil)
		if enough.Cmp(two) < 0 || fewer.Cmp(two) >= 0 {
			t.Errorf("minRolls[%d] = %d is not the least n with 6^n >= 2^%d", bits, n, bits)
		}
	}
	if len(minRolls) != 5 {
		t.Errorf("minRolls has %d sizes, want 5", len(minRolls))
	}
}

func TestEntropyFromDice(t *testing.T) {
	// Known answers: SHA-256 of the roll string, truncated.
	for _, tc := range []struct {
		rolls string
		bits  int
		want  string
	}{
		{strings.Repeat("1", 50), 128, "3dac51a65ec9fcfc409a1b5f1defe92b"},
		{strings.Repeat("6", 62), 160, "e9a57fd1c5fd250dd2efa72c460788b6a62cc59a"},
		{strings.Repeat("123456", 16) + "1234", 256, "e56403e8522ddeae1b44a1e8148b1ba4d3b4c626ccf20980056eedcc7e0c0f35"},
	} {
		got, err := EntropyFromDice(tc.rolls, tc.bits)
		if err != nil {
			t.Fatalf("%d rolls, %d bits: %v", len(tc.rolls), tc.bits, err)
		}
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("%d rolls, %d bits: got %x, want %s", len(tc.rolls), tc.bits, got, tc.want)
		}
	}

	// Each size: the minimum is accepted, more is accepted, one fewer is not.
	for bits, n := range minRolls {
		for _, k := range []int{n, n + 1, 3 * n} {
			rolls := strings.Repeat("3", k)
			got, err := EntropyFromDice(rolls, bits)
			if err != nil {
				t.Errorf("%d rolls for %d bits: %v", k, bits, err)
				continue
			}
			sum := sha256.Sum256([]byte(rolls))
			if !bytes.Equal(got, sum[:bits/8]) {
				t.Errorf("%d rolls for %d bits: wrong entropy", k, bits)
			}
		}
		_, err := EntropyFromDice(strings.Repeat("3", n-1), bits)
		if !errors.Is(err, ErrDiceRolls) {
			t.Errorf("%d rolls for %d bits: error = %v, want ErrDiceRolls", n-1, bits, err)
		}
	}
	// In particular 99 rolls (about 255.9 bits) are not enough for 256.
	if _, err := EntropyFromDice(strings.Repeat("5", 99), 256); !errors.Is(err, ErrDiceRolls) {
		t.Errorf("99 rolls for 256 bits: error = %v, want ErrDiceRolls", err)
	}
	if _, err := EntropyFromDice("", 128); !errors.Is(err, ErrDiceRolls) {
		t.Errorf("no rolls: error = %v, want ErrDiceRolls", err)
	}

	// Anything but the digits 1 to 6 is refused, with its position and
	// without the character itself.
	base := strings.Repeat("2", 60)
	for _, tc := range []struct {
		bad string
		pos int
	}{
		{"0", 1}, {"7", 60}, {"9", 30}, {" ", 12}, {"a", 5}, {"-", 2},
		{"\n", 61}, {"６", 7}, {"一", 44}, {"\xff", 9},
	} {
		rolls := base[:tc.pos-1] + tc.bad + base[tc.pos-1:]
		_, err := EntropyFromDice(rolls, 128)
		if !errors.Is(err, ErrDiceRolls) {
			t.Fatalf("%q at %d: error = %v, want ErrDiceRolls", tc.bad, tc.pos, err)
		}
		if want := "bip39: dice roll " + itoa(tc.pos) + " is not a digit 1 to 6: invalid dice rolls"; err.Error() != want {
			t.Errorf("%q at %d: error %q, want %q", tc.bad, tc.pos, err, want)
		}
	}

	for _, bits := range []int{0, 100, 127, 512} {
		if _, err := EntropyFromDice(strings.Repeat("1", 200), bits); !errors.Is(err, ErrEntropyLength) {
			t.Errorf("%d bits: error = %v, want ErrEntropyLength", bits, err)
		}
	}
}

func TestSeedDoesNotValidate(t *testing.T) {
	// BIP-39: any string yields a seed; validation is the caller's job.
	if len(Seed("not a mnemonic", "")) != 64 {
		t.Fatal("Seed did not return 64 bytes")
	}
	if bytes.Equal(Seed(validEnglish12, ""), Seed(validEnglish12, "TREZOR")) {
		t.Fatal("the passphrase does not change the seed")
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
