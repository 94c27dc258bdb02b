package wallet

import (
	"crypto/sha256"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // hash160 is RIPEMD-160 by definition
)

// Hash160 returns RIPEMD-160(SHA-256(b)), the hash of P2PKH, P2SH and
// P2WPKH outputs and of BIP-32 key fingerprints.
func Hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(s[:])
	return h.Sum(nil)
}
