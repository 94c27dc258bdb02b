package wallet

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNetworkMismatch is returned when a key, descriptor or address belongs
// to a different network than the one in use.
var ErrNetworkMismatch = errors.New("network mismatch")

// Network holds what kinko needs to know about a Bitcoin network: address
// prefixes, extended-key version bytes and the BIP-44 coin type. A Network
// travels with every key and descriptor.
//
// Testnet, Signet and Regtest share extended-key versions (tpub/tprv), so a
// key alone cannot tell them apart; see [Network.Family].
type Network struct {
	Name     string // "mainnet", "testnet", "signet", "regtest"
	Bech32   string // segwit address human-readable part
	P2PKH    byte   // base58 version byte of pay-to-pubkey-hash addresses
	P2SH     byte   // base58 version byte of pay-to-script-hash addresses
	XPrv     [4]byte
	XPub     [4]byte
	CoinType uint32 // BIP-44 coin type: 0 on mainnet, 1 elsewhere
}

// The networks kinko knows.
var (
	Mainnet = &Network{Name: "mainnet", Bech32: "bc", P2PKH: 0x00, P2SH: 0x05,
		XPrv: [4]byte{0x04, 0x88, 0xad, 0xe4}, XPub: [4]byte{0x04, 0x88, 0xb2, 0x1e}, CoinType: 0}
	Testnet = &Network{Name: "testnet", Bech32: "tb", P2PKH: 0x6f, P2SH: 0xc4,
		XPrv: [4]byte{0x04, 0x35, 0x83, 0x94}, XPub: [4]byte{0x04, 0x35, 0x87, 0xcf}, CoinType: 1}
	Signet = &Network{Name: "signet", Bech32: "tb", P2PKH: 0x6f, P2SH: 0xc4,
		XPrv: [4]byte{0x04, 0x35, 0x83, 0x94}, XPub: [4]byte{0x04, 0x35, 0x87, 0xcf}, CoinType: 1}
	Regtest = &Network{Name: "regtest", Bech32: "bcrt", P2PKH: 0x6f, P2SH: 0xc4,
		XPrv: [4]byte{0x04, 0x35, 0x83, 0x94}, XPub: [4]byte{0x04, 0x35, 0x87, 0xcf}, CoinType: 1}
)

// Networks lists every known network, mainnet first.
var Networks = []*Network{Mainnet, Testnet, Signet, Regtest}

// ParseNetwork returns the network with the given name. "main", "test" and
// "testnet3"/"testnet4" are accepted as aliases.
func ParseNetwork(name string) (*Network, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "mainnet", "main", "bitcoin":
		return Mainnet, nil
	case "testnet", "test", "testnet3", "testnet4":
		return Testnet, nil
	case "signet":
		return Signet, nil
	case "regtest":
		return Regtest, nil
	}
	return nil, fmt.Errorf("unknown network %q (want mainnet, testnet, signet or regtest)", name)
}

// String returns the network's name.
func (n *Network) String() string { return n.Name }

// Family returns the network whose extended-key versions n uses: Mainnet
// for mainnet, Testnet for testnet, signet and regtest.
func (n *Network) Family() *Network {
	if n == Mainnet {
		return Mainnet
	}
	return Testnet
}

// SameFamily reports whether a and b share extended-key versions, so that
// a key of one is valid on the other.
func SameFamily(a, b *Network) bool { return a.Family() == b.Family() }
