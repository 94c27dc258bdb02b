package psbt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// Errors returned by Finalize and Extract.
var (
	// ErrNotEnoughSignatures means an input has fewer than m partial
	// signatures from keys of its multisig script, or no signature by
	// its single key.
	ErrNotEnoughSignatures = errors.New("not enough signatures")
	// ErrUnsupportedScript means an input does not spend a P2WSH,
	// P2SH-P2WSH or P2SH multisig output, nor a P2WPKH or P2SH-P2WPKH
	// output.
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
//   - P2SH: scriptSig OP_0 <sig>... <redeemScript>;
//
// and for single-key inputs:
//
//   - P2WPKH: witness <sig> <pubkey>, empty scriptSig;
//   - P2SH-P2WPKH: the same witness and a scriptSig pushing the
//     redeemScript (the P2WPKH program);
//
// and for P2TR inputs, by the key path or by a multi_a leaf: see
// finalize_taproot.go.
//
// The spent output and its scripts are checked as SpentScript does (the
// redeemScript and witnessScript must hash to the spent scriptPubKey, and
// redeemScript, else ErrScriptMismatch). Exactly m signatures are used, the
// first m present in the order of the script's keys, even when more are
// present; with fewer than m, ErrNotEnoughSignatures names the input and
// "have k of m". A single-key input uses the signature by the compressed
// key whose hash160 is the output's program. Each
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
	var tapCache *TaprootSigHashCache
	for i := range q.Inputs {
		if q.Inputs[i].IsFinalized() {
			continue
		}
		if u, err := q.InputUTXO(i); err == nil && IsP2TR(u.PkScript) {
			if err := q.finalizeTaproot(i, &tapCache); err != nil {
				return err
			}
			q.Inputs[i].clearSigningData()
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
	ferr := func(err error) error { return &FieldError{Map: inputMap(i), Err: err} }
	spent, err := p.SpentScript(i)
	if err != nil {
		return err
	}
	m := spent.Threshold

	// The first m signatures in script key order; for a single key, the
	// signature by the key hashing to the output's program.
	var sigs [][]byte
	var sigKeys [][]byte
	have := 0
	if spent.SingleKey() {
		for _, ps := range in.PartialSigs {
			if spent.HasKey(ps.PubKey) {
				have = 1
				sigs, sigKeys = [][]byte{ps.Sig}, [][]byte{ps.PubKey}
				break
			}
		}
	}
	for _, k := range spent.Keys {
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
		if spent.Segwit() && *cache == nil {
			*cache = NewSigHashCache(p.UnsignedTx)
		}
		h, err := spent.SigHash(*cache, ht)
		if err != nil {
			return ferr(err)
		}
		if !esig.Verify(h[:], pub) {
			return ferr(fmt.Errorf("%w: signature for key %x does not verify", ErrInvalidSignature, sigKeys[j]))
		}
	}

	var scriptSig []byte
	switch spent.Kind {
	case SpentP2WSH, SpentP2SHP2WSH:
		w := make([][]byte, 0, m+2)
		w = append(w, []byte{})
		w = append(w, sigs...)
		w = append(w, spent.ScriptCode)
		in.FinalScriptWitness = cloneStack(w)
	case SpentP2WPKH, SpentP2SHP2WPKH:
		in.FinalScriptWitness = cloneStack([][]byte{sigs[0], sigKeys[0]})
	case SpentP2SH:
		scriptSig = append(scriptSig, op0)
		for _, s := range sigs {
			scriptSig = appendPush(scriptSig, s)
		}
	}
	if spent.redeem != nil {
		scriptSig = appendPush(scriptSig, spent.redeem)
	}
	if len(scriptSig) > 0 {
		in.FinalScriptSig = scriptSig
	}
	in.clearSigningData()
	return nil
}

// clearSigningData removes what a finalized input no longer needs.
func (in *Input) clearSigningData() {
	in.PartialSigs = nil
	in.SighashType = 0
	in.RedeemScript = nil
	in.WitnessScript = nil
	in.Bip32Derivation = nil
	in.clearTaproot()
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
