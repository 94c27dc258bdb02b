package signer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kinko-project/kinko/wallet"
)

// Errors for names that are not registered.
var (
	ErrUnknownWallet      = errors.New("no such registered wallet")
	ErrUnknownDestination = errors.New("no such registered destination")
)

// Registration describes a wallet for the operator to confirm before it
// is registered.
type Registration struct {
	Name         string
	Descriptor   *wallet.Descriptor
	Own          wallet.KeyOrigin // the signer's own key in the wallet
	OwnPosition  int              // 1-based position of that key in the descriptor
	FirstAddress string
	Policy       *Policy
	// Destination marks a wallet registered to be paid, never signed
	// for ([Keystore.PrepareDestination]); OwnPosition is then 0 unless
	// it happens to hold the signer's key.
	Destination bool
}

// Format writes what the operator must check against the coordinator and
// the other cosigners.
func (r *Registration) Format(w io.Writer) {
	d := r.Descriptor
	var b strings.Builder
	if r.Destination {
		fmt.Fprintf(&b, "Destination %q: %s on %s (may be paid, never signed for)\n", r.Name, Describe(d), d.Network())
	} else {
		fmt.Fprintf(&b, "Wallet %q: %s on %s\n", r.Name, Describe(d), d.Network())
	}
	for i, k := range d.Keys() {
		mark := ""
		if i+1 == r.OwnPosition {
			mark = "   <- this signer"
		}
		fmt.Fprintf(&b, "  key %d: [%s] %s%s\n", i+1, k.Origin, k.Key, mark)
	}
	b.WriteString(taprootNote(d))
	fmt.Fprintf(&b, "First receive address: %s\n", r.FirstAddress)
	if r.Destination && r.OwnPosition == 0 {
		b.WriteString("This signer holds no key of it.\n")
	}
	if r.Policy != nil {
		fmt.Fprintf(&b, "Signing policy: %s\n", r.Policy)
	}
	io.WriteString(w, b.String())
}

// PrepareRegistration checks that d holds a key of this seed at the path
// it claims, and describes it. Nothing is stored.
func (ks *Keystore) PrepareRegistration(name string, d *wallet.Descriptor, policy *Policy) (*Registration, error) {
	if err := ks.checkNew(name, d, ks.data.Wallets); err != nil {
		return nil, err
	}
	if policy != nil {
		for _, n := range policy.AllowWallets {
			if _, _, err := ks.Destination(n); err != nil {
				return nil, fmt.Errorf("allowed wallet: %w (register it first as a destination)", err)
			}
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

// checkNew checks what a wallet and a destination both need: a name not
// yet used by either, a ranged descriptor with receive and change
// branches, valid keys, and not already registered in list.
func (ks *Keystore) checkNew(name string, d *wallet.Descriptor, list []RegisteredWallet) error {
	if name == "" {
		return errors.New("a wallet needs a name")
	}
	if !d.IsRange() || !d.HasChange() {
		return errors.New("the wallet descriptor must be ranged with receive and change branches (<0;1>/*)")
	}
	for i, k := range d.Keys() {
		if err := k.Validate(); err != nil {
			return fmt.Errorf("key %d of the wallet: %w", i+1, err)
		}
	}
	for _, rw := range ks.data.Wallets {
		if rw.Name == name {
			return fmt.Errorf("a wallet named %q is already registered", name)
		}
	}
	for _, rw := range ks.data.Destinations {
		if rw.Name == name {
			return fmt.Errorf("a destination named %q is already registered", name)
		}
	}
	for _, rw := range list {
		if rw.Descriptor == d.String() {
			return fmt.Errorf("this wallet is already registered as %q", rw.Name)
		}
	}
	return nil
}

// Register stores a prepared registration in the keystore and saves it:
// a wallet to sign for, or a destination.
func (ks *Keystore) Register(r *Registration) error {
	rw := RegisteredWallet{
		Name: r.Name, Descriptor: r.Descriptor.String(), Network: r.Descriptor.Network().Name, Policy: r.Policy, Registered: time.Now().UTC().Truncate(time.Second),
	}
	if r.Destination {
		if r.Policy != nil {
			return errors.New("a destination has no signing policy")
		}
		ks.data.Destinations = append(ks.data.Destinations, rw)
	} else {
		ks.data.Wallets = append(ks.data.Wallets, rw)
	}
	return ks.Save()
}

// Wallet returns the registered wallet called name and its descriptor.
func (ks *Keystore) Wallet(name string) (*RegisteredWallet, *wallet.Descriptor, error) {
	return lookup(ks.data.Wallets, name, ErrUnknownWallet)
}

// Destination returns the registered destination called name and its
// descriptor.
func (ks *Keystore) Destination(name string) (*RegisteredWallet, *wallet.Descriptor, error) {
	return lookup(ks.data.Destinations, name, ErrUnknownDestination)
}

func lookup(list []RegisteredWallet, name string, notFound error) (*RegisteredWallet, *wallet.Descriptor, error) {
	for i := range list {
		rw := &list[i]
		if rw.Name == name {
			d, err := rw.parse()
			if err != nil {
				return nil, nil, err
			}
			return rw, d, nil
		}
	}
	return nil, nil, fmt.Errorf("%q: %w", name, notFound)
}
