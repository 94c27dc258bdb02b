package signer

import (
	"fmt"
	"reflect"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// CheckPrederived runs prederive on p as a review would, and checks each
// derivation it made against the wallet's own Derive. It returns how
// many inputs will find theirs in the set.
func (ks *Keystore) CheckPrederived(p *psbt.Packet, workers int) (int, error) {
	master, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return 0, err
	}
	defer master.Zero()
	wallets, err := ks.registeredWallets(master)
	if err != nil {
		return 0, err
	}
	fp := master.Fingerprint()
	set := prederive(p, wallets, fp, workers)
	for k, d := range set {
		want, err := k.w.desc.Derive(k.change, k.index)
		if err != nil {
			return 0, err
		}
		if !reflect.DeepEqual(d, want) {
			return 0, fmt.Errorf("wallet %q change=%v index %d: prederived %+v, Derive %+v", k.w.Name, k.change, k.index, d, want)
		}
	}
	hits := 0
	found := func(fp2 [4]byte, path []uint32) bool {
		if wallet.Fingerprint(fp2) != fp {
			return false
		}
		for _, w := range wallets {
			if change, index, ok := w.locate(wallet.Path(path)); ok {
				if _, in := set[derivation{w, change, index}]; in {
					hits++
					break
				}
			}
		}
		return true
	}
	for i := range p.Inputs {
		for _, d := range p.Inputs[i].Bip32Derivation {
			if found(d.Fingerprint, d.Path) {
				break
			}
		}
		for _, d := range p.Inputs[i].TaprootBip32Derivation {
			if found(d.Fingerprint, d.Path) {
				break
			}
		}
	}
	return hits, nil
}
