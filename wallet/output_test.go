package wallet_test

import (
	"testing"

	"github.com/kinko-project/kinko/wallet"
)

// The dust thresholds Bitcoin Core's policy gives at the default dust
// relay fee (3,000 sat/kvB): src/policy/policy.cpp, and the figures in
// its comments (546 for P2PKH, 294 for P2WPKH).
func TestDustThreshold(t *testing.T) {
	cases := []struct {
		addr string
		typ  string
		dust int64
	}{
		{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "p2pkh", 546},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh", 540},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "p2wpkh", 294},
		{"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "p2wsh", 330},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "p2tr", 330},
	}
	for _, c := range cases {
		spk, err := wallet.ScriptFromAddress(c.addr, wallet.Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		if got := wallet.OutputType(spk); got != c.typ {
			t.Errorf("%s: type %s, want %s", c.addr, got, c.typ)
		}
		if got := wallet.DustThreshold(spk); got != c.dust {
			t.Errorf("%s: dust %d, want %d", c.addr, got, c.dust)
		}
	}
	if got := wallet.OutputType([]byte{0x6a, 0x01, 0x00}); got != "other" {
		t.Errorf("OP_RETURN: %s", got)
	}
}
