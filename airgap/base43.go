package airgap

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/kinko-project/kinko/internal/psbt"
)

// Electrum shows a PSBT or a transaction as a QR code of base43 text, and
// reads one back the same way: the bytes as one big-endian number written
// in the 43 characters below (which QR alphanumeric mode holds compactly),
// each leading zero byte as a leading '0', the scheme of base58.
const base43Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$*+-./:"

// maxBase43Text bounds base43 text before it is decoded. A QR code holds
// at most 4296 base43 characters; the bound leaves room for text pasted
// from elsewhere while keeping the conversion, quadratic in the length,
// well under a millisecond or so.
const maxBase43Text = 64 << 10

var (
	base43Digit [256]int8 // the value of each character, -1 for none
	// bigDigits maps the digits of big.Int's base 43 ('0'-'9', 'a'-'z',
	// 'A'-'G') to base43Alphabet's, and back.
	bigToBase43 [256]byte
	base43ToBig [256]byte
)

func init() {
	const bigAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for i := range base43Digit {
		base43Digit[i] = -1
	}
	for i := 0; i < 43; i++ {
		base43Digit[base43Alphabet[i]] = int8(i)
		bigToBase43[bigAlphabet[i]] = base43Alphabet[i]
		base43ToBig[base43Alphabet[i]] = bigAlphabet[i]
	}
}

// EncodeBase43 writes b as Electrum's base43 text.
func EncodeBase43(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	out := bytes.Repeat([]byte{'0'}, zeros)
	if zeros == len(b) {
		return string(out)
	}
	digits := []byte(new(big.Int).SetBytes(b[zeros:]).Text(43))
	for i, c := range digits {
		digits[i] = bigToBase43[c]
	}
	return string(append(out, digits...))
}

// DecodeBase43 reads Electrum's base43 text (no white space). It refuses
// any other character, naming its position, and text longer than 64 KiB
// (ErrTooLarge).
func DecodeBase43(s string) ([]byte, error) {
	if len(s) > maxBase43Text {
		return nil, fmt.Errorf("base43 text of %d characters: %w", len(s), ErrTooLarge)
	}
	if s == "" {
		return nil, formatErr("base43", "empty text")
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '0' {
		zeros++
	}
	digits := make([]byte, len(s)-zeros)
	for i := zeros; i < len(s); i++ {
		if base43Digit[s[i]] < 0 {
			return nil, formatErr("base43", fmt.Sprintf("character %d is %q, not one of %q", i+1, s[i:i+1], base43Alphabet))
		}
		digits[i-zeros] = base43ToBig[s[i]]
	}
	out := make([]byte, zeros)
	if len(digits) == 0 {
		return out, nil
	}
	n, ok := new(big.Int).SetString(string(digits), 43)
	if !ok {
		return nil, formatErr("base43", "not a number")
	}
	return append(out, n.Bytes()...), nil
}

// isBase43 reports whether b is made of base43 characters only.
func isBase43(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if base43Digit[c] < 0 {
			return false
		}
	}
	return true
}

// decodeBase43Payload reads text that is all base43 characters as
// Electrum's QR text: a PSBT (its magic) or a transaction (one that
// parses whole). Anything else is ErrUnknownFormat, so that other text
// (a key, a name) is not taken for base43 by chance.
func decodeBase43Payload(text []byte) (kind string, payload []byte, err error) {
	if !isBase43(text) || len(text) > maxBase43Text {
		// Longer text is none of Electrum's QR codes: left to other
		// readers (an upper-case hex transaction, say).
		return "", nil, ErrUnknownFormat
	}
	b, err := DecodeBase43(string(text))
	if err != nil {
		return "", nil, err
	}
	if bytes.HasPrefix(b, []byte(psbtMagic)) {
		return KindPSBT, b, nil
	}
	if _, err := psbt.ParseTx(b); err == nil {
		return KindTransaction, b, nil
	}
	return "", nil, ErrUnknownFormat
}
