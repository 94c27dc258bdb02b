package bip39

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// trezorVectors reads testdata/vectors.json: each vector is
// [entropy hex, mnemonic, seed hex, xprv], seed with passphrase "TREZOR".
func trezorVectors(t *testing.T) [][4]string {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file map[string][][4]string
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	v := file["english"]
	if len(v) != 24 {
		t.Fatalf("vectors.json has %d English vectors, want 24", len(v))
	}
	return v
}

// jpVector is one entry of testdata/test_JP_BIP39.json. Older revisions of
// the upstream file call the mnemonic "phrase" and the passphrase "salt";
// newer ones "mnemonic" and "passphrase". Both are accepted.
type jpVector struct {
	Entropy    string `json:"entropy"`
	Mnemonic   string `json:"mnemonic"`
	Phrase     string `json:"phrase"`
	Passphrase string `json:"passphrase"`
	Salt       string `json:"salt"`
	Seed       string `json:"seed"`
	XPrv       string `json:"bip32_xprv"`
}

func japaneseVectors(t *testing.T) []jpVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/test_JP_BIP39.json")
	if err != nil {
		t.Fatal(err)
	}
	var v []jpVector
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if len(v) != 24 {
		t.Fatalf("test_JP_BIP39.json has %d vectors, want 24", len(v))
	}
	for i := range v {
		if v[i].Mnemonic == "" {
			v[i].Mnemonic = v[i].Phrase
		}
		if v[i].Passphrase == "" {
			v[i].Passphrase = v[i].Salt
		}
		if v[i].Mnemonic == "" || v[i].Passphrase == "" || v[i].Seed == "" || v[i].XPrv == "" {
			t.Fatalf("vector %d is incomplete", i)
		}
	}
	return v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrezorVectors(t *testing.T) {
	for i, v := range trezorVectors(t) {
		entropy, mnemonic, seed := mustHex(t, v[0]), v[1], v[2]

		got, err := NewMnemonic(entropy, English)
		if err != nil {
			t.Fatalf("vector %d: NewMnemonic: %v", i, err)
		}
		if got != mnemonic {
			t.Errorf("vector %d: NewMnemonic = %q, want %q", i, got, mnemonic)
		}

		for _, wl := range []*Wordlist{English, nil} {
			ent, err := EntropyFromMnemonic(mnemonic, wl)
			if err != nil {
				t.Fatalf("vector %d: EntropyFromMnemonic(wl=%v): %v", i, wl, err)
			}
			if !bytes.Equal(ent, entropy) {
				t.Errorf("vector %d: EntropyFromMnemonic = %x, want %x", i, ent, entropy)
			}
		}
		if err := Validate(mnemonic); err != nil {
			t.Errorf("vector %d: Validate: %v", i, err)
		}

		if s := hex.EncodeToString(Seed(mnemonic, "TREZOR")); s != seed {
			t.Errorf("vector %d: Seed = %s, want %s", i, s, seed)
		}
	}
}

func TestJapaneseVectors(t *testing.T) {
	for i, v := range japaneseVectors(t) {
		entropy := mustHex(t, v.Entropy)

		// NewMnemonic emits the list's words in NFKD form, which is also
		// what the official japanese.txt stores, joined with U+3000. The
		// vector file's words may be in composed form, so they are compared
		// after NFKD, word by word (NFKD of the whole string would also turn
		// U+3000 into an ASCII space); the separators must match exactly.
		got, err := NewMnemonic(entropy, Japanese)
		if err != nil {
			t.Fatalf("vector %d: NewMnemonic: %v", i, err)
		}
		vw := strings.Split(v.Mnemonic, "\u3000")
		for j := range vw {
			vw[j] = norm.NFKD.String(vw[j])
		}
		if want := strings.Join(vw, "\u3000"); got != want {
			t.Errorf("vector %d: NewMnemonic = %q, want %q", i, got, want)
		}
		if norm.NFC.String(got) != norm.NFC.String(v.Mnemonic) {
			t.Errorf("vector %d: NewMnemonic is not canonically equivalent to the vector", i)
		}

		// The mnemonic as given, its NFKD and NFC forms, and the same words
		// separated by ASCII spaces all decode to the entropy and all give
		// the published seed.
		asciiSpaced := strings.ReplaceAll(v.Mnemonic, "\u3000", " ")
		for _, m := range []string{v.Mnemonic, got, norm.NFC.String(v.Mnemonic), asciiSpaced} {
			for _, wl := range []*Wordlist{Japanese, nil} {
				ent, err := EntropyFromMnemonic(m, wl)
				if err != nil {
					t.Fatalf("vector %d: EntropyFromMnemonic(wl=%v): %v", i, wl, err)
				}
				if !bytes.Equal(ent, entropy) {
					t.Errorf("vector %d: EntropyFromMnemonic = %x, want %x", i, ent, entropy)
				}
			}
			if err := Validate(m); err != nil {
				t.Errorf("vector %d: Validate: %v", i, err)
			}
			if s := hex.EncodeToString(Seed(m, v.Passphrase)); s != v.Seed {
				t.Errorf("vector %d: Seed = %s, want %s", i, s, v.Seed)
			}
		}
		if _, err := EntropyFromMnemonic(v.Mnemonic, English); err == nil {
			t.Errorf("vector %d: a Japanese mnemonic validated against the English list", i)
		}
	}
}

// TestSeedNormalisesPassphrase checks the passphrase of the Japanese vectors,
// which is full of characters that NFKD rewrites (㍍, half-width kana, ゞ),
// against its hand-decomposed equivalent.
func TestSeedNormalisesPassphrase(t *testing.T) {
	v := japaneseVectors(t)[0]
	decomposed := norm.NFKD.String(v.Passphrase)
	if decomposed == v.Passphrase {
		t.Fatal("the vector passphrase is already NFKD; the test proves nothing")
	}
	if !bytes.Equal(Seed(v.Mnemonic, v.Passphrase), Seed(v.Mnemonic, decomposed)) {
		t.Fatal("Seed depends on the passphrase's normalisation form")
	}
	// ㍍ is METRE in katakana: NFKD spells it out.
	if !strings.HasPrefix(decomposed, "メートル") {
		t.Fatalf("NFKD(passphrase) = %q", decomposed)
	}
}
