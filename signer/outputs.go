package signer

import (
	"bytes"
	"fmt"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// reviewOutput classifies output j: change only if it re-derives exactly
// from the registered wallet on the change branch, a registered
// destination only if it re-derives exactly from that destination,
// external otherwise. An output whose derivations claim either and do not
// re-derive is refused.
func reviewOutput(p *psbt.Packet, j int, w *registered, dsts []*destination, fp wallet.Fingerprint, maxIndex uint32, r *Review) (*ReviewOutput, error) {
	where := fmt.Sprintf("output %d", j)
	out := p.UnsignedTx.Outputs[j]
	net := w.desc.Network()
	addr, err := wallet.AddressFromScript(out.PkScript, net)
	if err != nil {
		addr = fmt.Sprintf("non-standard script %x", out.PkScript)
		r.Warnings = append(r.Warnings, fmt.Sprintf("output %d pays a script with no address", j))
	}
	ro := &ReviewOutput{Address: addr, Amount: out.Value}
	po := &p.Outputs[j]
	var notOurs wallet.Path // a path of our key outside the wallet
	for _, d := range po.Bip32Derivation {
		if wallet.Fingerprint(d.Fingerprint) != fp {
			continue
		}
		path := wallet.Path(d.Path)
		if !underOrigin(w, path) {
			if notOurs == nil {
				notOurs = path
			}
			continue
		}
		rw := w
		change, index, ok := w.locate(path)
		if !ok {
			return nil, refuse(where, "presented as change at %s, which is not a path of wallet %q", path, w.Name)
		}
		if !change {
			return nil, refuse(where, "presented as change but on the receive branch (%s)", path)
		}
		derived, err := rw.desc.Derive(true, index)
		if err != nil {
			return nil, refuseErr(where, "derive the registered wallet", err)
		}
		if own := ownDerivedKey(derived, rw.origin, path); own == nil || !bytes.Equal(own, d.PubKey) {
			return nil, refuse(where, "change key %x claims our fingerprint %s at %s but does not re-derive from our seed", d.PubKey, fp, path)
		}
		if !bytes.Equal(derived.ScriptPubKey, out.PkScript) {
			return nil, refuse(where, "presented as change at %s but is not the wallet's script there (another threshold, key set or script type)", path)
		}
		if po.WitnessScript != nil && !bytes.Equal(po.WitnessScript, derived.WitnessScript) {
			return nil, refuse(where, "change witness script is not the one the wallet derives at %s", path)
		}
		if po.RedeemScript != nil && !bytes.Equal(po.RedeemScript, derived.RedeemScript) {
			return nil, refuse(where, "change redeem script is not the one the wallet derives at %s", path)
		}
		if err := checkDerivations(where, po.Bip32Derivation, derived); err != nil {
			return nil, err
		}
		if index > maxIndex+changeGapRefuse {
			return nil, refuse(where, "change index %d is far beyond the inputs' (%d)", index, maxIndex)
		}
		if index > maxIndex+changeGapWarn {
			r.Warnings = append(r.Warnings, fmt.Sprintf("output %d: change index %d is more than %d past the inputs' highest index %d", j, index, changeGapWarn, maxIndex))
		}
		ro.Change, ro.Index = true, index
		return ro, nil
	}
	if done, err := reviewTaprootChange(p, j, w, fp, maxIndex, r, ro); done || err != nil {
		return ro, err
	}
	if ok, err := verifyDestination(p, j, dsts, ro); ok || err != nil {
		return ro, err
	}
	if notOurs != nil {
		return nil, refuse(where, "presented as change at %s, which is not a path of wallet %q", notOurs, w.Name)
	}
	// An external output: its derivation keys were compared with
	// nothing.
	if err := checkKeys(where, po.Bip32Derivation); err != nil {
		return nil, err
	}
	return ro, nil
}

// underOrigin reports whether path starts with the wallet's own key
// origin path.
func underOrigin(w *registered, path wallet.Path) bool {
	o := w.origin.Path
	return len(path) >= len(o) && path[:len(o)].Equal(o)
}

// checkGlobalXPubs refuses global xpubs that conflict with the registered
// wallet: an xpub for one of its key origins that is not the wallet's key,
// one of the wallet's keys announced under another origin (another
// fingerprint or path: our own key passed off as someone else's, or a
// cosigner's as ours), or one of the other network. Any global xpub is
// also compared with this signer's own key at its path: claiming the
// signer's fingerprint it must be that key, and being that key it must
// claim the fingerprint.
func checkGlobalXPubs(p *psbt.Packet, w *registered, master *wallet.ExtendedKey) error {
	net := w.desc.Network()
	for _, gx := range p.XPubs {
		k, err := wallet.ParseExtendedKeyBytes(gx.ExtendedKey, net)
		if err != nil {
			return refuseErr("global xpub", "does not fit the registered wallet's network "+net.String(), err)
		}
		origin := wallet.KeyOrigin{Fingerprint: wallet.Fingerprint(gx.Fingerprint), Path: wallet.Path(gx.Path)}
		if err := checkOwnXPub(k, origin, master); err != nil {
			return err
		}
		for _, rk := range w.desc.Keys() {
			sameOrigin := rk.Origin.Fingerprint == origin.Fingerprint && rk.Origin.Path.Equal(origin.Path)
			sameKey := bytes.Equal(k.PublicKey(), rk.Key.PublicKey()) && bytes.Equal(k.ChainCode(), rk.Key.ChainCode())
			switch {
			case sameOrigin && k.String() != rk.Key.String():
				return refuse("global xpub", "for %s conflicts with the registered wallet's key", rk.Origin)
			case sameKey && !sameOrigin:
				whose := "a cosigner's key"
				if rk.Origin.Fingerprint == w.origin.Fingerprint && rk.Origin.Path.Equal(w.origin.Path) {
					whose = "this signer's own key"
				}
				return refuse("global xpub", "announces %s (registered at %s) under another origin, %s", whose, rk.Origin, origin)
			}
		}
	}
	return nil
}

// maxXPubDepth bounds the path of a global xpub the signer re-derives:
// BIP-32 depth is one byte, and no wallet is deeper than a few steps.
const maxXPubDepth = 16

// checkOwnXPub compares a global xpub announced at origin with this
// signer's own key at origin's path.
func checkOwnXPub(k *wallet.ExtendedKey, origin wallet.KeyOrigin, master *wallet.ExtendedKey) error {
	claimsOurs := origin.Fingerprint == master.Fingerprint()
	if len(origin.Path) > maxXPubDepth {
		if claimsOurs {
			return refuse("global xpub", "claims our fingerprint at a path of %d steps, deeper than any key of ours", len(origin.Path))
		}
		return nil
	}
	own, err := master.Derive(origin.Path)
	if err != nil {
		return refuseErr("global xpub", "cannot derive our key at "+origin.Path.String(), err)
	}
	same := bytes.Equal(own.PublicKey(), k.PublicKey()) && bytes.Equal(own.ChainCode(), k.ChainCode())
	own.Zero()
	switch {
	case claimsOurs && !same:
		return refuse("global xpub", "claims this signer's fingerprint at %s but is not its key there", origin.Path)
	case !claimsOurs && same:
		return refuse("global xpub", "announces this signer's own key at %s under another fingerprint, %s", origin.Path, origin.Fingerprint)
	}
	return nil
}
