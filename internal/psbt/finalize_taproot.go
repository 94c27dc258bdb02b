package psbt

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/kinko-project/kinko/wallet"
)

// IsP2TR reports whether pkScript is a segwit v1 output, OP_1 <32 bytes>.
func IsP2TR(pkScript []byte) bool {
	return len(pkScript) == 34 && pkScript[0] == op1 && pkScript[1] == 32
}

// finalizeTaproot finalizes input i, which spends a P2TR output:
//
//   - with a key-path signature: the witness <sig>;
//   - else by the first leaf script (of version 0xc0, multi_a or pk form,
//     its control block proving it in the output key) that has
//     signatures by at least its threshold of keys: the witness holds,
//     for each key of the leaf from the last to the first, its signature
//     or an empty push (exactly threshold signatures, the first ones in
//     key order), then the script and the control block (BIP-342).
//
// Every signature used must verify against the input's BIP-341 signature
// hash, with the input's sighash type if it sets one.
func (p *Packet) finalizeTaproot(i int, cache **TaprootSigHashCache) error {
	in := &p.Inputs[i]
	ferr := func(err error) error { return &FieldError{Map: inputMap(i), Err: err} }
	utxo, err := p.InputUTXO(i)
	if err != nil {
		return err
	}
	outKey := utxo.PkScript[2:]
	if *cache == nil {
		spent, err := p.TaprootSpentOutputs()
		if err != nil {
			return err
		}
		if *cache, err = NewTaprootSigHashCache(p.UnsignedTx, spent); err != nil {
			return ferr(err)
		}
	}
	verify := func(key, sig, leafHash []byte) error {
		ht := SigHashDefault
		if len(sig) == 65 {
			ht = SigHashType(sig[64])
		}
		if in.SighashType != 0 && ht != in.SighashType {
			return fmt.Errorf("%w: signature for key %x has sighash type 0x%02x, the input requires 0x%02x", ErrInvalidSignature, key, uint32(ht), uint32(in.SighashType))
		}
		h, err := (*cache).SigHash(i, ht, leafHash)
		if err != nil {
			return err
		}
		s, err := schnorr.ParseSignature(sig[:64])
		if err != nil {
			return fmt.Errorf("%w: signature for key %x: %v", ErrInvalidSignature, key, err)
		}
		pk, err := schnorr.ParsePubKey(key)
		if err != nil {
			return fmt.Errorf("%w: key %x: %v", ErrInvalidSignature, key, err)
		}
		if !s.Verify(h[:], pk) {
			return fmt.Errorf("%w: signature for key %x does not verify", ErrInvalidSignature, key)
		}
		return nil
	}
	if in.TaprootKeySpendSig != nil {
		if err := verify(outKey, in.TaprootKeySpendSig, nil); err != nil {
			return ferr(err)
		}
		in.FinalScriptWitness = [][]byte{bytes.Clone(in.TaprootKeySpendSig)}
		return nil
	}
	if len(in.TaprootLeafScript) == 0 {
		return ferr(fmt.Errorf("%w: taproot input with neither a key-path signature nor a leaf script", ErrUnsupportedScript))
	}
	best, bestM := -1, 0
	for _, l := range in.TaprootLeafScript {
		if l.LeafVersion != wallet.TapLeafVersion {
			continue
		}
		m, keys, ok := wallet.ParseMultiA(l.Script)
		if !ok {
			continue
		}
		if _, _, err := wallet.VerifyControlBlock(outKey, l.Script, l.ControlBlock); err != nil {
			return ferr(fmt.Errorf("%w: leaf script: %w", ErrScriptMismatch, err))
		}
		lh := wallet.TapLeafHash(l.Script)
		stack := make([][]byte, len(keys))
		have := 0
		for j, k := range keys {
			for _, s := range in.TaprootScriptSpendSig {
				if bytes.Equal(s.XOnlyPubKey, k) && bytes.Equal(s.LeafHash, lh[:]) {
					if have < m {
						if err := verify(k, s.Signature, lh[:]); err != nil {
							return ferr(err)
						}
						stack[j] = s.Signature
					}
					have++
					break
				}
			}
		}
		if have < m {
			if have > best {
				best, bestM = have, m
			}
			continue
		}
		w := make([][]byte, 0, len(keys)+2)
		for j := len(keys) - 1; j >= 0; j-- {
			w = append(w, bytes.Clone(stack[j]))
			if w[len(w)-1] == nil {
				w[len(w)-1] = []byte{}
			}
		}
		w = append(w, bytes.Clone(l.Script), bytes.Clone(l.ControlBlock))
		in.FinalScriptWitness = w
		return nil
	}
	if best < 0 {
		return ferr(fmt.Errorf("%w: no leaf script of the multi_a form", ErrUnsupportedScript))
	}
	return ferr(fmt.Errorf("%w: have %d of %d", ErrNotEnoughSignatures, best, bestM))
}
