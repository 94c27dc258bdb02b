package signer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kinko-project/kinko/wallet"
)

// ErrUnknownWallet is returned for a wallet name that is not registered.
var ErrUnknownWallet = errors.New("no such registered wallet")

// Registration describes a wallet for the operator to confirm before it
// is registered.
type Registration struct {
	Name         string
	Descriptor   *wallet.Descriptor
	Own          wallet.KeyOrigin // the signer's own key in the wallet
	OwnPosition  int              // 1-based position of that key in the descriptor
	FirstAddress string
	Policy       *Policy
}

// Format writes what the operator must check against the coordinator and
// the other cosigners.
func (r *Registration) Format(w io.Writer) {
	d := r.Descriptor
	var b strings.Builder
	fmt.Fprintf(&b, "Wallet %q: %d-of-%d %s on %s\n", r.Name, d.Threshold(), len(d.Keys()), d.ScriptType(), d.Network())
	for i, k := range d.Keys() {
		mark := ""
		if i+1 == r.OwnPosition {
			mark = "   <- this signer"
		}
		fmt.Fprintf(&b, "  key %d: [%s] %s%s\n", i+1, k.Origin, k.Key, mark)
	}
	fmt.Fprintf(&b, "First receive address: %s\n", r.FirstAddress)
	if r.Policy != nil {
		fmt.Fprintf(&b, "Signing policy: %s\n", r.Policy)
	}
	io.WriteString(w, b.String())
}

// PrepareRegistration checks that d holds a key of this seed at the path
// it claims, and describes it. Nothing is stored.
func (ks *Keystore) PrepareRegistration(name string, d *wallet.Descriptor, policy *Policy) (*Registration, error) {
	if name == "" {
		return nil, errors.New("a wallet needs a name")
	}
	if !d.IsRange() || !d.HasChange() {
		return nil, errors.New("the wallet descriptor must be ranged with receive and change branches (<0;1>/*)")
	}
	for i, k := range d.Keys() {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("key %d of the wallet: %w", i+1, err)
		}
	}
	for _, rw := range ks.data.Wallets {
		if rw.Name == name {
			return nil, fmt.Errorf("a wallet named %q is already registered", name)
		}
		if rw.Descriptor == d.String() {
			return nil, fmt.Errorf("this wallet is already registered as %q", rw.Name)
		}
	}
	master, err := ks.Master(wallet.Mainnet)
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	own, err := ownKey(d, master)
	if err != nil {
		return nil, err
	}
	pos := 0
	for i, k := range d.Keys() {
		if k.Origin.Fingerprint == own.Fingerprint && k.Origin.Path.String() == own.Path.String() {
			pos = i + 1
		}
	}
	first, err := d.Derive(false, 0)
	if err != nil {
		return nil, err
	}
	return &Registration{Name: name, Descriptor: d, Own: own, OwnPosition: pos, FirstAddress: first.Address, Policy: policy}, nil
}

// Register stores a prepared registration in the keystore and saves it.
func (ks *Keystore) Register(r *Registration) error {
	ks.data.Wallets = append(ks.data.Wallets, RegisteredWallet{
		Name: r.Name, Descriptor: r.Descriptor.String(), Network: r.Descriptor.Network().Name, Policy: r.Policy, Registered: time.Now().UTC().Truncate(time.Second),
	})
	return ks.Save()
}

// Wallet returns the registered wallet called name and its descriptor.
func (ks *Keystore) Wallet(name string) (*RegisteredWallet, *wallet.Descriptor, error) {
	for i := range ks.data.Wallets {
		rw := &ks.data.Wallets[i]
		if rw.Name == name {
			d, err := rw.parse()
			if err != nil {
				return nil, nil, err
			}
			return rw, d, nil
		}
	}
	return nil, nil, fmt.Errorf("%q: %w", name, ErrUnknownWallet)
}
