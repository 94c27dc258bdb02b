package psbt

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// SpentKind is the kind of output an input spends.
type SpentKind int

// The kinds of output kinko spends: m-of-n CHECKMULTISIG in P2WSH,
// P2SH-P2WSH or P2SH, and a single key in P2WPKH or P2SH-P2WPKH.
const (
	SpentP2WSH SpentKind = iota + 1
	SpentP2SHP2WSH
	SpentP2SH
	SpentP2WPKH
	SpentP2SHP2WPKH
)

// String returns "p2wsh", "p2sh-p2wsh", "p2sh", "p2wpkh" or "p2sh-p2wpkh".
func (k SpentKind) String() string {
	switch k {
	case SpentP2WSH:
		return "p2wsh"
	case SpentP2SHP2WSH:
		return "p2sh-p2wsh"
	case SpentP2SH:
		return "p2sh"
	case SpentP2WPKH:
		return "p2wpkh"
	case SpentP2SHP2WPKH:
		return "p2sh-p2wpkh"
	}
	return fmt.Sprintf("SpentKind(%d)", int(k))
}

// SpentScript is what signing or finalizing one input needs to know about
// the output it spends, worked out from the spent output (InputUTXO) and
// the scripts the PSBT gives for the input.
type SpentScript struct {
	Kind   SpentKind
	Amount int64 // of the spent output, in satoshis

	// Threshold is the m of a multisig, 1 for a single key. Keys are the
	// multisig's keys in script order; nil for a single key, whose
	// hash160 is KeyHash instead.
	Threshold int
	Keys      [][]byte
	KeyHash   []byte

	// ScriptCode is the script a signature hash commits to: the witness
	// script of P2WSH and P2SH-P2WSH, the redeem script of P2SH, and for
	// P2WPKH and P2SH-P2WPKH the BIP-143 scriptCode OP_DUP OP_HASH160
	// <KeyHash> OP_EQUALVERIFY OP_CHECKSIG.
	ScriptCode []byte

	tx    *Tx
	index int
	// redeem is the redeem script of the P2SH kinds (pushed by the final
	// scriptSig), nil for the native segwit kinds.
	redeem []byte
}

// Segwit reports whether the input is signed with BIP-143 signature
// hashes (every kind but P2SH).
func (s *SpentScript) Segwit() bool { return s.Kind != SpentP2SH }

// SingleKey reports whether the input spends a single key (P2WPKH or
// P2SH-P2WPKH).
func (s *SpentScript) SingleKey() bool {
	return s.Kind == SpentP2WPKH || s.Kind == SpentP2SHP2WPKH
}

// HasKey reports whether pub is a key that signs this input: one of the
// multisig's keys, or the compressed key whose hash160 is KeyHash.
func (s *SpentScript) HasKey(pub []byte) bool {
	if s.SingleKey() {
		return len(pub) == compressedKeySize && bytes.Equal(hash160(pub), s.KeyHash)
	}
	for _, k := range s.Keys {
		if bytes.Equal(k, pub) {
			return true
		}
	}
	return false
}

// SigHash returns the signature hash a signature of this input with hash
// type ht commits to: BIP-143 over ScriptCode and Amount for the segwit
// kinds, the legacy hash over the redeem script for P2SH. cache, made by
// NewSigHashCache for the same transaction, may be nil.
func (s *SpentScript) SigHash(cache *SigHashCache, ht SigHashType) ([32]byte, error) {
	if !s.Segwit() {
		return LegacySigHash(s.tx, s.index, s.ScriptCode, ht)
	}
	if cache == nil {
		return WitnessV0SigHash(s.tx, s.index, s.ScriptCode, s.Amount, ht)
	}
	return cache.WitnessV0(s.index, s.ScriptCode, s.Amount, ht)
}

// isP2WSH reports whether s is OP_0 <32 bytes>.
func isP2WSH(s []byte) bool { return len(s) == 34 && s[0] == op0 && s[1] == 32 }

// isP2WPKH reports whether s is OP_0 <20 bytes>.
func isP2WPKH(s []byte) bool { return len(s) == 22 && s[0] == op0 && s[1] == 20 }

// isP2SH reports whether s is OP_HASH160 <20 bytes> OP_EQUAL.
func isP2SH(s []byte) bool {
	return len(s) == 23 && s[0] == opHash160 && s[1] == 20 && s[22] == opEqual
}

// SpentScript works out how input i is spent. The spent output comes from
// InputUTXO. It must be P2WSH, P2SH-P2WSH or P2SH around an m-of-n
// CHECKMULTISIG with compressed keys, or P2WPKH or P2SH-P2WPKH, else
// ErrUnsupportedScript. The redeem and witness scripts must be given
// exactly where the kind has them and hash to what they must match, else
// ErrScriptMismatch. Errors name the input (*FieldError).
func (p *Packet) SpentScript(i int) (*SpentScript, error) {
	utxo, err := p.InputUTXO(i)
	if err != nil {
		return nil, err
	}
	in := &p.Inputs[i]
	name := inputMap(i)
	spk := utxo.PkScript
	s := &SpentScript{Amount: utxo.Value, tx: p.UnsignedTx, index: i}
	checkWitnessScript := func(program []byte) error {
		if in.WitnessScript == nil {
			return fieldErr(name, inWitnessScript, fmt.Errorf("%w: missing witness script", ErrScriptMismatch))
		}
		if h := sha256.Sum256(in.WitnessScript); !bytes.Equal(h[:], program) {
			return fieldErr(name, inWitnessScript, fmt.Errorf("%w: witness script hash %x, want %x", ErrScriptMismatch, h, program))
		}
		s.ScriptCode = in.WitnessScript
		return nil
	}
	noWitnessScript := func(kind string) error {
		if in.WitnessScript != nil {
			return fieldErr(name, inWitnessScript, fmt.Errorf("%w: witness script given for a %s output", ErrScriptMismatch, kind))
		}
		return nil
	}
	switch {
	case isP2WSH(spk):
		s.Kind = SpentP2WSH
		if in.RedeemScript != nil {
			return nil, fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script given for a native p2wsh output", ErrScriptMismatch))
		}
		if err := checkWitnessScript(spk[2:]); err != nil {
			return nil, err
		}
	case isP2WPKH(spk):
		s.Kind = SpentP2WPKH
		if in.RedeemScript != nil {
			return nil, fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script given for a native p2wpkh output", ErrScriptMismatch))
		}
		if err := noWitnessScript("p2wpkh"); err != nil {
			return nil, err
		}
		s.KeyHash = bytes.Clone(spk[2:])
	case isP2SH(spk):
		rs := in.RedeemScript
		if rs == nil {
			return nil, fieldErr(name, inRedeemScript, fmt.Errorf("%w: missing redeem script", ErrScriptMismatch))
		}
		if h := hash160(rs); !bytes.Equal(h, spk[2:22]) {
			return nil, fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script hash %x, want %x", ErrScriptMismatch, h, spk[2:22]))
		}
		if len(rs) > maxScriptElement {
			return nil, fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script is %d bytes, more than %d", ErrUnsupportedScript, len(rs), maxScriptElement))
		}
		s.redeem = rs
		switch {
		case isP2WSH(rs):
			s.Kind = SpentP2SHP2WSH
			if err := checkWitnessScript(rs[2:]); err != nil {
				return nil, err
			}
		case isP2WPKH(rs):
			s.Kind = SpentP2SHP2WPKH
			if err := noWitnessScript("p2sh-p2wpkh"); err != nil {
				return nil, err
			}
			s.KeyHash = bytes.Clone(rs[2:])
		default:
			s.Kind = SpentP2SH
			if err := noWitnessScript("non-segwit p2sh"); err != nil {
				return nil, err
			}
			s.ScriptCode = rs
		}
	default:
		return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: spent script %x is not p2wsh, p2sh-p2wsh, p2sh, p2wpkh or p2sh-p2wpkh", ErrUnsupportedScript, spk)}
	}
	if s.SingleKey() {
		s.Threshold = 1
		s.ScriptCode = P2WPKHScriptCode(s.KeyHash)
		return s, nil
	}
	s.Threshold, s.Keys, err = ParseMultisig(s.ScriptCode)
	if err != nil {
		return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: %w", ErrUnsupportedScript, err)}
	}
	return s, nil
}

// P2WPKHScriptCode returns the BIP-143 scriptCode of a P2WPKH output whose
// key hashes to keyHash: OP_DUP OP_HASH160 <keyHash> OP_EQUALVERIFY
// OP_CHECKSIG, the P2PKH script of the same key.
func P2WPKHScriptCode(keyHash []byte) []byte {
	b := make([]byte, 0, 25)
	b = append(b, 0x76, opHash160, byte(len(keyHash)))
	b = append(b, keyHash...)
	return append(b, 0x88, 0xac)
}
