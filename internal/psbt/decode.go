package psbt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrUnknownEncoding is returned by Decode for input that is neither a
// binary PSBT nor one in base64 or hex.
var ErrUnknownEncoding = errors.New("not a PSBT in binary, base64 or hex")

// Decode returns the binary PSBT in b, which may be binary, base64 or hex
// (surrounding white space allowed): the encoding is detected, not
// declared. The result still has to be parsed.
func Decode(b []byte) ([]byte, error) {
	if bytes.HasPrefix(b, magic) {
		if len(b) > MaxSize {
			return nil, fmt.Errorf("psbt of %d bytes is larger than the %d allowed", len(b), MaxSize)
		}
		return b, nil
	}
	s := bytes.TrimSpace(b)
	if len(s) > 2*MaxSize {
		return nil, fmt.Errorf("input of %d bytes is larger than a PSBT may be", len(s))
	}
	switch {
	case bytes.HasPrefix(s, []byte("cHNidP8")): // base64 of the magic
		out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(out, s)
		if err != nil {
			return nil, fmt.Errorf("base64 psbt: %w", err)
		}
		return out[:n], nil
	case bytes.HasPrefix(bytes.ToLower(s), []byte("70736274ff")):
		out := make([]byte, hex.DecodedLen(len(s)))
		n, err := hex.Decode(out, s)
		if err != nil {
			return nil, fmt.Errorf("hex psbt: %w", err)
		}
		return out[:n], nil
	}
	return nil, ErrUnknownEncoding
}
