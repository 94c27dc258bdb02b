package psbt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// Errors returned by Finalize and Extract.
var (
	// ErrNotEnoughSignatures means an input has fewer than m partial
	// signatures from keys of its multisig script.
	ErrNotEnoughSignatures = errors.New("not enough signatures")
	// ErrUnsupportedScript means an input does not spend a P2WSH,
	// P2SH-P2WSH or P2SH multisig output.
	ErrUnsupportedScript = errors.New("unsupported script type")
	// ErrScriptMismatch means a redeemScript or witnessScript is missing or
	// does not hash to the script it must match.
	ErrScriptMismatch = errors.New("script does not match the spent output")
	// ErrInvalidSignature means a partial signature chosen for the final
	// script is malformed, has the wrong sighash type or does not verify.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrNotFinalized means Extract found an input that is not finalized.
	ErrNotFinalized = errors.New("input is not finalized")
)

// isP2WSH reports whether s is OP_0 <32 bytes>.
func isP2WSH(s []byte) bool { return len(s) == 34 && s[0] == op0 && s[1] == 32 }

// isP2SH reports whether s is OP_HASH160 <20 bytes> OP_EQUAL.
func isP2SH(s []byte) bool {
	return len(s) == 23 && s[0] == opHash160 && s[1] == 20 && s[22] == opEqual
}

// appendPush appends the minimal push of data (at most 520 bytes).
func appendPush(b, data []byte) []byte {
	switch n := len(data); {
	case n == 0:
		b = append(b, op0)
	case n == 1 && data[0] >= 1 && data[0] <= 16:
		return append(b, op1-1+data[0])
	case n == 1 && data[0] == 0x81:
		return append(b, 0x4f) // OP_1NEGATE
	case n <= 75:
		b = append(b, byte(n))
	case n <= 255:
		b = append(b, 0x4c, byte(n))
	default:
		b = append(b, 0x4d, byte(n), byte(n>>8))
	}
	return append(b, data...)
}

// Finalize finalizes every input that is not yet finalized, as the BIP-174
// Input Finalizer, for m-of-n CHECKMULTISIG inputs:
//
//   - P2WSH: witness <empty> <sig>... <witnessScript>;
//   - P2SH-P2WSH: the same witness and a scriptSig pushing the redeemScript;
//   - P2SH: scriptSig OP_0 <sig>... <redeemScript>.
//
// The spent output comes from InputUTXO. The redeemScript and witnessScript
// must hash to the spent scriptPubKey (and redeemScript), else
// ErrScriptMismatch. Exactly m signatures are used, the first m present in
// the order of the script's keys, even when more are present; with fewer
// than m, ErrNotEnoughSignatures names the input and "have k of m". Each
// signature used must be strict DER with low S, carry the input's sighash
// type if one is set, and verify against the input's signature hash, else
// ErrInvalidSignature.
//
// A finalized input keeps only its UTXOs, its final scripts and those
// Unknowns that are not BIP-174/371 signing data (preimages and Taproot
// fields are cleared): partial signatures, sighash type, scripts and
// derivations are removed.
//
// Finalize is all-or-nothing: on error p is left unchanged and the error (a
// *FieldError) names the first input that failed.
func Finalize(p *Packet) error {
	if p.UnsignedTx == nil {
		return fmt.Errorf("psbt: finalize: %w", ErrMissingUnsignedTx)
	}
	if err := p.UnsignedTx.check(); err != nil {
		return fmt.Errorf("psbt: finalize: %w", err)
	}
	if len(p.Inputs) != len(p.UnsignedTx.Inputs) {
		return fmt.Errorf("psbt: finalize: %w", ErrMapCount)
	}
	q := p.Copy()
	var cache *SigHashCache
	for i := range q.Inputs {
		if q.Inputs[i].IsFinalized() {
			continue
		}
		if err := q.finalizeInput(i, &cache); err != nil {
			return err
		}
	}
	*p = *q
	return nil
}

func (p *Packet) finalizeInput(i int, cache **SigHashCache) error {
	in := &p.Inputs[i]
	name := inputMap(i)
	ferr := func(err error) error { return &FieldError{Map: name, Err: err} }
	utxo, err := p.InputUTXO(i)
	if err != nil {
		return err
	}
	spk := utxo.PkScript
	var (
		script    []byte // the multisig script
		segwit    bool
		scriptSig []byte
	)
	checkWitnessScript := func(program []byte) error {
		if in.WitnessScript == nil {
			return fieldErr(name, inWitnessScript, fmt.Errorf("%w: missing witness script", ErrScriptMismatch))
		}
		if h := sha256.Sum256(in.WitnessScript); !bytes.Equal(h[:], program) {
			return fieldErr(name, inWitnessScript, fmt.Errorf("%w: witness script hash %x, want %x", ErrScriptMismatch, h, program))
		}
		script, segwit = in.WitnessScript, true
		return nil
	}
	switch {
	case isP2WSH(spk):
		if in.RedeemScript != nil {
			return fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script given for a native p2wsh output", ErrScriptMismatch))
		}
		if err := checkWitnessScript(spk[2:]); err != nil {
			return err
		}
	case isP2SH(spk):
		rs := in.RedeemScript
		if rs == nil {
			return fieldErr(name, inRedeemScript, fmt.Errorf("%w: missing redeem script", ErrScriptMismatch))
		}
		if h := hash160(rs); !bytes.Equal(h, spk[2:22]) {
			return fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script hash %x, want %x", ErrScriptMismatch, h, spk[2:22]))
		}
		if len(rs) > maxScriptElement {
			return fieldErr(name, inRedeemScript, fmt.Errorf("%w: redeem script is %d bytes, more than %d", ErrUnsupportedScript, len(rs), maxScriptElement))
		}
		if isP2WSH(rs) {
			if err := checkWitnessScript(rs[2:]); err != nil {
				return err
			}
			scriptSig = appendPush(nil, rs)
		} else {
			if in.WitnessScript != nil {
				return fieldErr(name, inWitnessScript, fmt.Errorf("%w: witness script given for a non-segwit p2sh redeem script", ErrScriptMismatch))
			}
			script = rs
		}
	default:
		return ferr(fmt.Errorf("%w: spent script %x is not p2wsh, p2sh-p2wsh or p2sh", ErrUnsupportedScript, spk))
	}
	m, keys, err := ParseMultisig(script)
	if err != nil {
		return ferr(fmt.Errorf("%w: %w", ErrUnsupportedScript, err))
	}

	// The first m signatures in script key order.
	var sigs [][]byte
	var sigKeys [][]byte
	have := 0
	for _, k := range keys {
		for _, ps := range in.PartialSigs {
			if bytes.Equal(ps.PubKey, k) {
				have++
				if len(sigs) < m {
					sigs = append(sigs, ps.Sig)
					sigKeys = append(sigKeys, k)
				}
				break
			}
		}
	}
	if have < m {
		return ferr(fmt.Errorf("%w: have %d of %d", ErrNotEnoughSignatures, have, m))
	}

	tx := p.UnsignedTx
	for j, sig := range sigs {
		if len(sig) < 2 {
			return ferr(fmt.Errorf("%w: signature for key %x is too short", ErrInvalidSignature, sigKeys[j]))
		}
		ht := SigHashType(sig[len(sig)-1])
		if in.SighashType != 0 && ht != in.SighashType {
			return ferr(fmt.Errorf("%w: signature for key %x has sighash type 0x%02x, the input requires 0x%02x", ErrInvalidSignature, sigKeys[j], uint32(ht), uint32(in.SighashType)))
		}
		if err := ecdsa.VerifyLowS(sig[:len(sig)-1]); err != nil {
			return ferr(fmt.Errorf("%w: signature for key %x: %v", ErrInvalidSignature, sigKeys[j], err))
		}
		esig, err := ecdsa.ParseDERSignature(sig[:len(sig)-1])
		if err != nil {
			return ferr(fmt.Errorf("%w: signature for key %x: %v", ErrInvalidSignature, sigKeys[j], err))
		}
		pub, err := btcec.ParsePubKey(sigKeys[j])
		if err != nil {
			return ferr(fmt.Errorf("%w: key %x: %v", ErrInvalidSignature, sigKeys[j], err))
		}
		var h [32]byte
		if segwit {
			if *cache == nil {
				*cache = NewSigHashCache(tx)
			}
			h, err = (*cache).WitnessV0(i, script, utxo.Value, ht)
		} else {
			h, err = LegacySigHash(tx, i, script, ht)
		}
		if err != nil {
			return ferr(err)
		}
		if !esig.Verify(h[:], pub) {
			return ferr(fmt.Errorf("%w: signature for key %x does not verify", ErrInvalidSignature, sigKeys[j]))
		}
	}

	if segwit {
		w := make([][]byte, 0, m+2)
		w = append(w, []byte{})
		w = append(w, sigs...)
		w = append(w, script)
		in.FinalScriptWitness = cloneStack(w)
	} else {
		scriptSig = append(scriptSig, op0)
		for _, s := range sigs {
			scriptSig = appendPush(scriptSig, s)
		}
		scriptSig = appendPush(scriptSig, in.RedeemScript)
	}
	if len(scriptSig) > 0 {
		in.FinalScriptSig = scriptSig
	}
	in.PartialSigs = nil
	in.SighashType = 0
	in.RedeemScript = nil
	in.WitnessScript = nil
	in.Bip32Derivation = nil
	var kept []Unknown
	for _, u := range in.Unknowns {
		t, _, _ := keyType(u.Key)
		switch {
		case t == inSighashType, t >= inRipemd160 && t <= inHash256, t >= inTapKeySig && t <= inTapMerkleRoot:
			continue
		}
		kept = append(kept, u)
	}
	in.Unknowns = kept
	return nil
}

// Extract returns the network transaction of a PSBT whose inputs are all
// finalized (ErrNotFinalized names the first that is not): the unsigned
// transaction with each input's final scriptSig and witness.
func Extract(p *Packet) (*Tx, error) {
	if p.UnsignedTx == nil {
		return nil, fmt.Errorf("psbt: extract: %w", ErrMissingUnsignedTx)
	}
	if err := p.UnsignedTx.check(); err != nil {
		return nil, fmt.Errorf("psbt: extract: %w", err)
	}
	if len(p.Inputs) != len(p.UnsignedTx.Inputs) {
		return nil, fmt.Errorf("psbt: extract: %w", ErrMapCount)
	}
	tx := p.UnsignedTx.Copy()
	for i := range p.Inputs {
		in := &p.Inputs[i]
		if !in.IsFinalized() {
			return nil, &FieldError{Map: inputMap(i), Err: ErrNotFinalized}
		}
		tx.Inputs[i].ScriptSig = bytes.Clone(in.FinalScriptSig)
		tx.Inputs[i].Witness = cloneStack(in.FinalScriptWitness)
	}
	return tx, nil
}
