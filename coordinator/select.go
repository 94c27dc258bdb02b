package coordinator

import (
	"fmt"
	"math"
	"sort"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Coin is a spendable output of a wallet.
type Coin struct {
	OutPoint psbt.OutPoint
	Value    int64
	Change   bool
	Index    uint32
	Height   int64
}

// Selection is the outcome of coin selection.
type Selection struct {
	Coins  []Coin
	Change int64 // 0 when no change output is made
	Fee    int64
	Weight int // of the signed transaction, at worst-case signature sizes
}

// SelectParams describe the transaction being funded.
type SelectParams struct {
	Target      int64   // sum of the payments
	FeeRate     float64 // sat/vB
	BaseWeight  int     // version, locktime, counts, marker, and the payment outputs
	InputWeight int     // one signed wallet input
	ChangeOut   int     // weight of a change output
	Dust        int64   // change below this is given to the fee
}

// FeeFor is the fee, rounded up, of a transaction of weight at rate
// sat/vB.
func FeeFor(weight int, rate float64) int64 {
	vsize := (weight + 3) / 4
	return int64(math.Ceil(float64(vsize) * rate))
}

// SelectCoins picks coins to pay p.Target plus the fee at p.FeeRate.
// It prefers one coin that covers everything (the smallest such), then
// falls back to largest-first, which keeps the input count low: a
// treasury pays per input, and fewer inputs link fewer coins.
func SelectCoins(coins []Coin, p SelectParams) (*Selection, error) {
	if p.Target <= 0 {
		return nil, fmt.Errorf("nothing to pay")
	}
	// Written so that NaN fails; the bound keeps every fee far from
	// overflowing (a standard transaction of 400,000 WU at 5,000 sat/vB
	// costs 5 BTC).
	if !(p.FeeRate > 0 && p.FeeRate <= MaxFeeRate) {
		return nil, fmt.Errorf("fee rate %v sat/vB is outside 0..%d", p.FeeRate, MaxFeeRate)
	}
	if p.Target > wallet.MaxMoney {
		return nil, fmt.Errorf("payments add up to more than 21 million BTC")
	}
	sorted := make([]Coin, len(coins))
	copy(sorted, coins)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Value != sorted[j].Value {
			return sorted[i].Value > sorted[j].Value
		}
		return sorted[i].OutPoint.String() < sorted[j].OutPoint.String()
	})
	// One coin: the smallest that pays target, fee and a change output.
	need1 := p.Target + FeeFor(p.BaseWeight+p.InputWeight+p.ChangeOut, p.FeeRate)
	if i := sort.Search(len(sorted), func(i int) bool { return sorted[i].Value < need1 }); i > 0 {
		return finish(sorted[i-1:i], p)
	}
	var sum int64
	for n := 1; n <= len(sorted); n++ {
		sum += sorted[n-1].Value
		w := p.BaseWeight + n*p.InputWeight
		if sum >= p.Target+FeeFor(w, p.FeeRate) {
			return finish(sorted[:n], p)
		}
	}
	var total int64
	for _, c := range coins {
		total += c.Value
	}
	return nil, fmt.Errorf("%w: %d sat spendable, %d sat needed before fees", ErrInsufficient, total, p.Target)
}

func finish(sel []Coin, p SelectParams) (*Selection, error) {
	var sum int64
	for _, c := range sel {
		sum += c.Value
	}
	w := p.BaseWeight + len(sel)*p.InputWeight
	feeNoChange := FeeFor(w, p.FeeRate)
	feeChange := FeeFor(w+p.ChangeOut, p.FeeRate)
	out := &Selection{Coins: append([]Coin(nil), sel...)}
	if change := sum - p.Target - feeChange; change >= p.Dust {
		out.Change, out.Fee, out.Weight = change, feeChange, w+p.ChangeOut
		return out, nil
	}
	if sum-p.Target < feeNoChange {
		return nil, fmt.Errorf("%w: the selected coins do not cover the fee", ErrInsufficient)
	}
	out.Fee, out.Weight = sum-p.Target, w
	return out, nil
}
