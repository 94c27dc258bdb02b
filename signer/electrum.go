package signer

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Electrum names keys it holds only as an xpub (a cosigner entered as a
// Vpub/Zpub, which carries no origin) by the xpub itself: a BIP-32
// derivation gives that xpub's own fingerprint (the first four bytes of
// HASH160 of its public key) and the path below it, branch/index, as if
// the xpub were a master key; with "Export for hardware device" the
// global xpubs come out the same way, re-serialized at depth 0 and path
// m. (Electrum issues #5955 and #6780; bitcoinjs-lib issue #1664.)
//
// The signer reads such a derivation as the registered key's origin
// followed by branch/index, and such a global xpub as the registered key
// at its origin, before the review. Everything the review checks for a
// full origin is then checked as it is: the claimed key must re-derive
// from the seed or from the registered wallet or destination, at that
// path. A fingerprint that names a registered key while the key given is
// another one is therefore refused where a full origin's would be; a
// global xpub in that form that is not the key it names is refused here.

// electrumKey is a registered key reachable by its own fingerprint.
type electrumKey struct {
	key    *wallet.ExtendedKey
	origin wallet.KeyOrigin
	// ambiguous is set when two registered keys, or one key registered
	// at two origins, share the fingerprint: a derivation naming it
	// cannot be resolved.
	ambiguous bool
}

// electrumOrigins returns p with every derivation and global xpub in
// Electrum's form rewritten to the full origin of the registered key it
// names (a wallet's key or a destination's). p itself is not modified;
// when nothing is in that form, p is returned as it is.
func (ks *Keystore) electrumOrigins(p *psbt.Packet, wallets []*registered) (*psbt.Packet, error) {
	if !hasElectrumForm(p) {
		return p, nil
	}
	keys, err := ks.electrumIndex(wallets)
	if err != nil {
		return nil, err
	}
	q := *p
	q.XPubs = slices.Clone(p.XPubs)
	for i := range q.XPubs {
		if err := resolveXPub(&q.XPubs[i], keys); err != nil {
			return nil, err
		}
	}
	q.Inputs = slices.Clone(p.Inputs)
	for i := range q.Inputs {
		ds, err := resolveDerivations(fmt.Sprintf("input %d", i), q.Inputs[i].Bip32Derivation, keys)
		if err != nil {
			return nil, err
		}
		q.Inputs[i].Bip32Derivation = ds
	}
	q.Outputs = slices.Clone(p.Outputs)
	for j := range q.Outputs {
		ds, err := resolveDerivations(fmt.Sprintf("output %d", j), q.Outputs[j].Bip32Derivation, keys)
		if err != nil {
			return nil, err
		}
		q.Outputs[j].Bip32Derivation = ds
	}
	return &q, nil
}

// electrumPath reports whether path is a branch/index pair below an xpub.
func electrumPath(path []uint32) bool {
	return len(path) == 2 && path[0] < wallet.Hardened && path[1] < wallet.Hardened
}

// hasElectrumForm reports whether anything in p may be in Electrum's
// form, so that the common case costs no index.
func hasElectrumForm(p *psbt.Packet) bool {
	for _, x := range p.XPubs {
		if len(x.Path) == 0 {
			return true
		}
	}
	for i := range p.Inputs {
		for _, d := range p.Inputs[i].Bip32Derivation {
			if electrumPath(d.Path) {
				return true
			}
		}
	}
	for j := range p.Outputs {
		for _, d := range p.Outputs[j].Bip32Derivation {
			if electrumPath(d.Path) {
				return true
			}
		}
	}
	return false
}

// electrumIndex indexes the keys of the registered wallets and
// destinations by their own fingerprints.
func (ks *Keystore) electrumIndex(wallets []*registered) (map[wallet.Fingerprint]*electrumKey, error) {
	keys := make(map[wallet.Fingerprint]*electrumKey)
	add := func(d *wallet.Descriptor) {
		for _, k := range d.Keys() {
			fp := k.Key.Fingerprint()
			e, ok := keys[fp]
			if !ok {
				keys[fp] = &electrumKey{key: k.Key, origin: k.Origin}
				continue
			}
			if !sameKey(e.key, k.Key) || e.origin.Fingerprint != k.Origin.Fingerprint || !e.origin.Path.Equal(k.Origin.Path) {
				e.ambiguous = true
			}
		}
	}
	for _, w := range wallets {
		add(w.desc)
	}
	for _, rw := range ks.data.Destinations {
		d, err := rw.parse()
		if err != nil {
			return nil, err
		}
		add(d)
	}
	return keys, nil
}

// sameKey compares the public key and chain code of two extended keys
// (not their depth or parent, which Electrum's form resets).
func sameKey(a, b *wallet.ExtendedKey) bool {
	return bytes.Equal(a.PublicKey(), b.PublicKey()) && bytes.Equal(a.ChainCode(), b.ChainCode())
}

// resolveDerivations rewrites the derivations of ds that name a
// registered key by its own fingerprint with a branch/index path. It
// returns ds itself when none does.
func resolveDerivations(where string, ds []psbt.Bip32Derivation, keys map[wallet.Fingerprint]*electrumKey) ([]psbt.Bip32Derivation, error) {
	var out []psbt.Bip32Derivation
	for i, d := range ds {
		if !electrumPath(d.Path) {
			continue
		}
		e := keys[wallet.Fingerprint(d.Fingerprint)]
		if e == nil {
			continue
		}
		if e.ambiguous {
			return nil, refuse(where, "key %x is given by fingerprint %s as Electrum writes an xpub's own, and more than one registered key has it", d.PubKey, wallet.Fingerprint(d.Fingerprint))
		}
		if out == nil {
			out = slices.Clone(ds)
		}
		path := append(slices.Clone(e.origin.Path), d.Path...)
		out[i] = psbt.Bip32Derivation{PubKey: d.PubKey, Fingerprint: e.origin.Fingerprint, Path: path}
	}
	if out == nil {
		return ds, nil
	}
	return out, nil
}

// resolveXPub rewrites a global xpub given at m under its own fingerprint,
// at depth 0, that is a registered key: it becomes that key at its
// registered origin. One that names a registered key by its fingerprint
// but is another key is refused.
func resolveXPub(x *psbt.XPub, keys map[wallet.Fingerprint]*electrumKey) error {
	if len(x.Path) != 0 {
		return nil
	}
	e := keys[wallet.Fingerprint(x.Fingerprint)]
	if e == nil {
		return nil
	}
	if e.origin.Fingerprint == wallet.Fingerprint(x.Fingerprint) && len(e.origin.Path) == 0 {
		return nil // the registered key is a master key: already its origin
	}
	if e.ambiguous {
		return refuse("global xpub", "at m with fingerprint %s, which more than one registered key has", wallet.Fingerprint(x.Fingerprint))
	}
	// The network is checked with the registered wallet's, as for any
	// global xpub; here only the key matters.
	k, err := wallet.ParseExtendedKeyBytes(x.ExtendedKey, nil)
	if err != nil {
		return refuseErr("global xpub", "at m with a registered key's fingerprint", err)
	}
	if !wallet.SameFamily(k.Network(), e.key.Network()) {
		return refuse("global xpub", "at m with fingerprint %s names registered key %s but is a %s key", wallet.Fingerprint(x.Fingerprint), e.origin, k.Network())
	}
	if !sameKey(k, e.key) || k.Depth() != 0 {
		return refuse("global xpub", "at m with fingerprint %s names registered key %s but is not that key at depth 0", wallet.Fingerprint(x.Fingerprint), e.origin)
	}
	ser := e.key.Serialize()
	*x = psbt.XPub{ExtendedKey: ser[:], Fingerprint: e.origin.Fingerprint, Path: slices.Clone(e.origin.Path)}
	return nil
}
