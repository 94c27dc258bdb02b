package coordinator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/psbt"
)

// ErrBadReply reports a compact signing reply (airgap.SigReply) that does
// not decode.
var ErrBadReply = errors.New("not a valid compact signing reply")

// readSigReply turns kinko-signer's compact reply into a partial PSBT of
// the session's transaction p: for each input it names, the key is the one
// of the input's BIP-32 derivations carrying the reply's fingerprint (of
// several, the one the signature verifies under), and the signature goes
// back to DER and its sighash byte; a taproot signature gets its key and
// leaf the same way (readTapReplySigs). Import then verifies every
// signature as it does a PSBT's.
func readSigReply(raw []byte, p *psbt.Packet) (*psbt.Packet, error) {
	r, err := airgap.DecodeSigReply(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	if txid := psbt.Hash(r.TxID); txid != p.UnsignedTx.TxID() {
		return nil, fmt.Errorf("the reply signs %s, the session's transaction is %s: %w", txid, p.UnsignedTx.TxID(), ErrDifferentTx)
	}
	part, err := psbt.New(p.UnsignedTx.Copy())
	if err != nil {
		return nil, err
	}
	cache := psbt.NewSigHashCache(p.UnsignedTx)
	for k := range r.Sigs {
		s := &r.Sigs[k]
		if s.Input >= uint32(len(p.Inputs)) {
			return nil, fmt.Errorf("input %d: the session's transaction has %d inputs: %w", s.Input, len(p.Inputs), ErrBadSignature)
		}
		i := int(s.Input)
		var keys [][]byte
		for _, d := range p.Inputs[i].Bip32Derivation {
			if d.Fingerprint == r.Fingerprint {
				keys = append(keys, d.PubKey)
			}
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("input %d: no key of fingerprint %x among the input's derivations: %w", i, r.Fingerprint, ErrBadSignature)
		}
		ps := psbt.PartialSig{PubKey: keys[0], Sig: s.PartialSig()}
		if len(keys) > 1 {
			spent, err := p.SpentScript(i)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				try := psbt.PartialSig{PubKey: k, Sig: ps.Sig}
				if checkPartialSig(p, cache, spent, i, try) == nil {
					ps = try
					break
				}
			}
		}
		part.Inputs[i].PartialSigs = []psbt.PartialSig{{PubKey: bytes.Clone(ps.PubKey), Sig: ps.Sig}}
	}
	if err := readTapReplySigs(r, p, part); err != nil {
		return nil, err
	}
	return part, nil
}

// readTapReplySigs puts the reply's taproot signatures into part: each
// is for the one key of the reply's fingerprint among the input's
// taproot derivations and one of the leaves it lists (of several, the
// one the signature verifies for).
func readTapReplySigs(r *airgap.SigReply, p, part *psbt.Packet) error {
	var cache *psbt.TaprootSigHashCache
	for k := range r.TapSigs {
		s := &r.TapSigs[k]
		if s.Input >= uint32(len(p.Inputs)) {
			return fmt.Errorf("input %d: the session's transaction has %d inputs: %w", s.Input, len(p.Inputs), ErrBadSignature)
		}
		i := int(s.Input)
		sig := bytes.Clone(s.RS[:])
		if s.SigHash != 0 {
			sig = append(sig, s.SigHash)
		}
		var cands []psbt.TaprootScriptSig
		for _, d := range p.Inputs[i].TaprootBip32Derivation {
			if d.Fingerprint != r.Fingerprint {
				continue
			}
			for _, leaf := range d.LeafHashes {
				cands = append(cands, psbt.TaprootScriptSig{XOnlyPubKey: bytes.Clone(d.XOnlyPubKey), LeafHash: bytes.Clone(leaf), Signature: sig})
			}
		}
		if len(cands) == 0 {
			return fmt.Errorf("input %d: no taproot key of fingerprint %x in a leaf of the input's derivations: %w", i, r.Fingerprint, ErrBadSignature)
		}
		pick := cands[0]
		if len(cands) > 1 {
			if cache == nil {
				var err error
				if cache, err = tapSigHashCache(p); err != nil {
					return err
				}
			}
			for _, c := range cands {
				if checkTapSig(p, cache, i, c) == nil {
					pick = c
					break
				}
			}
		}
		part.Inputs[i].TaprootScriptSpendSig = []psbt.TaprootScriptSig{pick}
	}
	return nil
}
