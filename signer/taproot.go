package signer

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Taproot inputs and change (tr() wallets, BIP-341/342/371).
//
// A taproot input is matched as a P2WSH one is: the derivation that
// claims this signer's fingerprint (PSBT_IN_TAP_BIP32_DERIVATION, x-only)
// must re-derive from the seed under a registered tr() wallet, and that
// wallet must derive exactly the spent output key there. Every leaf
// script, control block, internal key, merkle root and derivation the
// PSBT gives must then be the wallet's own. The signature hash commits to
// every input's amount and script, so no previous transaction is needed
// (only every input's witness_utxo), and only SIGHASH_DEFAULT and ALL
// are signed.

// tapPlan is what a taproot input is signed for: the leaves holding the
// signer's key that the PSBT offers, and (once signed) a signature for
// each.
type tapPlan struct {
	leaves [][32]byte
	sigs   [][]byte
}

// checkTaprootInput runs checkInput's checks for an input spending a
// P2TR output. It reports false for any other input.
func checkTaprootInput(p *psbt.Packet, i int, c *inputCheck, wallets []*registered, pre derivedSet, fp wallet.Fingerprint) bool {
	if !psbt.IsP2TR(c.utxo.PkScript) {
		return false
	}
	where := fmt.Sprintf("input %d", i)
	c.ip, c.w, c.matchErr = matchTaprootInput(p, i, c.utxo, wallets, pre, fp)
	if c.matchErr != nil {
		return true
	}
	if c.ip == nil {
		c.matchErr = checkKeys(where, p.Inputs[i].Bip32Derivation)
		return true
	}
	c.ip.amount = c.utxo.Value
	c.ip.hashTyp, c.sighashErr = checkTapSigHash(p, i)
	return true
}

// checkTapSigHash decides the sighash type of taproot input i: DEFAULT
// when the PSBT asks for none, or ALL. Nothing else is signed, whatever
// the run allows.
func checkTapSigHash(p *psbt.Packet, i int) (psbt.SigHashType, error) {
	switch ht := p.Inputs[i].SighashType; ht {
	case 0:
		return psbt.SigHashDefault, nil
	case psbt.SigHashAll:
		return psbt.SigHashAll, nil
	default:
		return 0, refuse(fmt.Sprintf("input %d", i), "asks for sighash type %s; a taproot input is signed with DEFAULT or ALL only", SigHashName(ht))
	}
}

// matchTaprootInput is matchInput for a taproot input.
func matchTaprootInput(p *psbt.Packet, i int, utxo *psbt.TxOut, wallets []*registered, pre derivedSet, fp wallet.Fingerprint) (*inputPlan, *registered, error) {
	where := fmt.Sprintf("input %d", i)
	in := &p.Inputs[i]
	for _, d := range in.TaprootBip32Derivation {
		if wallet.Fingerprint(d.Fingerprint) != fp {
			continue
		}
		path := wallet.Path(d.Path)
		return matchAmong(where, path, wallets, "taproot wallet", "an output key",
			func(w *registered) bool { return w.desc.ScriptType() == wallet.P2TR },
			func(w *registered, change bool, index uint32) (*inputPlan, bool, error) {
				derived, err := pre.derive(w, change, index)
				if err != nil {
					return nil, false, refuseErr(where, "derive the registered wallet", err)
				}
				ip, decisive, err := matchTapWallet(where, in, utxo, w, derived, d, path)
				if err == nil {
					ip.index = i
				}
				return ip, decisive, err
			})
	}
	return nil, nil, nil
}

// tapKeys returns every key of a derived tr() output: the internal key
// and each leaf's keys (a key in several leaves comes once per leaf).
func tapKeys(d *wallet.Derived) []wallet.DerivedKey {
	keys := []wallet.DerivedKey{d.Taproot.InternalKey}
	for _, l := range d.Taproot.Leaves {
		keys = append(keys, l.Keys...)
	}
	return keys
}

// ownTapKey returns the 33-byte key of the signer's own key (origin) at
// path in a derived tr() output.
func ownTapKey(d *wallet.Derived, origin wallet.KeyOrigin, path wallet.Path) []byte {
	for _, k := range tapKeys(d) {
		if k.Origin.Fingerprint == origin.Fingerprint && k.Origin.Path.Equal(path) {
			return k.PubKey
		}
	}
	return nil
}

// matchTapWallet is matchWallet for a taproot input.
func matchTapWallet(where string, in *psbt.Input, utxo *psbt.TxOut, w *registered, derived *wallet.Derived, d psbt.TaprootBip32Derivation, path wallet.Path) (*inputPlan, bool, error) {
	own := ownTapKey(derived, w.origin, path)
	if own == nil || !bytes.Equal(own[1:], d.XOnlyPubKey) {
		return nil, true, refuse(where, "key %x claims our fingerprint %s at %s but does not re-derive from our seed", d.XOnlyPubKey, wallet.Fingerprint(d.Fingerprint), path)
	}
	if !bytes.Equal(derived.ScriptPubKey, utxo.PkScript) {
		return nil, false, refuse(where, "spends an output key that wallet %q does not derive at %s", w.Name, path)
	}
	tap := derived.Taproot
	if in.TaprootInternalKey != nil && !bytes.Equal(in.TaprootInternalKey, tap.InternalKey.PubKey[1:]) {
		return nil, true, refuse(where, "taproot internal key %x is not the one wallet %q derives at %s", in.TaprootInternalKey, w.Name, path)
	}
	if in.TaprootMerkleRoot != nil && !bytes.Equal(in.TaprootMerkleRoot, tap.MerkleRoot) {
		return nil, true, refuse(where, "taproot merkle root is not the one wallet %q derives at %s", w.Name, path)
	}
	offered := make(map[[32]byte]bool)
	for n, l := range in.TaprootLeafScript {
		var leaf *wallet.TapLeaf
		for k := range tap.Leaves {
			if bytes.Equal(tap.Leaves[k].Script, l.Script) {
				leaf = &tap.Leaves[k]
			}
		}
		if leaf == nil || l.LeafVersion != wallet.TapLeafVersion {
			return nil, true, refuse(where, "leaf script %d is not a leaf of wallet %q at %s", n+1, w.Name, path)
		}
		if _, _, err := wallet.VerifyControlBlock(utxo.PkScript[2:], l.Script, l.ControlBlock); err != nil || !bytes.Equal(l.ControlBlock, leaf.ControlBlock) {
			return nil, true, refuseErr(where, fmt.Sprintf("control block of leaf script %d is not the one wallet %q derives at %s", n+1, w.Name, path), err)
		}
		offered[leaf.LeafHash] = true
	}
	if err := checkTapDerivations(where, in.TaprootBip32Derivation, derived); err != nil {
		return nil, true, err
	}
	tp := &tapPlan{}
	for _, l := range tap.Leaves {
		if !offered[l.LeafHash] {
			continue
		}
		for _, k := range l.Keys {
			if bytes.Equal(k.PubKey, own) {
				tp.leaves = append(tp.leaves, l.LeafHash)
				break
			}
		}
	}
	if len(tp.leaves) == 0 {
		return nil, true, refuse(where, "offers no leaf script holding our key (PSBT_IN_TAP_LEAF_SCRIPT)")
	}
	return &inputPlan{path: path, pubKey: own, derived: derived, tap: tp}, true, nil
}

// checkTapDerivations refuses taproot derivations that disagree with the
// registered wallet: a key not its own, a wrong origin, or a leaf hash of
// a leaf the key is not in.
func checkTapDerivations(where string, ds []psbt.TaprootBip32Derivation, derived *wallet.Derived) error {
	tap := derived.Taproot
	for _, d := range ds {
		match := false
		for _, k := range tapKeys(derived) {
			if !bytes.Equal(k.PubKey[1:], d.XOnlyPubKey) {
				continue
			}
			if k.Origin.Fingerprint != wallet.Fingerprint(d.Fingerprint) || !k.Origin.Path.Equal(wallet.Path(d.Path)) {
				return refuse(where, "key %x is given origin %x/%s, the registered wallet says %s", d.XOnlyPubKey, d.Fingerprint[:], wallet.Path(d.Path), k.Origin)
			}
			match = true
		}
		if !match {
			return refuse(where, "key %x is not one of the registered wallet's keys", d.XOnlyPubKey)
		}
		for _, h := range d.LeafHashes {
			in := false
			for _, l := range tap.Leaves {
				if !bytes.Equal(l.LeafHash[:], h) {
					continue
				}
				for _, k := range l.Keys {
					in = in || bytes.Equal(k.PubKey[1:], d.XOnlyPubKey)
				}
			}
			if !in {
				return refuse(where, "key %x is given leaf hash %x, which is not a leaf of the wallet holding that key", d.XOnlyPubKey, h)
			}
		}
	}
	return nil
}

// checkTaprootUTXOs checks what the inputs' spent outputs must prove: a
// taproot wallet's signatures commit to every input's amount and script,
// which must all be given (witness_utxo); any other wallet's commit to
// no other input's amount, so every input must carry its previous
// transaction. It returns the signature hash cache of a taproot wallet.
func checkTaprootUTXOs(p *psbt.Packet, w *registered) (*psbt.TaprootSigHashCache, error) {
	if w.desc.ScriptType() != wallet.P2TR {
		for i := range p.Inputs {
			if p.Inputs[i].NonWitnessUTXO == nil {
				return nil, refuseErr(fmt.Sprintf("input %d", i), fmt.Sprintf("no previous transaction (non_witness_utxo); a %s signature does not commit to its amount", w.desc.ScriptType()), ErrNoPreviousTx)
			}
		}
		return nil, nil
	}
	spent := make([]*psbt.TxOut, len(p.Inputs))
	for i := range p.Inputs {
		if p.Inputs[i].WitnessUTXO == nil {
			return nil, refuse(fmt.Sprintf("input %d", i), "no witness_utxo: a taproot signature commits to every input's amount and script, so each must be given")
		}
		var err error
		if spent[i], err = spentOutput(p, i); err != nil {
			return nil, err
		}
	}
	cache, err := psbt.NewTaprootSigHashCache(p.UnsignedTx, spent)
	if err != nil {
		return nil, refuseErr("transaction", "taproot signature hash", err)
	}
	return cache, nil
}

// signTapInput signs every planned leaf of taproot input ip with the
// key derived from parent, and wipes the key. BIP-340 signatures here
// are deterministic (btcec's nonces), so any number of workers gives the
// same bytes.
func signTapInput(cache *psbt.TaprootSigHashCache, parent *wallet.ExtendedKey, ip *inputPlan) error {
	k, err := parent.Child(ip.path[len(ip.path)-1])
	if err != nil {
		return fmt.Errorf("input %d: derive %s: %w", ip.index, ip.path, err)
	}
	defer k.Zero()
	priv, err := k.PrivateKey()
	if err != nil {
		return fmt.Errorf("input %d: %w", ip.index, err)
	}
	defer priv.Zero()
	if !bytes.Equal(priv.PubKey().SerializeCompressed(), ip.pubKey) {
		return fmt.Errorf("input %d: the key at %s is not the planned one", ip.index, ip.path)
	}
	ip.tap.sigs = ip.tap.sigs[:0]
	for _, lh := range ip.tap.leaves {
		h, err := cache.SigHash(ip.index, ip.hashTyp, lh[:])
		if err != nil {
			return fmt.Errorf("input %d: sighash: %w", ip.index, err)
		}
		s, err := schnorr.Sign(priv, h[:])
		if err != nil {
			return fmt.Errorf("input %d: sign: %w", ip.index, err)
		}
		sig := s.Serialize()
		if ip.hashTyp != psbt.SigHashDefault {
			sig = append(sig, byte(ip.hashTyp))
		}
		ip.tap.sigs = append(ip.tap.sigs, sig)
	}
	return nil
}

// scriptSigs returns the PSBT_IN_TAP_SCRIPT_SIG entries of a signed
// taproot input.
func (ip *inputPlan) scriptSigs() []psbt.TaprootScriptSig {
	out := make([]psbt.TaprootScriptSig, len(ip.tap.sigs))
	for n := range ip.tap.sigs {
		lh := ip.tap.leaves[n]
		out[n] = psbt.TaprootScriptSig{XOnlyPubKey: bytes.Clone(ip.pubKey[1:]), LeafHash: lh[:], Signature: ip.tap.sigs[n]}
	}
	return out
}

// reviewTaprootChange is reviewOutput's check of a taproot change output
// of a tr() wallet: a PSBT_OUT_TAP_BIP32_DERIVATION claiming this
// signer's fingerprint makes the output change, which must then
// re-derive exactly (output key, internal key, tree, every derivation).
// done reports that output j was so classified.
func reviewTaprootChange(p *psbt.Packet, j int, w *registered, fp wallet.Fingerprint, maxIndex uint32, r *Review, ro *ReviewOutput) (done bool, err error) {
	if w.desc.ScriptType() != wallet.P2TR {
		return false, nil // another wallet's taproot output is external here
	}
	where := fmt.Sprintf("output %d", j)
	out := p.UnsignedTx.Outputs[j]
	po := &p.Outputs[j]
	for _, d := range po.TaprootBip32Derivation {
		if wallet.Fingerprint(d.Fingerprint) != fp {
			continue
		}
		path := wallet.Path(d.Path)
		change, index, ok := w.locate(path)
		if !ok {
			return false, refuse(where, "presented as change at %s, which is not a path of wallet %q", path, w.Name)
		}
		if !change {
			return false, refuse(where, "presented as change but on the receive branch (%s)", path)
		}
		derived, err := w.desc.Derive(true, index)
		if err != nil {
			return false, refuseErr(where, "derive the registered wallet", err)
		}
		if own := ownTapKey(derived, w.origin, path); own == nil || !bytes.Equal(own[1:], d.XOnlyPubKey) {
			return false, refuse(where, "change key %x claims our fingerprint %s at %s but does not re-derive from our seed", d.XOnlyPubKey, fp, path)
		}
		if !bytes.Equal(derived.ScriptPubKey, out.PkScript) {
			return false, refuse(where, "presented as change at %s but is not the wallet's output key there (another tree, internal key or key set)", path)
		}
		if po.TaprootInternalKey != nil && !bytes.Equal(po.TaprootInternalKey, derived.Taproot.InternalKey.PubKey[1:]) {
			return false, refuse(where, "change internal key is not the one the wallet derives at %s", path)
		}
		if po.TaprootTapTree != nil {
			same := len(po.TaprootTapTree) == len(derived.Taproot.Leaves)
			for n := 0; same && n < len(po.TaprootTapTree); n++ {
				same = bytes.Equal(po.TaprootTapTree[n].Script, derived.Taproot.Leaves[n].Script)
			}
			if !same {
				return false, refuse(where, "change tap tree is not the one the wallet derives at %s", path)
			}
		}
		if err := checkTapDerivations(where, po.TaprootBip32Derivation, derived); err != nil {
			return false, err
		}
		if index > maxIndex+changeGapRefuse {
			return false, refuse(where, "change index %d is far beyond the inputs' (%d)", index, maxIndex)
		}
		if index > maxIndex+changeGapWarn {
			r.Warnings = append(r.Warnings, fmt.Sprintf("output %d: change index %d is more than %d past the inputs' highest index %d", j, index, changeGapWarn, maxIndex))
		}
		ro.Change, ro.Index = true, index
		return true, nil
	}
	return false, nil
}

// rederiveTap is rederive for a tr() destination claimed by a taproot
// derivation d (its PubKey the x-only key): the key, output key, internal
// key, tree and every taproot derivation must be dst's at (change,
// index).
func (dst *destination) rederiveTap(where string, po *psbt.Output, out *psbt.TxOut, d psbt.Bip32Derivation, change bool, index uint32) error {
	path := wallet.Path(d.Path)
	if dst.desc.ScriptType() != wallet.P2TR {
		return refuse(where, "a taproot key claims registered wallet %q, which is %s", dst.name, dst.desc.ScriptType())
	}
	derived, err := dst.desc.Derive(change, index)
	if err != nil {
		return refuseErr(where, fmt.Sprintf("derive registered wallet %q at %s", dst.name, path), err)
	}
	own := ownTapKey(derived, wallet.KeyOrigin{Fingerprint: wallet.Fingerprint(d.Fingerprint)}, path)
	if own == nil || !bytes.Equal(own[1:], d.PubKey) {
		return refuse(where, "key %x claims registered wallet %q at %s but is not its key there", d.PubKey, dst.name, path)
	}
	if !bytes.Equal(derived.ScriptPubKey, out.PkScript) {
		return refuse(where, "claims registered wallet %q at %s but is not its output key there", dst.name, path)
	}
	if po.TaprootInternalKey != nil && !bytes.Equal(po.TaprootInternalKey, derived.Taproot.InternalKey.PubKey[1:]) {
		return refuse(where, "internal key is not the one registered wallet %q derives at %s", dst.name, path)
	}
	if po.TaprootTapTree != nil {
		same := len(po.TaprootTapTree) == len(derived.Taproot.Leaves)
		for n := 0; same && n < len(po.TaprootTapTree); n++ {
			same = bytes.Equal(po.TaprootTapTree[n].Script, derived.Taproot.Leaves[n].Script)
		}
		if !same {
			return refuse(where, "tap tree is not the one registered wallet %q derives at %s", dst.name, path)
		}
	}
	return checkTapDerivations(where, po.TaprootBip32Derivation, derived)
}

// taprootNote says, for a tr() wallet being registered, who can spend by
// its key path: nobody (BIP-341's NUMS point) or the holder of the
// internal key alone, which the operator must know. Empty for other
// wallets.
func taprootNote(d *wallet.Descriptor) string {
	if d.ScriptType() != wallet.P2TR {
		return ""
	}
	if !d.KeyPathSpendable() {
		return "Key path: unspendable (BIP-341's NUMS point); spent only by its script leaves\n"
	}
	der, err := d.Derive(false, 0)
	if err != nil {
		return "WARNING: key path: its internal key can spend every coin alone\n"
	}
	return fmt.Sprintf("WARNING: key path: whoever holds the internal key [%s] can spend every coin alone, without the leaves' signers\n", der.Taproot.InternalKey.Origin)
}
