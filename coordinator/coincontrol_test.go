package coordinator_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// A sweep spends exactly the coins named, to one output worth their sum
// less the fee, with no change; it confirms like any spend. Coins that are
// not the wallet's spendable coins are refused by name, and nothing is
// reserved.
func TestSweepSpend(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 30_000_000, 20_000_000, 10_000_000)
	ctx := context.Background()
	coins, err := f.coord.SpendableCoins(ctx, f.name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(coins) != 3 {
		t.Fatalf("%d spendable coins", len(coins))
	}
	pick := []psbt.OutPoint{coins[0].OutPoint, coins[2].OutPoint}
	sum := coins[0].Value + coins[2].Value
	to := outside(t)

	var unknown psbt.OutPoint
	unknown.Hash[0] = 1
	bad := []struct {
		req  coordinator.SpendRequest
		want error
	}{
		{coordinator.SpendRequest{SweepTo: to, Coins: []psbt.OutPoint{unknown}, FeeRate: 2}, coordinator.ErrNoCoin},
		{coordinator.SpendRequest{SweepTo: to, Coins: []psbt.OutPoint{pick[0], pick[0]}, FeeRate: 2}, nil},
		{coordinator.SpendRequest{SweepTo: to, FeeRate: 2}, nil},
		{coordinator.SpendRequest{SweepTo: to, Coins: pick, FeeRate: 2, Payments: []coordinator.Payment{{Address: to, Amount: 10_000}}}, nil},
		{coordinator.SpendRequest{SweepTo: "bc1qnotanaddress", Coins: pick, FeeRate: 2}, nil},
	}
	for _, b := range bad {
		if _, err := f.coord.Spend(ctx, f.name, b.req); err == nil || (b.want != nil && !errors.Is(err, b.want)) {
			t.Errorf("%+v: %v, want %v", b.req, err, b.want)
		}
	}
	if r := f.balance().Reserved; r != 0 {
		t.Fatalf("refused sweeps reserved %d sat", r)
	}

	s, err := f.coord.Spend(ctx, f.name, coordinator.SpendRequest{SweepTo: to, Coins: pick, FeeRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, s.PSBT)
	if len(p.UnsignedTx.Inputs) != 2 || len(p.UnsignedTx.Outputs) != 1 {
		t.Fatalf("%d inputs, %d outputs", len(p.UnsignedTx.Inputs), len(p.UnsignedTx.Outputs))
	}
	for i, in := range p.UnsignedTx.Inputs {
		if in.PrevOut != pick[0] && in.PrevOut != pick[1] {
			t.Errorf("input %d spends %s, not a named coin", i, in.PrevOut)
		}
	}
	if got := p.UnsignedTx.Outputs[0].Value; got != sum-s.Fee || s.Fee <= 0 {
		t.Errorf("output %d, fee %d, coins %d", got, s.Fee, sum)
	}
	if r := f.balance().Reserved; r != sum {
		t.Errorf("reserved %d, want %d", r, sum)
	}
	f.importOK(s.ID, f.sign(s, 0))
	f.importOK(s.ID, f.sign(s, 1))
	f.finishAndConfirm(s, 60_000_000, sum-s.Fee)
	if b := f.balance(); b.Coins != 1 || b.Confirmed != coins[1].Value {
		t.Errorf("left %+v, want the one coin not named", b)
	}
}
