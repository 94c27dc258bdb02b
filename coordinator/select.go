package coordinator

import (
	"fmt"
	"math"
	"sort"

	"github.com/kinko-project/kinko/internal/psbt"
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
	// Algorithm names what chose the coins: AlgoBnB, AlgoSingle or
	// AlgoLargestFirst.
	Algorithm string
	// Waste is the selection's waste metric (see SelectCoins), in sat.
	Waste int64
	// Why says, for a person, which candidates there were and why this
	// one was chosen.
	Why string
}

// SelectParams describe the transaction being funded.
type SelectParams struct {
	Target      int64   // sum of the payments
	FeeRate     float64 // sat/vB
	BaseWeight  int     // version, locktime, counts, marker, and the payment outputs
	InputWeight int     // one signed wallet input
	ChangeOut   int     // weight of a change output
	Dust        int64   // change below this is given to the fee
	// LongTermFeeRate is the rate, in sat/vB, at which the wallet
	// expects to spend its coins some day; 0 means
	// DefaultLongTermFeeRate. Above it, selections with fewer inputs
	// waste less; below it, more (consolidation).
	LongTermFeeRate float64
}

// DefaultLongTermFeeRate is Bitcoin Core's default -consolidatefeerate,
// its long-term fee-rate estimate for the waste metric.
const DefaultLongTermFeeRate = 10

// FeeFor is the fee, rounded up, of a transaction of weight at rate
// sat/vB.
func FeeFor(weight int, rate float64) int64 {
	vsize := (weight + 3) / 4
	return int64(math.Ceil(float64(vsize) * rate))
}

// largestFirst is kinko's first coin selection, kept as a candidate and
// as the baseline its successor is measured against: the smallest single
// coin that pays target, fee and a change output, else the largest coins
// first until they pay, with change.
func largestFirst(coins []Coin, p SelectParams) (*Selection, error) {
	sorted := sortDesc(coins)
	if sel := singleCoin(sorted, p); sel != nil {
		return sel, nil
	}
	if sel := largestFirstOnly(sorted, p); sel != nil {
		return sel, nil
	}
	return nil, insufficient(coins, p)
}

func insufficient(coins []Coin, p SelectParams) error {
	var total int64
	for _, c := range coins {
		total += c.Value
	}
	return fmt.Errorf("%w: %d sat spendable, %d sat needed before fees", ErrInsufficient, total, p.Target)
}

// sortDesc returns the coins by value, largest first (ties by outpoint).
func sortDesc(coins []Coin) []Coin {
	sorted := make([]Coin, len(coins))
	copy(sorted, coins)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Value != sorted[j].Value {
			return sorted[i].Value > sorted[j].Value
		}
		return sorted[i].OutPoint.String() < sorted[j].OutPoint.String()
	})
	return sorted
}

// singleCoin is the smallest coin of sorted (largest first) that pays
// target, fee and a change output; nil if none does.
func singleCoin(sorted []Coin, p SelectParams) *Selection {
	need1 := p.Target + FeeFor(p.BaseWeight+p.InputWeight+p.ChangeOut, p.FeeRate)
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i].Value < need1 })
	if i == 0 {
		return nil
	}
	sel, err := finish(sorted[i-1:i], p)
	if err != nil {
		return nil
	}
	sel.Algorithm = AlgoSingle
	return sel
}

// largestFirstOnly takes the largest coins of sorted until they pay.
func largestFirstOnly(sorted []Coin, p SelectParams) *Selection {
	var sum int64
	for n := 1; n <= len(sorted); n++ {
		sum += sorted[n-1].Value
		if sum >= p.Target+FeeFor(p.BaseWeight+n*p.InputWeight, p.FeeRate) {
			sel, err := finish(sorted[:n], p)
			if err != nil {
				return nil
			}
			sel.Algorithm = AlgoLargestFirst
			return sel
		}
	}
	return nil
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
