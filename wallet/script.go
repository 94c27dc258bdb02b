package wallet

import (
	"crypto/sha256"
	"errors"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // hash160 is RIPEMD-160 by definition
)

// Script opcodes kinko builds or recognises.
const (
	op0             = 0x00
	opPushData1     = 0x4c
	op1             = 0x51
	op16            = 0x60
	opDup           = 0x76
	opEqual         = 0x87
	opEqualVerify   = 0x88
	opHash160       = 0xa9
	opCheckSig      = 0xac
	opCheckMultisig = 0xae
)

// Script size limits of consensus and policy.
const (
	maxP2SHScript = 520 // redeem script push limit
	maxWSHScript  = 3600
)

// ErrUnsupportedScript is returned for an output script that has no
// address form.
var ErrUnsupportedScript = errors.New("unsupported output script")

// Hash160 returns RIPEMD-160(SHA-256(b)), the hash of P2PKH, P2SH and
// P2WPKH outputs and of BIP-32 key fingerprints.
func Hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(s[:])
	return h.Sum(nil)
}

// appendNumber appends the minimal push of a small non-negative number:
// OP_0, OP_1..OP_16, or a one-byte push up to 127.
func appendNumber(s []byte, n int) []byte {
	switch {
	case n == 0:
		return append(s, op0)
	case n <= 16:
		return append(s, byte(op1-1+n))
	default:
		return append(s, 1, byte(n))
	}
}

// appendPush appends a data push of b (b is at most 75 bytes here: a
// public key or a hash).
func appendPush(s, b []byte) []byte {
	s = append(s, byte(len(b)))
	return append(s, b...)
}

// multisigScript returns "m <key>... n OP_CHECKMULTISIG" with the keys in
// the order given. m and n are 1..20 and each key is 33 or 65 bytes.
func multisigScript(m int, keys [][]byte) []byte {
	size := 3
	for _, k := range keys {
		size += 1 + len(k)
	}
	s := make([]byte, 0, size+2)
	s = appendNumber(s, m)
	for _, k := range keys {
		s = appendPush(s, k)
	}
	s = appendNumber(s, len(keys))
	return append(s, opCheckMultisig)
}

// p2wshScript returns the P2WSH output script of a witness script:
// OP_0 <sha256(script)>.
func p2wshScript(script []byte) []byte {
	h := sha256.Sum256(script)
	return append([]byte{op0, 32}, h[:]...)
}

// p2wpkhScript returns the P2WPKH witness program of a compressed public
// key: OP_0 <hash160(pub)>.
func p2wpkhScript(pub []byte) []byte {
	return append([]byte{op0, 20}, Hash160(pub)...)
}

// p2shScript returns the P2SH output script of a redeem script:
// OP_HASH160 <hash160(script)> OP_EQUAL.
func p2shScript(script []byte) []byte {
	s := append([]byte{opHash160, 20}, Hash160(script)...)
	return append(s, opEqual)
}
