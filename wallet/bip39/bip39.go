// Package bip39 implements BIP-39 mnemonic sentences: entropy generation
// (from crypto/rand or from caller-supplied dice rolls), encoding entropy as
// a mnemonic in the English or Japanese word list, strict validation and
// decoding of mnemonics, and derivation of the 512-bit seed.
//
// All text is Unicode NFKD-normalised before it is compared or hashed, as
// BIP-39 requires. Errors never contain mnemonic words, dice rolls or other
// secret material, only positions and counts; they wrap one of the package's
// sentinel errors so callers can tell the cases apart with errors.Is.
package bip39

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/text/unicode/norm"
)

// Sentinel errors. Returned errors wrap exactly one of them and add the
// position or count that caused the refusal.
var (
	// ErrWordCount reports a mnemonic that does not have 12, 15, 18, 21 or
	// 24 words.
	ErrWordCount = errors.New("wrong number of words")
	// ErrUnknownWord reports a mnemonic word that is not in the word list.
	ErrUnknownWord = errors.New("unknown word")
	// ErrChecksum reports a mnemonic whose checksum bits do not match its
	// entropy, usually a mistyped or misordered word.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrEntropyLength reports an entropy size other than 128, 160, 192, 224
	// or 256 bits.
	ErrEntropyLength = errors.New("invalid entropy length")
	// ErrDiceRolls reports dice rolls that contain something other than the
	// digits 1 to 6, or too few rolls for the requested entropy.
	ErrDiceRolls = errors.New("invalid dice rolls")
)

// minRolls is, for each permitted entropy size in bits, the least number of
// rolls of a fair six-sided die that carry at least that much entropy:
// the smallest n with 6^n >= 2^bits, i.e. ceil(bits/log2(6)).
var minRolls = map[int]int{128: 50, 160: 62, 192: 75, 224: 87, 256: 100}

// checkBits reports whether bits is a permitted entropy size.
func checkBits(bits int) error {
	if _, ok := minRolls[bits]; !ok {
		return fmt.Errorf("bip39: entropy of %d bits, want 128, 160, 192, 224 or 256: %w", bits, ErrEntropyLength)
	}
	return nil
}

// NewEntropy returns bits/8 bytes from crypto/rand. bits must be 128, 160,
// 192, 224 or 256.
func NewEntropy(bits int) ([]byte, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	b := make([]byte, bits/8)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("bip39: reading random entropy: %w", err)
	}
	return b, nil
}

// EntropyFromDice derives bits/8 bytes of entropy from rolls of a fair
// six-sided die, written as a string of the digits 1 to 6 and nothing else
// (no spaces or separators). The entropy is the SHA-256 digest of the roll
// string truncated to bits/8 bytes. bits must be 128, 160, 192, 224 or 256,
// and there must be at least ceil(bits/log2(6)) rolls: 50 for 128 bits, 62
// for 160, 75 for 192, 87 for 224 and 100 for 256 (99 rolls carry only
// about 255.9 bits). More rolls are allowed.
func EntropyFromDice(rolls string, bits int) ([]byte, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	n := 0
	for _, r := range rolls {
		n++
		if r < '1' || r > '6' {
			return nil, fmt.Errorf("bip39: dice roll %d is not a digit 1 to 6: %w", n, ErrDiceRolls)
		}
	}
	if need := minRolls[bits]; n < need {
		return nil, fmt.Errorf("bip39: %d dice rolls carry less than %d bits of entropy, need at least %d rolls: %w", n, bits, need, ErrDiceRolls)
	}
	sum := sha256.Sum256([]byte(rolls))
	out := make([]byte, bits/8)
	copy(out, sum[:])
	clear(sum[:])
	return out, nil
}

// NewMnemonic encodes entropy (16, 20, 24, 28 or 32 bytes) as a mnemonic
// sentence in the word list wl, which must not be nil. The words are in NFKD
// form, separated by a single ' ' for English and by U+3000 IDEOGRAPHIC
// SPACE for Japanese.
func NewMnemonic(entropy []byte, wl *Wordlist) (string, error) {
	if wl == nil {
		return "", errors.New("bip39: NewMnemonic needs a word list")
	}
	if err := checkBits(len(entropy) * 8); err != nil {
		return "", err
	}
	csBits := len(entropy) / 4 // one checksum bit per 32 bits of entropy
	nWords := (len(entropy)*8 + csBits) / 11
	sum := sha256.Sum256(entropy)
	defer clear(sum[:])

	// bit returns bit i of entropy||checksum, most significant first.
	bit := func(i int) int {
		if i < len(entropy)*8 {
			return int(entropy[i/8]>>(7-i%8)) & 1
		}
		i -= len(entropy) * 8
		return int(sum[i/8]>>(7-i%8)) & 1
	}
	var sb strings.Builder
	for w := 0; w < nWords; w++ {
		idx := 0
		for b := 0; b < 11; b++ {
			idx = idx<<1 | bit(w*11+b)
		}
		if w > 0 {
			sb.WriteString(wl.sep)
		}
		sb.WriteString(wl.words[idx])
	}
	return sb.String(), nil
}

// EntropyFromMnemonic validates mnemonic and returns the entropy it encodes.
//
// The mnemonic is NFKD-normalised and split on any run of Unicode white
// space (including U+3000 IDEOGRAPHIC SPACE), so leading, trailing and
// repeated spaces are accepted. It must then have 12, 15, 18, 21 or 24
// words, every word must be in the word list, and the checksum must match.
// If wl is nil the list is chosen from the words themselves: the supported
// list (English or Japanese) that contains the most of them.
func EntropyFromMnemonic(mnemonic string, wl *Wordlist) ([]byte, error) {
	words := splitWords(mnemonic)
	switch len(words) {
	case 12, 15, 18, 21, 24:
	default:
		return nil, fmt.Errorf("bip39: mnemonic has %d words, want 12, 15, 18, 21 or 24: %w", len(words), ErrWordCount)
	}
	if wl == nil {
		wl = detect(words)
		if wl == nil {
			return nil, fmt.Errorf("bip39: word 1 is not in any supported word list: %w", ErrUnknownWord)
		}
	}

	// Pack the 11-bit word indices, most significant bit first.
	packed := make([]byte, (len(words)*11+7)/8)
	defer clear(packed)
	for w, word := range words {
		idx, ok := wl.index[word]
		if !ok {
			return nil, fmt.Errorf("bip39: word %d is not in the %s word list: %w", w+1, wl.name, ErrUnknownWord)
		}
		for b := 0; b < 11; b++ {
			if idx&(1<<(10-b)) != 0 {
				pos := w*11 + b
				packed[pos/8] |= 0x80 >> (pos % 8)
			}
		}
	}

	entLen := len(words) * 4 / 3 // bytes: 11*n bits = 32*n/3 entropy + n/3 checksum
	csBits := entLen / 4
	entropy := packed[:entLen]
	sum := sha256.Sum256(entropy)
	defer clear(sum[:])
	mask := byte(0xff) << (8 - csBits)
	if (sum[0]^packed[entLen])&mask != 0 {
		return nil, fmt.Errorf("bip39: mnemonic of %d words fails its checksum: %w", len(words), ErrChecksum)
	}
	return append([]byte(nil), entropy...), nil
}

// Validate reports whether mnemonic is a valid BIP-39 mnemonic in the
// English or Japanese word list, with the same rules as EntropyFromMnemonic.
// It returns nil if it is.
func Validate(mnemonic string) error {
	ent, err := EntropyFromMnemonic(mnemonic, nil)
	clear(ent)
	return err
}

// Seed returns the 64-byte BIP-39 seed for mnemonic and passphrase:
// PBKDF2-HMAC-SHA512 with 2048 iterations, the NFKD-normalised mnemonic as
// the password and "mnemonic" followed by the NFKD-normalised passphrase as
// the salt. Seed hashes the mnemonic exactly as given (after NFKD) and does
// not validate it; call Validate or EntropyFromMnemonic first.
func Seed(mnemonic, passphrase string) []byte {
	password := []byte(norm.NFKD.String(mnemonic))
	salt := []byte("mnemonic" + norm.NFKD.String(passphrase))
	defer clear(password)
	defer clear(salt)
	return pbkdf2.Key(password, salt, 2048, 64, sha512.New)
}

// isSpace is the white-space test used to split mnemonics.
func isSpace(r rune) bool { return unicode.IsSpace(r) }

// splitWords NFKD-normalises a mnemonic and splits it on Unicode white space.
func splitWords(mnemonic string) []string {
	return strings.FieldsFunc(norm.NFKD.String(mnemonic), isSpace)
}

// detect returns the supported word list containing the most of words, or
// nil if none contains any of them. The supported lists share no words, so
// a mnemonic valid in one list is never attributed to another.
func detect(words []string) *Wordlist {
	var best *Wordlist
	bestN := 0
	for _, wl := range wordlists {
		n := 0
		for _, w := range words {
			if _, ok := wl.index[w]; ok {
				n++
			}
		}
		if n > bestN {
			best, bestN = wl, n
		}
	}
	return best
}
