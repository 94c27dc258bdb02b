package coordinator

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/kinko-project/kinko/internal/psbt"
)

func coins(values ...int64) []Coin {
	var cs []Coin
	for i, v := range values {
		var h psbt.Hash
		binary.LittleEndian.PutUint64(h[:], uint64(i+1))
		cs = append(cs, Coin{OutPoint: psbt.OutPoint{Hash: h}, Value: v, Height: 1})
	}
	return cs
}

var params = SelectParams{FeeRate: 2, BaseWeight: 4 * 60, InputWeight: 4*41 + 254, ChangeOut: 4 * 43, Dust: DustLimit}

func TestSelectCoins(t *testing.T) {
	p := params
	p.Target = 50_000
	// The smallest single coin that covers everything is preferred.
	sel, err := SelectCoins(coins(10_000, 60_000, 1_000_000, 55_000), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Coins) != 1 || sel.Coins[0].Value != 55_000 {
		t.Fatalf("picked %+v", sel.Coins)
	}
	if sel.Change+sel.Fee+p.Target != 55_000 {
		t.Errorf("change %d + fee %d + target do not add up", sel.Change, sel.Fee)
	}
	if want := FeeFor(sel.Weight, p.FeeRate); sel.Fee < want {
		t.Errorf("fee %d below the rate's %d", sel.Fee, want)
	}
	// Several coins, largest first.
	p.Target = 100_000
	sel, err = SelectCoins(coins(30_000, 40_000, 50_000, 20_000), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Coins) != 3 || sel.Coins[0].Value != 50_000 || sel.Coins[2].Value != 30_000 {
		t.Fatalf("picked %+v", sel.Coins)
	}
	// Change below dust goes to the fee.
	p.Target = 50_000
	one := coins(50_000 + FeeFor(p.BaseWeight+p.InputWeight, p.FeeRate) + 500)
	sel, err = SelectCoins(one, p)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Change != 0 || sel.Fee != one[0].Value-p.Target {
		t.Errorf("dust change kept: %+v", sel)
	}
	// Not enough.
	p.Target = 1_000_000
	if _, err := SelectCoins(coins(10_000, 20_000), p); !errors.Is(err, ErrInsufficient) {
		t.Errorf("err = %v, want ErrInsufficient", err)
	}
	p.Target = 0
	if _, err := SelectCoins(coins(10_000), p); err == nil {
		t.Error("nothing to pay was accepted")
	}
}

// A fee rate that is not a finite number in range is refused, never turned
// into a fee: NaN once made the whole change a fee, or a change of 92
// billion BTC through an overflow.
func TestSelectCoinsRefusesBadRates(t *testing.T) {
	for _, rate := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1, 0, MaxFeeRate + 1} {
		p := params
		p.Target, p.FeeRate = 50_000, rate
		if sel, err := SelectCoins(coins(60_000, 1_000_000), p); err == nil {
			t.Errorf("rate %v: selected %+v", rate, sel)
		}
	}
}
