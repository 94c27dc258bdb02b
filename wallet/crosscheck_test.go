package wallet

// The tests in this file check kinko's descriptors against an independent
// implementation: btcd's hdkeychain (btcutil/v2/hdkeychain) for BIP-32,
// txscript/v2 for the multisig scripts and address/v2 for the scripts'
// addresses. Each wallet's xpubs and origins are made with hdkeychain from
// test seeds; kinko parses a descriptor written from them by hand and must
// derive the same addresses as hdkeychain + txscript + address from the
// same xpubs; likewise for single-key wpkh and sh(wpkh) wallets. (These
// btcd packages import net, so they may appear only in
// tests.)

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcutil/v2/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
)

var chainParams = map[*Network]*chaincfg.Params{
	Mainnet: &chaincfg.MainNetParams,
	Testnet: &chaincfg.TestNet3Params,
	Signet:  &chaincfg.SigNetParams,
	Regtest: &chaincfg.RegressionNetParams,
}

// btcdCosigner is one cosigner made with hdkeychain: its account xpub and
// the origin of that xpub.
type btcdCosigner struct {
	xpub   *hdkeychain.ExtendedKey
	fp     string // master fingerprint, hex
	origin string // "48h/1h/0h/2h"
}

func btcdCosigners(t *testing.T, net *Network, st ScriptType, n int, seedBase byte) []btcdCosigner {
	t.Helper()
	params := chainParams[net]
	coin := uint32(0)
	if net != Mainnet {
		coin = 1
	}
	var path []uint32
	var origin string
	switch st {
	case P2WSH:
		path, origin = []uint32{48, coin, 0, 2}, fmt.Sprintf("48h/%dh/0h/2h", coin)
	case P2SHP2WSH:
		path, origin = []uint32{48, coin, 0, 1}, fmt.Sprintf("48h/%dh/0h/1h", coin)
	case P2SH:
		path, origin = []uint32{45}, "45h"
	case P2WPKH:
		path, origin = []uint32{84, coin, 0}, fmt.Sprintf("84h/%dh/0h", coin)
	case P2SHP2WPKH:
		path, origin = []uint32{49, coin, 0}, fmt.Sprintf("49h/%dh/0h", coin)
	}
	out := make([]btcdCosigner, n)
	for i := range out {
		seed := bytes.Repeat([]byte{seedBase + byte(i)}, 32)
		seed[0] = byte(st)
		m, err := hdkeychain.NewMaster(seed, params)
		if err != nil {
			t.Fatal(err)
		}
		mpub, err := m.ECPubKey()
		if err != nil {
			t.Fatal(err)
		}
		k := m
		for _, p := range path {
			if k, err = k.Derive(hdkeychain.HardenedKeyStart + p); err != nil {
				t.Fatal(err)
			}
		}
		xpub, err := k.Neuter()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = btcdCosigner{
			xpub:   xpub,
			fp:     fmt.Sprintf("%x", address.Hash160(mpub.SerializeCompressed())[:4]),
			origin: origin,
		}
	}
	return out
}

// btcdAddress derives the address of index on branch (0 or 1) with btcd's
// packages only.
func btcdAddress(t *testing.T, cos []btcdCosigner, m int, st ScriptType, sorted bool, branch, index uint32, params *chaincfg.Params) (string, []byte) {
	t.Helper()
	var pubs [][]byte
	for _, c := range cos {
		k, err := c.xpub.Derive(branch)
		if err == nil {
			k, err = k.Derive(index)
		}
		if err != nil {
			t.Fatal(err)
		}
		pk, err := k.ECPubKey()
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pk.SerializeCompressed())
	}
	if sorted {
		sort.Slice(pubs, func(i, j int) bool { return bytes.Compare(pubs[i], pubs[j]) < 0 })
	}
	var apks []*address.AddressPubKey
	for _, p := range pubs {
		a, err := address.NewAddressPubKey(p, params)
		if err != nil {
			t.Fatal(err)
		}
		apks = append(apks, a)
	}
	script, err := txscript.MultiSigScript(apks, m)
	if err != nil {
		t.Fatal(err)
	}
	var addr address.Address
	switch st {
	case P2WSH:
		h := sha256.Sum256(script)
		addr, err = address.NewAddressWitnessScriptHash(h[:], params)
	case P2SHP2WSH:
		h := sha256.Sum256(script)
		var w address.Address
		if w, err = address.NewAddressWitnessScriptHash(h[:], params); err == nil {
			var redeem []byte
			if redeem, err = txscript.PayToAddrScript(w); err == nil {
				addr, err = address.NewAddressScriptHash(redeem, params)
			}
		}
	case P2SH:
		addr, err = address.NewAddressScriptHash(script, params)
	}
	if err != nil {
		t.Fatal(err)
	}
	return addr.EncodeAddress(), script
}

// TestCrossCheckWallets derives the first three receive and change
// addresses of 2-of-3 and 3-of-5 wallets of each script type on mainnet,
// testnet and regtest, and compares them with btcd's.
func TestCrossCheckWallets(t *testing.T) {
	type wallet struct {
		m, n   int
		sorted bool
	}
	wallets := []wallet{{2, 3, true}, {3, 5, true}, {2, 3, false}}
	count := 0
	for _, net := range []*Network{Mainnet, Testnet, Regtest} {
		for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH} {
			for wi, w := range wallets {
				cos := btcdCosigners(t, net, st, w.n, byte(1+40*wi))
				fn := "multi"
				if w.sorted {
					fn = "sortedmulti"
				}
				var keys []string
				for _, c := range cos {
					keys = append(keys, "["+c.fp+"/"+c.origin+"]"+c.xpub.String()+"/<0;1>/*")
				}
				body := fmt.Sprintf("%s(%d,%s)", fn, w.m, strings.Join(keys, ","))
				switch st {
				case P2WSH:
					body = "wsh(" + body + ")"
				case P2SHP2WSH:
					body = "sh(wsh(" + body + "))"
				case P2SH:
					body = "sh(" + body + ")"
				}
				d, err := ParseDescriptor(body, net)
				if err != nil {
					t.Fatalf("%s: %v", body, err)
				}
				if d.String()[:len(d.String())-9] != body {
					t.Errorf("canonical form differs:\n%s\n%s", d, body)
				}
				for _, r := range d.Keys() {
					if err := r.Validate(); err != nil {
						t.Errorf("%s: %v", r, err)
					}
				}
				if w.sorted {
					// NewMultisig from the parsed records gives the same
					// descriptor.
					d2, err := NewMultisig(net, st, w.m, d.Keys())
					if err != nil || d2.String() != d.String() {
						t.Errorf("NewMultisig: %v\n%s\n%s", err, d2, d)
					}
				}
				for branch := uint32(0); branch < 2; branch++ {
					spks, err := d.DeriveScriptPubKeys(branch == 1, 0, 3)
					if err != nil {
						t.Fatal(err)
					}
					for i := uint32(0); i < 3; i++ {
						want, wantScript := btcdAddress(t, cos, w.m, st, w.sorted, branch, i, chainParams[net])
						dv, err := d.Derive(branch == 1, i)
						if err != nil {
							t.Fatal(err)
						}
						if dv.Address != want || !bytes.Equal(dv.Script, wantScript) {
							t.Errorf("%s %s %d-of-%d %s branch %d index %d: kinko %s, btcd %s",
								net, st, w.m, w.n, fn, branch, i, dv.Address, want)
						}
						if !bytes.Equal(spks[i], dv.ScriptPubKey) {
							t.Errorf("DeriveScriptPubKeys differs at %d/%d", branch, i)
						}
						if s, err := ScriptFromAddress(want, net); err != nil || !bytes.Equal(s, dv.ScriptPubKey) {
							t.Errorf("ScriptFromAddress(%s): %v", want, err)
						}
						count++
					}
				}
			}
		}
	}
	if count != 3*3*3*6 {
		t.Errorf("checked %d addresses", count)
	}
}

// TestCrossCheckSingleKey derives the first receive and change addresses
// of wpkh and sh(wpkh) wallets on mainnet, testnet and regtest, and
// compares them, their output scripts and redeem scripts with those btcd's
// hdkeychain, address and txscript make from the same xpub.
func TestCrossCheckSingleKey(t *testing.T) {
	count := 0
	for _, net := range []*Network{Mainnet, Testnet, Regtest} {
		params := chainParams[net]
		for _, st := range []ScriptType{P2WPKH, P2SHP2WPKH} {
			for seed := byte(1); seed <= 2; seed++ {
				c := btcdCosigners(t, net, st, 1, 60*seed)[0]
				key := "[" + c.fp + "/" + c.origin + "]" + c.xpub.String() + "/<0;1>/*"
				body := "wpkh(" + key + ")"
				if st == P2SHP2WPKH {
					body = "sh(" + body + ")"
				}
				d, err := ParseDescriptor(body, net)
				if err != nil {
					t.Fatalf("%s: %v", body, err)
				}
				if d.String()[:len(d.String())-9] != body {
					t.Errorf("canonical form differs:\n%s\n%s", d, body)
				}
				for branch := uint32(0); branch < 2; branch++ {
					spks, err := d.DeriveScriptPubKeys(branch == 1, 0, 3)
					if err != nil {
						t.Fatal(err)
					}
					for i := uint32(0); i < 3; i++ {
						k, err := c.xpub.Derive(branch)
						if err == nil {
							k, err = k.Derive(i)
						}
						if err != nil {
							t.Fatal(err)
						}
						pk, err := k.ECPubKey()
						if err != nil {
							t.Fatal(err)
						}
						pub := pk.SerializeCompressed()
						w, err := address.NewAddressWitnessPubKeyHash(address.Hash160(pub), params)
						if err != nil {
							t.Fatal(err)
						}
						program, err := txscript.PayToAddrScript(w)
						if err != nil {
							t.Fatal(err)
						}
						var want address.Address = w
						if st == P2SHP2WPKH {
							if want, err = address.NewAddressScriptHash(program, params); err != nil {
								t.Fatal(err)
							}
						}
						wantSPK, err := txscript.PayToAddrScript(want)
						if err != nil {
							t.Fatal(err)
						}
						dv, err := d.Derive(branch == 1, i)
						if err != nil {
							t.Fatal(err)
						}
						if dv.Address != want.EncodeAddress() || !bytes.Equal(dv.ScriptPubKey, wantSPK) || !bytes.Equal(dv.Script, program) {
							t.Errorf("%s %s branch %d index %d: kinko %s, btcd %s", net, st, branch, i, dv.Address, want.EncodeAddress())
						}
						if st == P2SHP2WPKH && !bytes.Equal(dv.RedeemScript, program) {
							t.Errorf("%s redeem script %x, btcd %x", st, dv.RedeemScript, program)
						}
						if len(dv.Keys) != 1 || !bytes.Equal(dv.Keys[0].PubKey, pub) {
							t.Errorf("%s branch %d index %d: key differs", st, branch, i)
						}
						if !bytes.Equal(spks[i], dv.ScriptPubKey) {
							t.Errorf("DeriveScriptPubKeys differs at %d/%d", branch, i)
						}
						if s, err := ScriptFromAddress(want.EncodeAddress(), net); err != nil || !bytes.Equal(s, dv.ScriptPubKey) {
							t.Errorf("ScriptFromAddress(%s): %v", want.EncodeAddress(), err)
						}
						count++
					}
				}
			}
		}
	}
	if count != 3*2*2*6 {
		t.Errorf("checked %d addresses", count)
	}
}

// TestCrossCheckExtendedKeys compares child derivation with hdkeychain on
// public and private keys, including the leading-zero cases of BIP-32
// vectors 3 and 4.
func TestCrossCheckExtendedKeys(t *testing.T) {
	for s := 0; s < 8; s++ {
		seed := bytes.Repeat([]byte{byte(s * 31)}, 16+s*6)
		for _, net := range []*Network{Mainnet, Testnet} {
			ours, err := NewMaster(seed, net)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := hdkeychain.NewMaster(seed, chainParams[net])
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range []uint32{0, 1, 7, Hardened, Hardened + 44, 0x7fffffff} {
				a, err := ours.Child(i)
				if err != nil {
					t.Fatal(err)
				}
				b, err := theirs.Derive(i)
				if err != nil {
					t.Fatal(err)
				}
				if a.String() != b.String() {
					t.Errorf("private child %d: %s != %s", i, a, b)
				}
				if i < Hardened {
					a2, _ := ours.Neuter().Child(i)
					bn, _ := theirs.Neuter()
					b2, _ := bn.Derive(i)
					if a2.String() != b2.String() {
						t.Errorf("public child %d: %s != %s", i, a2, b2)
					}
				}
			}
		}
	}
}
