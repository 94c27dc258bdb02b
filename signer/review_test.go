package signer_test

import (
	"strings"
	"testing"

	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// A review of 200 outputs stays one line per output and ends with a
// total per address type, change apart, and a grand total.
func TestReviewTotalsByType(t *testing.T) {
	scripts := map[string][]byte{
		"p2pkh":  append(append([]byte{0x76, 0xa9, 20}, make([]byte, 20)...), 0x88, 0xac),
		"p2sh":   append(append([]byte{0xa9, 20}, make([]byte, 20)...), 0x87),
		"p2wpkh": append([]byte{0, 20}, make([]byte, 20)...),
		"p2wsh":  append([]byte{0, 32}, make([]byte, 32)...),
		"p2tr":   append([]byte{0x51, 32}, make([]byte, 32)...),
	}
	types := []string{"p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr"}
	r := &signer.Review{Wallet: "vault", Kind: "2-of-3 wsh", Network: wallet.Regtest}
	for i := 0; i < 200; i++ {
		addr, err := wallet.AddressFromScript(scripts[types[i%5]], wallet.Regtest)
		if err != nil {
			t.Fatal(err)
		}
		r.Outputs = append(r.Outputs, signer.ReviewOutput{Address: addr, Amount: int64(1000 * (i%5 + 1))})
	}
	r.Outputs = append(r.Outputs, signer.ReviewOutput{Address: "bcrt1qchange", Amount: 77, Change: true})
	var b strings.Builder
	r.Format(&b)
	text := b.String()
	if n := strings.Count(text, "external: "); n != 200 {
		t.Errorf("%d external lines", n)
	}
	want := "Outputs by type:\n" +
		"  p2pkh         40  0.00040000 BTC\n" +
		"  p2sh          40  0.00080000 BTC\n" +
		"  p2tr          40  0.00200000 BTC\n" +
		"  p2wpkh        40  0.00120000 BTC\n" +
		"  p2wsh         40  0.00160000 BTC\n" +
		"  change         1  0.00000077 BTC\n" +
		"  all          201  0.00600077 BTC\n" +
		"Sending out: "
	if !strings.Contains(text, want) {
		t.Errorf("review does not end its outputs with\n%s\nit reads\n%s", want, text[strings.Index(text, "  199"):])
	}
}
