package psbt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// A cosigner may hand back its signatures in a finished form: a finalized
// PSBT (final scriptSig and witness instead of partial signatures) or the
// signed transaction itself. FinalSignatures takes the signatures out of
// such an input again, each matched to the key it verifies for.

// ErrForeignSignature means a signature in a final scriptSig or witness
// verifies for none of the input's keys: it signs another transaction,
// another input or another script.
var ErrForeignSignature = errors.New("signature verifies for none of the input's keys")

// FinalSignatures returns the signatures that a final scriptSig and
// witness for input i of p hold, as partial signatures: each must verify,
// for the input's sighash, under one of the keys of the script p says the
// input spends (p's own scripts, never the final ones, which must equal
// them). A signature that verifies for no key is ErrForeignSignature.
func (p *Packet) FinalSignatures(i int, scriptSig []byte, witness [][]byte) ([]PartialSig, error) {
	if i < 0 || i >= len(p.Inputs) {
		return nil, fmt.Errorf("psbt: input %d out of range", i)
	}
	s, err := p.SpentScript(i)
	if err != nil {
		return nil, err
	}
	name := inputMap(i)
	pushes, err := pushesOf(scriptSig)
	if err != nil {
		return nil, &FieldError{Map: name, Err: fmt.Errorf("final scriptSig: %w", err)}
	}
	mismatch := func(what string) error {
		return &FieldError{Map: name, Err: fmt.Errorf("%w: the final %s is not the %s spend of the session's script", ErrScriptMismatch, what, s.Kind)}
	}
	var items [][]byte // the signature candidates, and for a single key its key
	switch s.Kind {
	case SpentP2WSH, SpentP2SHP2WSH:
		if s.Kind == SpentP2WSH && len(pushes) != 0 || s.Kind == SpentP2SHP2WSH && (len(pushes) != 1 || !bytes.Equal(pushes[0], s.redeem)) {
			return nil, mismatch("scriptSig")
		}
		if len(witness) < 2 || len(witness[0]) != 0 || !bytes.Equal(witness[len(witness)-1], s.ScriptCode) {
			return nil, mismatch("witness")
		}
		items = witness[1 : len(witness)-1]
	case SpentP2SH:
		if len(witness) != 0 || len(pushes) < 2 || len(pushes[0]) != 0 || !bytes.Equal(pushes[len(pushes)-1], s.redeem) {
			return nil, mismatch("scriptSig")
		}
		items = pushes[1 : len(pushes)-1]
	case SpentP2WPKH, SpentP2SHP2WPKH:
		if s.Kind == SpentP2WPKH && len(pushes) != 0 || s.Kind == SpentP2SHP2WPKH && (len(pushes) != 1 || !bytes.Equal(pushes[0], s.redeem)) {
			return nil, mismatch("scriptSig")
		}
		if len(witness) != 2 || !s.HasKey(witness[1]) {
			return nil, mismatch("witness")
		}
		items = witness[:1]
	}
	cache := NewSigHashCache(p.UnsignedTx)
	var out []PartialSig
	used := map[string]bool{}
	for n, sig := range items {
		if len(sig) == 0 {
			continue // a multisig's missing signature
		}
		if len(sig) < 9 {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: signature %d is too short", ErrForeignSignature, n+1)}
		}
		ht := SigHashType(sig[len(sig)-1])
		hash, err := s.SigHash(cache, ht)
		if err != nil {
			return nil, &FieldError{Map: name, Err: err}
		}
		parsed, err := ecdsa.ParseDERSignature(sig[:len(sig)-1])
		if err != nil {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: signature %d: %v", ErrForeignSignature, n+1, err)}
		}
		keys := s.Keys
		if s.SingleKey() {
			keys = [][]byte{witness[1]}
		}
		found := false
		for _, k := range keys {
			if used[string(k)] {
				continue
			}
			pub, err := btcec.ParsePubKey(k)
			if err == nil && parsed.Verify(hash[:], pub) {
				out = append(out, PartialSig{PubKey: bytes.Clone(k), Sig: bytes.Clone(sig)})
				used[string(k)] = true
				found = true
				break
			}
		}
		if !found {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w (signature %d: is it for another transaction?)", ErrForeignSignature, n+1)}
		}
	}
	return out, nil
}

// pushesOf splits a scriptSig made only of pushes into the data
// pushed; OP_0 pushes an empty item.
func pushesOf(s []byte) ([][]byte, error) {
	var out [][]byte
	for len(s) > 0 {
		op := s[0]
		s = s[1:]
		var n int
		switch {
		case op == 0x00:
			out = append(out, []byte{})
			continue
		case op <= 0x4b:
			n = int(op)
		case op == 0x4c && len(s) >= 1:
			n, s = int(s[0]), s[1:]
		case op == 0x4d && len(s) >= 2:
			n, s = int(binary.LittleEndian.Uint16(s)), s[2:]
		default:
			return nil, fmt.Errorf("%w: opcode %#x is not a push", ErrScriptMismatch, op)
		}
		if n > len(s) {
			return nil, fmt.Errorf("%w: push past the end", ErrTruncated)
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out, nil
}
