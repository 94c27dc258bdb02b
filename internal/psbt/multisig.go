package psbt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
)

// MaxMultisigKeys is the largest n of an m-of-n CHECKMULTISIG.
const MaxMultisigKeys = 20

const (
	op1               = 0x51
	op16              = 0x60
	opCheckMultisig   = 0xae
	opHash160         = 0xa9
	opEqual           = 0x87
	op0               = 0x00
	maxScriptElement  = 520
	compressedKeySize = 33
)

// ErrNotMultisig means a script is not a canonical m-of-n CHECKMULTISIG
// script with compressed keys.
var ErrNotMultisig = errors.New("not a canonical multisig script")

// appendSmallInt appends the minimal push of n (1 <= n <= 20): OP_n for
// n <= 16, else a one-byte push.
func appendSmallInt(b []byte, n int) []byte {
	if n <= 16 {
		return append(b, byte(op1-1+n))
	}
	return append(b, 1, byte(n))
}

// readSmallInt reads a minimal push of a number in 1..20.
func readSmallInt(s []byte) (n, size int, ok bool) {
	switch {
	case len(s) >= 1 && s[0] >= op1 && s[0] <= op16:
		return int(s[0]) - op1 + 1, 1, true
	case len(s) >= 2 && s[0] == 1 && s[1] >= 17 && s[1] <= MaxMultisigKeys:
		return int(s[1]), 2, true
	}
	return 0, 0, false
}

// ParseMultisig parses OP_m <33-byte key>... OP_n OP_CHECKMULTISIG with
// 1 <= m <= n <= 20, minimal pushes (OP_1..OP_16, or a one-byte push for
// 17..20) and valid compressed public keys, and nothing else.
func ParseMultisig(script []byte) (m int, pubkeys [][]byte, err error) {
	fail := func(why string) (int, [][]byte, error) {
		return 0, nil, fmt.Errorf("psbt: %w: %s", ErrNotMultisig, why)
	}
	m, size, ok := readSmallInt(script)
	if !ok {
		return fail("missing or non-minimal m")
	}
	s := script[size:]
	for len(s) > 0 && s[0] == compressedKeySize {
		if len(s) < 1+compressedKeySize {
			return fail("truncated public key")
		}
		k := s[1 : 1+compressedKeySize]
		if _, err := btcec.ParsePubKey(k); err != nil {
			return fail(fmt.Sprintf("invalid public key %d: %v", len(pubkeys), err))
		}
		pubkeys = append(pubkeys, bytes.Clone(k))
		s = s[1+compressedKeySize:]
		if len(pubkeys) > MaxMultisigKeys {
			return fail("more than 20 keys")
		}
	}
	n, size, ok := readSmallInt(s)
	if !ok {
		return fail("missing or non-minimal n")
	}
	s = s[size:]
	if len(s) != 1 || s[0] != opCheckMultisig {
		return fail("missing OP_CHECKMULTISIG at the end")
	}
	if n != len(pubkeys) {
		return fail(fmt.Sprintf("n is %d but the script has %d keys", n, len(pubkeys)))
	}
	if m > n {
		return fail(fmt.Sprintf("m (%d) exceeds n (%d)", m, n))
	}
	return m, pubkeys, nil
}

// MultisigScript returns OP_m <pubkeys...> OP_n OP_CHECKMULTISIG with the
// keys in the order given (sort them first for BIP-67). The keys must be
// valid 33-byte compressed keys and 1 <= m <= len(pubkeys) <= 20.
func MultisigScript(m int, pubkeys [][]byte) ([]byte, error) {
	n := len(pubkeys)
	if n < 1 || n > MaxMultisigKeys {
		return nil, fmt.Errorf("psbt: multisig script: %d keys, want 1 to %d", n, MaxMultisigKeys)
	}
	if m < 1 || m > n {
		return nil, fmt.Errorf("psbt: multisig script: m is %d, want 1 to %d", m, n)
	}
	b := make([]byte, 0, 3+n*(1+compressedKeySize)+2)
	b = appendSmallInt(b, m)
	for i, k := range pubkeys {
		if len(k) != compressedKeySize {
			return nil, fmt.Errorf("psbt: multisig script: key %d is %d bytes, want 33", i, len(k))
		}
		if _, err := btcec.ParsePubKey(k); err != nil {
			return nil, fmt.Errorf("psbt: multisig script: key %d: %w", i, err)
		}
		b = append(b, compressedKeySize)
		b = append(b, k...)
	}
	b = appendSmallInt(b, n)
	return append(b, opCheckMultisig), nil
}
