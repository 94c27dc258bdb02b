package coordinator

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Taproot (tr() wallets): what BuildPSBT writes for an input or change
// output (BIP-371), and how signatures are counted and checked.

// tapDerivations returns the BIP-371 derivations of a derived tr() output:
// the internal key if it has an origin path (not the NUMS key), and every
// leaf key with the hashes of the leaves it is in.
func tapDerivations(der *wallet.Derived) []psbt.TaprootBip32Derivation {
	tap := der.Taproot
	var ds []psbt.TaprootBip32Derivation
	if ik := tap.InternalKey; len(ik.Origin.Path) > 0 {
		ds = append(ds, psbt.TaprootBip32Derivation{XOnlyPubKey: ik.PubKey[1:], Fingerprint: ik.Origin.Fingerprint, Path: ik.Origin.Path})
	}
	for _, l := range tap.Leaves {
		for _, k := range l.Keys {
			found := false
			for n := range ds {
				if bytes.Equal(ds[n].XOnlyPubKey, k.PubKey[1:]) {
					ds[n].LeafHashes = append(ds[n].LeafHashes, bytes.Clone(l.LeafHash[:]))
					found = true
				}
			}
			if !found {
				lh := l.LeafHash
				ds = append(ds, psbt.TaprootBip32Derivation{XOnlyPubKey: k.PubKey[1:], LeafHashes: [][]byte{lh[:]}, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
			}
		}
	}
	return ds
}

// fillTaprootInput writes the BIP-371 fields of an input spending der:
// internal key, merkle root, every leaf script with its control block,
// and the derivations.
func fillTaprootInput(in *psbt.Input, der *wallet.Derived) {
	tap := der.Taproot
	in.TaprootInternalKey = tap.InternalKey.PubKey[1:]
	in.TaprootMerkleRoot = tap.MerkleRoot
	for _, l := range tap.Leaves {
		in.TaprootLeafScript = append(in.TaprootLeafScript, psbt.TaprootLeafScript{ControlBlock: l.ControlBlock, Script: l.Script, LeafVersion: wallet.TapLeafVersion})
	}
	in.TaprootBip32Derivation = tapDerivations(der)
}

// fillTaprootOutput writes the BIP-371 fields of a change output: its
// internal key, tree (each leaf's depth read from its control block) and
// derivations.
func fillTaprootOutput(out *psbt.Output, der *wallet.Derived) {
	tap := der.Taproot
	out.TaprootInternalKey = tap.InternalKey.PubKey[1:]
	for _, l := range tap.Leaves {
		out.TaprootTapTree = append(out.TaprootTapTree, psbt.TaprootTapLeaf{Depth: byte((len(l.ControlBlock) - 33) / 32), LeafVersion: wallet.TapLeafVersion, Script: l.Script})
	}
	out.TaprootBip32Derivation = tapDerivations(der)
}

// tapLeafOf returns the leaf script of input i of p (the session's own
// PSBT) whose hash is lh, and its threshold and keys.
func tapLeafOf(in *psbt.Input, lh []byte) (script []byte, m int, keys [][]byte, ok bool) {
	for _, l := range in.TaprootLeafScript {
		h := wallet.TapLeafHash(l.Script)
		if !bytes.Equal(h[:], lh) {
			continue
		}
		m, keys, ok := wallet.ParseMultiA(l.Script)
		return l.Script, m, keys, ok
	}
	return nil, 0, nil, false
}

// taprootStatus is Status for a taproot input: the signatures held for
// its best leaf (the one nearest its threshold) and that threshold. ok
// is false for an input that is not taproot.
func taprootStatus(p *psbt.Packet, i int) (InputStatus, bool) {
	in := &p.Inputs[i]
	if in.WitnessUTXO == nil || !psbt.IsP2TR(in.WitnessUTXO.PkScript) {
		return InputStatus{}, false
	}
	best := InputStatus{}
	for n, l := range in.TaprootLeafScript {
		m, keys, ok := wallet.ParseMultiA(l.Script)
		if !ok {
			continue
		}
		lh := wallet.TapLeafHash(l.Script)
		have := 0
		for _, k := range keys {
			for _, s := range in.TaprootScriptSpendSig {
				if bytes.Equal(s.XOnlyPubKey, k) && bytes.Equal(s.LeafHash, lh[:]) {
					have++
					break
				}
			}
		}
		if n == 0 || min(have, m)-m > min(best.Have, best.Need)-best.Need {
			best = InputStatus{Have: have, Need: m}
		}
	}
	return best, true
}

// checkTapSigs verifies every taproot script signature of part against
// the session's PSBT p: for a leaf p offers, by one of that leaf's keys,
// valid for the input's BIP-341/342 signature hash with the sighash type
// the session asks for (DEFAULT unless it asks for ALL).
func checkTapSigs(p, part *psbt.Packet) error {
	var cache *psbt.TaprootSigHashCache
	for i := range part.Inputs {
		if len(part.Inputs[i].TaprootScriptSpendSig) == 0 {
			continue
		}
		if cache == nil {
			var err error
			if cache, err = tapSigHashCache(p); err != nil {
				return err
			}
		}
		for _, s := range part.Inputs[i].TaprootScriptSpendSig {
			if err := checkTapSig(p, cache, i, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// tapSigHashCache returns the BIP-341 signature hash cache of p's
// transaction, over every input's spent output.
func tapSigHashCache(p *psbt.Packet) (*psbt.TaprootSigHashCache, error) {
	spent, err := p.TaprootSpentOutputs()
	if err != nil {
		return nil, err
	}
	return psbt.NewTaprootSigHashCache(p.UnsignedTx, spent)
}

// checkTapSig verifies one script-path signature s of input i, as
// checkTapSigs does.
func checkTapSig(p *psbt.Packet, cache *psbt.TaprootSigHashCache, i int, s psbt.TaprootScriptSig) error {
	in := &p.Inputs[i]
	_, _, keys, ok := tapLeafOf(in, s.LeafHash)
	has := false
	for _, k := range keys {
		has = has || bytes.Equal(k, s.XOnlyPubKey)
	}
	if !ok || !has {
		return fmt.Errorf("input %d: key %x is not one of the wallet's keys in leaf %x: %w", i, s.XOnlyPubKey, s.LeafHash, ErrBadSignature)
	}
	if len(s.Signature) != 64 && len(s.Signature) != 65 {
		return fmt.Errorf("input %d: signature by %x of %d bytes: %w", i, s.XOnlyPubKey, len(s.Signature), ErrBadSignature)
	}
	ht := psbt.SigHashDefault
	if len(s.Signature) == 65 {
		ht = psbt.SigHashType(s.Signature[64])
	}
	if ht != in.SighashType {
		return fmt.Errorf("input %d: signature by %x has sighash type %#x, the session asks for %#x: %w", i, s.XOnlyPubKey, uint32(ht), uint32(in.SighashType), ErrBadSignature)
	}
	h, err := cache.SigHash(i, ht, s.LeafHash)
	if err != nil {
		return fmt.Errorf("input %d: %w", i, err)
	}
	sig, err := schnorr.ParseSignature(s.Signature[:64])
	if err != nil {
		return fmt.Errorf("input %d: signature by %x: %v: %w", i, s.XOnlyPubKey, err, ErrBadSignature)
	}
	pk, err := schnorr.ParsePubKey(s.XOnlyPubKey)
	if err != nil || !sig.Verify(h[:], pk) {
		return fmt.Errorf("input %d: signature by %x does not verify: %w", i, s.XOnlyPubKey, ErrBadSignature)
	}
	return nil
}

// taprootFinalSigs takes the script signatures back out of the final
// witness of taproot input i (a finalized PSBT's or a signed
// transaction's): <sig or empty>… <script> <control block>, the
// signatures of the leaf's keys from the last to the first. ok is false
// for an input that is not taproot.
func taprootFinalSigs(p *psbt.Packet, i int, w [][]byte) ([]psbt.TaprootScriptSig, bool, error) {
	in := &p.Inputs[i]
	if in.WitnessUTXO == nil || !psbt.IsP2TR(in.WitnessUTXO.PkScript) {
		return nil, false, nil
	}
	if len(w) < 3 {
		return nil, true, fmt.Errorf("input %d: a taproot witness of %d items is no script-path spend of the wallet", i, len(w))
	}
	script := w[len(w)-2]
	lh := wallet.TapLeafHash(script)
	_, _, keys, ok := tapLeafOf(in, lh[:])
	if !ok || len(keys) != len(w)-2 {
		return nil, true, fmt.Errorf("input %d: the witness spends a leaf the session does not offer", i)
	}
	var out []psbt.TaprootScriptSig
	for j, k := range keys {
		sig := w[len(keys)-1-j]
		if len(sig) == 0 {
			continue
		}
		out = append(out, psbt.TaprootScriptSig{XOnlyPubKey: bytes.Clone(k), LeafHash: bytes.Clone(lh[:]), Signature: bytes.Clone(sig)})
	}
	return out, true, nil
}
