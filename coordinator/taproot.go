package coordinator

import (
	"bytes"

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
