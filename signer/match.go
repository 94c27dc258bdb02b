package signer

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// inputCheck is what the checks of one input alone found. The checks of
// every input run in parallel; review merges them in input order.
type inputCheck struct {
	utxo       *psbt.TxOut
	spentErr   error // the input is finalized, or its previous transaction is wrong
	ip         *inputPlan
	w          *registered
	matchErr   error // the input claims our key and is refused
	sighashErr error
	warn       string // what a sighash other than ALL leaves uncommitted
}

func (c *inputCheck) err() error {
	for _, err := range []error{c.spentErr, c.matchErr, c.sighashErr} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkInput runs the checks of input i that need no other input. It
// reads p and wallets and writes nothing shared, so inputs can be checked
// at once.
func checkInput(p *psbt.Packet, i int, wallets []*registered, pre derivedSet, fp wallet.Fingerprint, allowSighash bool) inputCheck {
	var c inputCheck
	if p.Inputs[i].IsFinalized() {
		c.spentErr = refuse(fmt.Sprintf("input %d", i), "is already finalized")
		return c
	}
	if c.utxo, c.spentErr = spentOutput(p, i); c.spentErr != nil {
		return c
	}
	if checkTaprootInput(p, i, &c, wallets, pre, fp) {
		return c
	}
	c.ip, c.w, c.matchErr = matchInput(p, i, c.utxo, wallets, pre, fp)
	if c.matchErr != nil {
		return c
	}
	if c.ip == nil {
		// Not ours: its derivation keys were compared with nothing, so
		// they are checked to be keys at all, as a strict parse would.
		c.matchErr = checkKeys(fmt.Sprintf("input %d", i), p.Inputs[i].Bip32Derivation)
		return c
	}
	c.ip.amount = c.utxo.Value
	c.ip.hashTyp, c.warn, c.sighashErr = checkSigHash(p, i, allowSighash)
	return c
}

// checkKeys refuses a BIP-32 derivation whose key is not a point on the
// curve. The PSBT is parsed taking these keys as bytes
// (psbt.ParseOptions): a key compared with one the signer derived needs
// no check of its own, and the others get this one.
func checkKeys(where string, ds []psbt.Bip32Derivation) error {
	for _, d := range ds {
		if _, err := btcec.ParsePubKey(d.PubKey); err != nil {
			return refuseErr(where, fmt.Sprintf("key %x of a BIP-32 derivation is not a valid public key", d.PubKey), err)
		}
	}
	return nil
}

// matchInput decides whether input i belongs to one of the registered
// wallets: a derivation claiming the signer's fingerprint must re-derive
// from the seed, sit under a wallet's key origin, and that wallet must
// derive exactly the spent script at that path. Wallets may share the
// signer's key origin (a 2-of-3 and a 2-of-2 over the same account key):
// every wallet the path fits is tried, and the input is refused only
// when none of them derives its script. It returns nil, nil, nil for an
// input that claims no key of this signer. No private key is derived
// here. The wallets' derivations come from pre when it holds them.
func matchInput(p *psbt.Packet, i int, utxo *psbt.TxOut, wallets []*registered, pre derivedSet, fp wallet.Fingerprint) (*inputPlan, *registered, error) {
	where := fmt.Sprintf("input %d", i)
	in := &p.Inputs[i]
	for _, d := range in.Bip32Derivation {
		if wallet.Fingerprint(d.Fingerprint) != fp {
			continue
		}
		path := wallet.Path(d.Path)
		// The path is checked before anything is derived along it.
		return matchAmong(where, path, wallets, "wallet", "a script", nil,
			func(w *registered, change bool, index uint32) (*inputPlan, bool, error) {
				derived, err := pre.derive(w, change, index)
				if err != nil {
					return nil, false, refuseErr(where, "derive the registered wallet", err)
				}
				ip, decisive, err := matchWallet(where, in, utxo, w, derived, d, path)
				if err == nil {
					ip.index = i
				}
				return ip, decisive, err
			})
	}
	return nil, nil, nil
}

// matchAmong tries every registered wallet (of those keep lets through;
// nil: all) that places our key's path on its receive or change branch,
// and returns the first that match says derives the input. Otherwise it
// refuses: with the reason no other wallet could lift (a decisive
// refusal), or with what they all failed at. kind and spent name the
// wallets and what they derive in the messages.
func matchAmong(where string, path wallet.Path, wallets []*registered, kind, spent string, keep func(*registered) bool,
	match func(w *registered, change bool, index uint32) (*inputPlan, bool, error)) (*inputPlan, *registered, error) {
	var first, final error
	fits := 0
	for _, w := range wallets {
		if keep != nil && !keep(w) {
			continue
		}
		change, index, ok := w.locate(path)
		if !ok {
			continue
		}
		fits++
		ip, decisive, err := match(w, change, index)
		if err == nil {
			return ip, w, nil
		}
		if first == nil {
			first = err
		}
		if decisive && final == nil {
			final = err
		}
	}
	switch {
	case fits == 0:
		return nil, nil, refuse(where, "our key at %s is not at a receive or change path of any registered %s", path, kind)
	case final != nil:
		// The reason to give: no other wallet would do better.
		return nil, nil, final
	case fits > 1:
		return nil, nil, refuse(where, "spends %s that none of the %d registered %ss with our key at %s derives there", spent, fits, kind, path)
	}
	return nil, nil, first
}

// matchWallet checks input in against wallet w's derivation at our
// key's path. decisive reports a refusal that no other wallet sharing
// the key origin could lift: the claimed key is not ours, or w derives
// the spent script and something else is wrong.
func matchWallet(where string, in *psbt.Input, utxo *psbt.TxOut, w *registered, derived *wallet.Derived, d psbt.Bip32Derivation, path wallet.Path) (ip *inputPlan, decisive bool, err error) {
	// The wallet's key for this signer was checked to re-derive from the
	// seed when the wallet was loaded, so its child here is the seed's
	// own key at path. The claimed key is compared byte for byte with
	// it, which is also what proves it a point on the curve.
	own := ownDerivedKey(derived, w.origin, path)
	if own == nil || !bytes.Equal(own, d.PubKey) {
		return nil, true, refuse(where, "key %x claims our fingerprint %s at %s but does not re-derive from our seed", d.PubKey, wallet.Fingerprint(d.Fingerprint), path)
	}
	if !bytes.Equal(derived.ScriptPubKey, utxo.PkScript) {
		return nil, false, refuse(where, "spends a script that wallet %q does not derive at %s", w.Name, path)
	}
	if in.WitnessScript != nil && !bytes.Equal(in.WitnessScript, derived.WitnessScript) {
		return nil, true, refuse(where, "witness script is not the one wallet %q derives at %s", w.Name, path)
	}
	if in.RedeemScript != nil && !bytes.Equal(in.RedeemScript, derived.RedeemScript) {
		return nil, true, refuse(where, "redeem script is not the one wallet %q derives at %s", w.Name, path)
	}
	if err := checkDerivations(where, in.Bip32Derivation, derived); err != nil {
		return nil, true, err
	}
	return &inputPlan{path: path, pubKey: own, derived: derived}, true, nil
}

// ownDerivedKey returns the public key, among a derivation's keys, of the
// signer's own key (origin) at path.
func ownDerivedKey(d *wallet.Derived, origin wallet.KeyOrigin, path wallet.Path) []byte {
	for _, k := range d.Keys {
		if k.Origin.Fingerprint == origin.Fingerprint && k.Origin.Path.Equal(path) {
			return k.PubKey
		}
	}
	return nil
}

// locate reports whether the wallet's own key origin is the prefix of
// path, with one branch step (0 receive, 1 change) and an unhardened
// index after it, and returns them.
func (w *registered) locate(path wallet.Path) (change bool, index uint32, ok bool) {
	o := w.origin.Path
	if len(path) != len(o)+2 || !path[:len(o)].Equal(o) {
		return false, 0, false
	}
	branch, index := path[len(o)], path[len(o)+1]
	if branch > 1 || index >= wallet.Hardened {
		return false, 0, false
	}
	return branch == 1, index, true
}

// checkDerivations refuses BIP-32 derivations that disagree with what the
// registered wallet derives: a foreign key or a wrong path for a cosigner.
func checkDerivations(where string, ds []psbt.Bip32Derivation, derived *wallet.Derived) error {
	for _, d := range ds {
		match := false
		for _, k := range derived.Keys {
			if bytes.Equal(k.PubKey, d.PubKey) {
				if k.Origin.Fingerprint != wallet.Fingerprint(d.Fingerprint) || !k.Origin.Path.Equal(wallet.Path(d.Path)) {
					return refuse(where, "key %x is given origin %x/%s, the registered wallet says %s", d.PubKey, d.Fingerprint[:], wallet.Path(d.Path), k.Origin)
				}
				match = true
			}
		}
		if !match {
			return refuse(where, "key %x is not one of the registered wallet's keys", d.PubKey)
		}
	}
	return nil
}
