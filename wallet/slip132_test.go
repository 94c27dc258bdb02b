package wallet_test

import (
	"strings"
	"testing"

	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
)

// TestSLIP132: the BIP-84 vector (mnemonic "abandon … about", account
// m/84h/0h/0h) gives its zpub; each form reads back as the same key, and
// carries the prefix SLIP-132 assigns its script type and network.
func TestSLIP132(t *testing.T) {
	seed := bip39.Seed("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "")
	for _, c := range []struct {
		net    *wallet.Network
		st     wallet.ScriptType
		path   string
		prefix string
		want   string
	}{
		{wallet.Mainnet, wallet.P2WPKH, "m/84h/0h/0h", "zpub", "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"},
		{wallet.Mainnet, wallet.P2WSH, "m/48h/0h/0h/2h", "Zpub", ""},
		{wallet.Mainnet, wallet.P2SHP2WSH, "m/48h/0h/0h/1h", "Ypub", ""},
		{wallet.Mainnet, wallet.P2SHP2WPKH, "m/49h/0h/0h", "ypub", ""},
		{wallet.Regtest, wallet.P2WSH, "m/48h/1h/0h/2h", "Vpub", ""},
		{wallet.Testnet, wallet.P2SHP2WSH, "m/48h/1h/0h/1h", "Upub", ""},
		{wallet.Signet, wallet.P2WPKH, "m/84h/1h/0h", "vpub", ""},
		{wallet.Testnet, wallet.P2SHP2WPKH, "m/49h/1h/0h", "upub", ""},
	} {
		master, err := wallet.NewMaster(seed, c.net)
		if err != nil {
			t.Fatal(err)
		}
		p, err := wallet.ParsePath(c.path)
		if err != nil {
			t.Fatal(err)
		}
		k, err := master.Derive(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.SLIP132(c.st); err == nil {
			t.Errorf("%s: a private key was written", c.prefix)
		}
		pub := k.Neuter()
		s, err := pub.SLIP132(c.st)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, c.prefix) || (c.want != "" && s != c.want) {
			t.Errorf("%s %s: %s", c.st, c.net, s)
		}
		back, err := wallet.ParseExtendedKey(s, c.net)
		if err != nil || back.String() != pub.String() {
			t.Errorf("%s does not read back as %s: %v", s, pub, err)
		}
	}
	master, err := wallet.NewMaster(seed, wallet.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := master.Neuter().SLIP132(wallet.P2SH); err == nil || !strings.Contains(err.Error(), "no form for script type sh") {
		t.Errorf("sh: %v", err)
	}
}
