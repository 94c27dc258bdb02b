package signer

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// maxDestinationIndex is the highest address index of a registered
// destination the signer pays. A real wallet never gets near it (the
// coordinator hands out addresses one by one, a gap limit of 20 apart at
// most), and an address beyond any wallet's gap window would never be
// found by the wallet's owner: the coins would be stranded.
const maxDestinationIndex = 100_000

// PrepareDestination checks a wallet the signer may pay, a treasury's hot
// wallet say, and describes it. A destination needs no key of this seed
// (it may hold one) and is never used to sign: an output paying it is
// shown as "to registered wallet NAME" only once the signer has
// re-derived the output's script from its descriptor. Nothing is stored.
func (ks *Keystore) PrepareDestination(name string, d *wallet.Descriptor) (*Registration, error) {
	if err := ks.checkNew(name, d, ks.data.Destinations); err != nil {
		return nil, err
	}
	master, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	r := &Registration{Name: name, Descriptor: d, Destination: true}
	fp := master.Fingerprint()
	for _, k := range d.Keys() {
		if k.Origin.Fingerprint == fp {
			// A key claiming this seed must be its key: otherwise the
			// descriptor lies about whose keys it holds.
			own, err := ownKey(d, master)
			if err != nil {
				return nil, err
			}
			r.Own = own
			for i, k := range d.Keys() {
				if k.Origin.Fingerprint == own.Fingerprint && k.Origin.Path.Equal(own.Path) {
					r.OwnPosition = i + 1
				}
			}
			break
		}
	}
	first, err := d.Derive(false, 0)
	if err != nil {
		return nil, err
	}
	r.FirstAddress = first.Address
	return r, nil
}

// Destinations returns the registered destinations.
func (ks *Keystore) Destinations() []RegisteredWallet { return ks.data.Destinations }

// Describe says what kind of wallet d is, as reviews and listings show
// it: "2-of-3 wsh", or "single-key wpkh" for wpkh() and sh(wpkh())
// ("single-key sh-wpkh").
func Describe(d *wallet.Descriptor) string {
	if !d.IsMultisig() {
		return "single-key " + d.ScriptType().String()
	}
	return fmt.Sprintf("%d-of-%d %s", d.Threshold(), len(d.Keys()), d.ScriptType())
}

// destination is a parsed registered destination.
type destination struct {
	name string
	desc *wallet.Descriptor
}

func (ks *Keystore) destinations(net *wallet.Network) ([]*destination, error) {
	var out []*destination
	for _, rw := range ks.data.Destinations {
		d, err := rw.parse()
		if err != nil {
			return nil, err
		}
		if d.Network() != net {
			continue
		}
		out = append(out, &destination{name: rw.Name, desc: d})
	}
	return out, nil
}

// claim returns the branch and index that derivation d claims in dst: its
// fingerprint is that of one of dst's key origins and its path begins
// with that origin's path. ok is false when d claims nothing of dst; err
// is a refusal when it claims dst with a path no address of dst has.
func (dst *destination) claim(where string, d psbt.Bip32Derivation) (change bool, index uint32, ok bool, err error) {
	path := wallet.Path(d.Path)
	for _, k := range dst.desc.Keys() {
		o := k.Origin
		if o.Fingerprint != wallet.Fingerprint(d.Fingerprint) || len(path) < len(o.Path) || !path[:len(o.Path)].Equal(o.Path) {
			continue
		}
		// After the origin: any fixed steps the descriptor writes after
		// its key, then the branch and the index. The fixed steps are
		// checked when the whole path is compared with the derived one.
		rest := path[len(o.Path):]
		for _, step := range rest {
			if step >= wallet.Hardened {
				return false, 0, true, refuse(where, "claims registered wallet %q at %s, a hardened path no address of it has", dst.name, path)
			}
		}
		if len(rest) < 2 || rest[len(rest)-2] > 1 {
			return false, 0, true, refuse(where, "claims registered wallet %q at %s, which is not a receive or change path of it", dst.name, path)
		}
		branch, index := rest[len(rest)-2], rest[len(rest)-1]
		if index > maxDestinationIndex {
			return false, 0, true, refuse(where, "claims registered wallet %q at index %d, beyond %d: no wallet looks that far, the coins would be stranded", dst.name, index, maxDestinationIndex)
		}
		return branch == 1, index, true, nil
	}
	return false, 0, false, nil
}

// verifyDestination checks output j against the registered destinations
// its derivations claim. It returns nil, nil when no derivation claims
// one; a refusal when a claim does not re-derive exactly: the output
// script, its witness and redeem scripts, and every key and origin given.
// Destinations sharing a key are tried in turn; the first that
// re-derives the output wins.
func verifyDestination(p *psbt.Packet, j int, dsts []*destination, ro *ReviewOutput) (bool, error) {
	where := fmt.Sprintf("output %d", j)
	out := p.UnsignedTx.Outputs[j]
	po := &p.Outputs[j]
	var first error
	claimed := false
	for _, dst := range dsts {
		// Taproot derivations (x-only keys) claim a tr() destination;
		// they are tried after the others, with the same origins.
		claims := slices.Clone(po.Bip32Derivation)
		for _, td := range po.TaprootBip32Derivation {
			claims = append(claims, psbt.Bip32Derivation{PubKey: td.XOnlyPubKey, Fingerprint: td.Fingerprint, Path: td.Path})
		}
		for _, d := range claims {
			change, index, ok, err := dst.claim(where, d)
			if !ok {
				continue
			}
			claimed = true
			if err == nil {
				if len(d.PubKey) == 32 {
					err = dst.rederiveTap(where, po, out, d, change, index)
				} else {
					err = dst.rederive(where, po, out, d, change, index)
				}
			}
			if err != nil {
				if first == nil {
					first = err
				}
				break
			}
			ro.Destination, ro.DestinationChange, ro.Index = dst.name, change, index
			return true, nil
		}
	}
	if claimed {
		return false, first
	}
	return false, nil
}

// rederive derives dst at (change, index) and compares it with output out
// and its PSBT fields.
func (dst *destination) rederive(where string, po *psbt.Output, out *psbt.TxOut, d psbt.Bip32Derivation, change bool, index uint32) error {
	path := wallet.Path(d.Path)
	derived, err := dst.desc.Derive(change, index)
	if err != nil {
		return refuseErr(where, fmt.Sprintf("derive registered wallet %q at %s", dst.name, path), err)
	}
	found := false
	for _, k := range derived.Keys {
		if k.Origin.Fingerprint == wallet.Fingerprint(d.Fingerprint) && k.Origin.Path.Equal(path) {
			found = bytes.Equal(k.PubKey, d.PubKey)
			break
		}
	}
	if !found {
		return refuse(where, "key %x claims registered wallet %q at %s but is not its key there", d.PubKey, dst.name, path)
	}
	if !bytes.Equal(derived.ScriptPubKey, out.PkScript) {
		return refuse(where, "claims registered wallet %q at %s but is not its script there", dst.name, path)
	}
	if po.WitnessScript != nil && !bytes.Equal(po.WitnessScript, derived.WitnessScript) {
		return refuse(where, "witness script is not the one registered wallet %q derives at %s", dst.name, path)
	}
	if po.RedeemScript != nil && !bytes.Equal(po.RedeemScript, derived.RedeemScript) {
		return refuse(where, "redeem script is not the one registered wallet %q derives at %s", dst.name, path)
	}
	return checkDerivations(where, po.Bip32Derivation, derived)
}
