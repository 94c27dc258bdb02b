package coordinator_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// coinOf finds the wallet's coin of the given value.
func coinOf(t *testing.T, f *fixture, value int64) coordinator.CoinInfo {
	t.Helper()
	cs, err := f.coord.Coins(context.Background(), f.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Value == value {
			return c
		}
	}
	t.Fatalf("no coin of %d sat", value)
	return coordinator.CoinInfo{}
}

func inputsOf(t *testing.T, s *coordinator.Session) []psbt.OutPoint {
	t.Helper()
	p, err := psbt.Parse(s.PSBT)
	if err != nil {
		t.Fatal(err)
	}
	var ops []psbt.OutPoint
	for _, in := range p.UnsignedTx.Inputs {
		ops = append(ops, in.PrevOut)
	}
	return ops
}

// Frozen coins are never selected: not by a spend, not when named, not
// by SpendableCoins (what the treasury's rebalance and sweeps use); an
// excluded coin is not used either.
func TestFrozenCoinsNeverSelected(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 5_000_000, 1_000_000, 2_000_000)
	ctx := context.Background()
	big := coinOf(t, f, 5_000_000)
	if big.Confirmations != 1 || big.Session != "" || big.Frozen || big.Change {
		t.Errorf("coin listed as %+v", big)
	}
	n, err := f.coord.Freeze(ctx, []psbt.OutPoint{big.OutPoint}, true)
	if err != nil || n != 1 {
		t.Fatalf("freeze: %d, %v", n, err)
	}
	if n, _ := f.coord.Freeze(ctx, []psbt.OutPoint{big.OutPoint}, true); n != 0 {
		t.Errorf("freezing a frozen coin changed %d", n)
	}
	if !coinOf(t, f, 5_000_000).Frozen {
		t.Error("coin not listed as frozen")
	}
	sp, err := f.coord.SpendableCoins(ctx, f.name, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sp {
		if c.OutPoint == big.OutPoint {
			t.Error("SpendableCoins offers the frozen coin")
		}
	}
	// Largest-first would take the frozen coin first.
	s, _ := f.spend(500_000)
	if slices.Contains(inputsOf(t, s), big.OutPoint) {
		t.Error("a spend used the frozen coin")
	}
	f.coord.Cancel(ctx, s.ID)
	_, err = f.coord.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 4_000_000}}, FeeRate: 2})
	if !errors.Is(err, coordinator.ErrInsufficient) {
		t.Errorf("spend needing the frozen coin: %v", err)
	}
	_, err = f.coord.Spend(ctx, f.name, coordinator.SpendRequest{SweepTo: outside(t), Coins: []psbt.OutPoint{big.OutPoint}, FeeRate: 2})
	if !errors.Is(err, coordinator.ErrNoCoin) {
		t.Errorf("sweep naming the frozen coin: %v", err)
	}
	// Exclude: the 2M coin is not used even where it would be.
	two := coinOf(t, f, 2_000_000)
	s, err = f.coord.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 500_000}}, FeeRate: 2, Exclude: []psbt.OutPoint{two.OutPoint}})
	if err != nil {
		t.Fatal(err)
	}
	if ins := inputsOf(t, s); len(ins) != 1 || ins[0] != coinOf(t, f, 1_000_000).OutPoint {
		t.Errorf("spend excluding %s used %v", two.OutPoint, ins)
	}
	if got := coinOf(t, f, 1_000_000).Session; got != s.ID {
		t.Errorf("reserving session listed as %q, want %s", got, s.ID)
	}
	f.coord.Cancel(ctx, s.ID)
	bogus := psbt.OutPoint{Index: 7}
	if _, err = f.coord.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 500_000}}, FeeRate: 2, Exclude: []psbt.OutPoint{bogus}}); !errors.Is(err, coordinator.ErrNoCoin) {
		t.Errorf("excluding a coin that is not the wallet's: %v", err)
	}
	// An unknown coin refuses the whole freeze.
	if _, err := f.coord.Freeze(ctx, []psbt.OutPoint{two.OutPoint, bogus}, true); !errors.Is(err, coordinator.ErrNoCoin) {
		t.Errorf("freeze with an unknown coin: %v", err)
	}
	if coinOf(t, f, 2_000_000).Frozen {
		t.Error("a refused freeze froze a coin")
	}
	// Unfrozen, it is spent again.
	if n, err := f.coord.Freeze(ctx, []psbt.OutPoint{big.OutPoint}, false); err != nil || n != 1 {
		t.Fatalf("unfreeze: %d, %v", n, err)
	}
	s, err = f.coord.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 4_000_000}}, FeeRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(inputsOf(t, s), big.OutPoint) {
		t.Error("the unfrozen coin was not used")
	}
	ks := kinds(auditEntries(t, f.coord))
	if !slices.Contains(ks, "coins-frozen") || !slices.Contains(ks, "coins-unfrozen") {
		t.Errorf("audit log kinds %v", ks)
	}
}

func TestParseOutPoint(t *testing.T) {
	op, err := coordinator.ParseOutPoint("44c0313e4d52ace8339db8e53007feb4abd809019b7bc24b970aee8987a1a4fa:3")
	if err != nil || op.Index != 3 || op.Hash.String() != "44c0313e4d52ace8339db8e53007feb4abd809019b7bc24b970aee8987a1a4fa" {
		t.Errorf("%v %v", op, err)
	}
	for _, bad := range []string{"", "abc", "44c0313e:1", "44c0313e4d52ace8339db8e53007feb4abd809019b7bc24b970aee8987a1a4fa:-1", "44c0313e4d52ace8339db8e53007feb4abd809019b7bc24b970aee8987a1a4fa:x", "44c0313e4d52ace8339db8e53007feb4abd809019b7bc24b970aee8987a1a4fa:4294967296"} {
		if _, err := coordinator.ParseOutPoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
