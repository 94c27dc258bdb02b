package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
)

// TestBIP350Addresses runs the segwit address vectors of BIP-350.
func TestBIP350Addresses(t *testing.T) {
	b, err := os.ReadFile("testdata/bip350.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Valid   []struct{ Address, Script string }
		Invalid []struct{ Address, Reason string }
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Valid {
		net := Mainnet
		if strings.HasPrefix(strings.ToLower(v.Address), "tb1") {
			net = Testnet
		}
		want, _ := hex.DecodeString(v.Script)
		s, err := ScriptFromAddress(v.Address, net)
		if err != nil || !bytes.Equal(s, want) {
			t.Errorf("%s: script %x, %v", v.Address, s, err)
			continue
		}
		a, err := AddressFromScript(want, net)
		if err != nil || a != strings.ToLower(v.Address) {
			t.Errorf("%x: address %s, %v", want, a, err)
		}
	}
	for _, v := range f.Invalid {
		for _, net := range []*Network{Mainnet, Testnet} {
			_, err := ScriptFromAddress(v.Address, net)
			if err == nil {
				t.Errorf("%s (%s) accepted on %s", v.Address, v.Reason, net)
			} else if errors.Is(err, ErrNetworkMismatch) {
				t.Errorf("%s (%s) on %s: reported as network mismatch: %v", v.Address, v.Reason, net, err)
			}
		}
	}
}

// TestAddressCrossCheck compares AddressFromScript and ScriptFromAddress
// with btcd's address/v2 and txscript/v2 packages on random hashes, for
// every network.
func TestAddressCrossCheck(t *testing.T) {
	params := map[*Network]*chaincfg.Params{
		Mainnet: &chaincfg.MainNetParams, Testnet: &chaincfg.TestNet3Params,
		Signet: &chaincfg.SigNetParams, Regtest: &chaincfg.RegressionNetParams,
	}
	rng := rand.New(rand.NewSource(1))
	for net, p := range params {
		for i := 0; i < 50; i++ {
			h20 := make([]byte, 20)
			h32 := make([]byte, 32)
			rng.Read(h20)
			rng.Read(h32)
			var addrs []address.Address
			a1, _ := address.NewAddressPubKeyHash(h20, p)
			a2, _ := address.NewAddressScriptHashFromHash(h20, p)
			a3, _ := address.NewAddressWitnessPubKeyHash(h20, p)
			a4, _ := address.NewAddressWitnessScriptHash(h32, p)
			a5, _ := address.NewAddressTaproot(h32, p)
			addrs = append(addrs, a1, a2, a3, a4, a5)
			for _, a := range addrs {
				script, err := txscript.PayToAddrScript(a)
				if err != nil {
					t.Fatal(err)
				}
				got, err := AddressFromScript(script, net)
				if err != nil || got != a.EncodeAddress() {
					t.Fatalf("%s %x: got %s %v, btcd %s", net, script, got, err, a.EncodeAddress())
				}
				s, err := ScriptFromAddress(got, net)
				if err != nil || !bytes.Equal(s, script) {
					t.Fatalf("%s %s: got %x %v, want %x", net, got, s, err, script)
				}
			}
		}
	}
}

func TestAddressNetworks(t *testing.T) {
	h := bytes.Repeat([]byte{7}, 20)
	p2pkh := append(append([]byte{opDup, opHash160, 20}, h...), opEqualVerify, opCheckSig)
	p2wpkh := append([]byte{0, 20}, h...)
	addr := func(s []byte, n *Network) string {
		a, err := AddressFromScript(s, n)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, c := range []struct {
		addr string
		net  *Network
		ok   bool
	}{
		{addr(p2pkh, Mainnet), Mainnet, true},
		{addr(p2pkh, Mainnet), Testnet, false},
		{addr(p2pkh, Testnet), Mainnet, false},
		{addr(p2pkh, Testnet), Regtest, true}, // base58 versions are shared
		{addr(p2pkh, Testnet), Signet, true},
		{addr(p2wpkh, Mainnet), Testnet, false},
		{addr(p2wpkh, Testnet), Signet, true},
		{addr(p2wpkh, Testnet), Regtest, false}, // regtest uses bcrt
		{addr(p2wpkh, Regtest), Testnet, false},
		{addr(p2wpkh, Regtest), Mainnet, false},
		{addr(p2wpkh, Regtest), Regtest, true},
	} {
		_, err := ScriptFromAddress(c.addr, c.net)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s on %s: %v", c.addr, c.net, err)
		case !c.ok && !errors.Is(err, ErrNetworkMismatch):
			t.Errorf("%s on %s: got %v, want network mismatch", c.addr, c.net, err)
		}
	}
	if !strings.HasPrefix(addr(p2wpkh, Regtest), "bcrt1q") {
		t.Error("regtest address prefix")
	}
}

func TestAddressErrors(t *testing.T) {
	key, _ := hex.DecodeString("0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600")
	for _, s := range [][]byte{
		nil,
		{0x6a, 0x04, 1, 2, 3, 4},                 // OP_RETURN
		append(append([]byte{33}, key...), 0xac), // P2PK
		multisigScript(1, [][]byte{key}),         // bare multisig
		append([]byte{0, 25}, make([]byte, 25)...),
		append([]byte{0x51, 1}, 0),
		append([]byte{0x4f, 20}, make([]byte, 20)...), // OP_1NEGATE
	} {
		if _, err := AddressFromScript(s, Mainnet); !errors.Is(err, ErrUnsupportedScript) {
			t.Errorf("%x: %v", s, err)
		}
	}
	good, _ := AddressFromScript(append([]byte{opHash160, 20}, append(make([]byte, 20), opEqual)...), Mainnet)
	c := byte('2')
	if good[10] == '2' {
		c = '3'
	}
	bad := good[:10] + string(c) + good[11:]
	if _, err := ScriptFromAddress(bad, Mainnet); !errors.Is(err, ErrChecksum) {
		t.Errorf("%s: %v", bad, err)
	}
	for _, s := range []string{"", "1", "bc1", "hello", "0OIl", strings.Repeat("1", 100)} {
		if _, err := ScriptFromAddress(s, Mainnet); !errors.Is(err, ErrInvalidAddress) && !errors.Is(err, ErrChecksum) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ScriptFromAddress("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T5", Mainnet); !errors.Is(err, ErrChecksum) {
		t.Errorf("bech32 checksum: %v", err)
	}
}
