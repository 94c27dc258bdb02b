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
	for i := range p.Inputs {
		for _, d := range p.Inputs[i].Bip32Derivation {
			if wallet.Fingerprint(d.Fingerprint) != fp {
				continue
			}
			for _, w := range wallets {
				if change, index, ok := w.locate(wallet.Path(d.Path)); ok {
					if _, in := set[derivation{w, change, index}]; in {
						hits++
						break
					}
				}
			}
			break
		}
	}
	return hits, nil
}
