package coordinator

import (
	"fmt"
	"math"

	"github.com/kinko-project/kinko/wallet"
)

// Coin selection after the rules of Bitcoin Core's
// src/wallet/coinselection.cpp (read for its rules; this is kinko's own
// code): a branch-and-bound search for a selection that needs no change,
// then fallbacks that make change, all compared by the waste metric.

// The algorithms a Selection may name.
const (
	AlgoBnB          = "branch-and-bound"
	AlgoSingle       = "single coin"
	AlgoLargestFirst = "largest first"
)

// bnbMaxTries bounds the branch-and-bound search, as Core's TOTAL_TRIES.
const bnbMaxTries = 100_000

// feeAt is the fee, rounded up, for weight at rate. The rounding of parts
// adds up to at least FeeFor of their sum, so a selection whose parts
// are paid for at feeAt pays FeeFor of the whole.
func feeAt(weight int, rate float64) int64 {
	return int64(math.Ceil(float64((weight+3)/4) * rate))
}

// SelectCoins picks coins to pay p.Target plus the fee at p.FeeRate.
//
// Candidates: branch-and-bound (AlgoBnB), which looks for a set of coins
// whose value after their own fees lands between the target and the
// target plus the cost of change (making and later spending a change
// output), so that no change is made and little is overpaid; the
// smallest single coin that pays everything with change (AlgoSingle);
// and the largest coins first, with change (AlgoLargestFirst).
//
// The one with the least waste is chosen:
//
//	waste = inputs × (fee of an input now − at the long-term rate)
//	        + the cost of change, or, without change, the excess given to the fee
//
// so at high fee rates fewer inputs win, at rates below the long-term
// one more inputs do (consolidating while it is cheap), and a changeless
// selection wins when its excess is below the cost of change. On equal
// waste the first candidate in the order above wins.
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
	lt := p.LongTermFeeRate
	if !(lt > 0 && lt <= MaxFeeRate) {
		lt = DefaultLongTermFeeRate
	}
	inputDelta := feeAt(p.InputWeight, p.FeeRate) - feeAt(p.InputWeight, lt)
	costOfChange := feeAt(p.ChangeOut, p.FeeRate) + feeAt(p.InputWeight, lt)
	waste := func(s *Selection) int64 {
		w := int64(len(s.Coins)) * inputDelta
		if s.Change > 0 {
			return w + costOfChange
		}
		return w + s.Fee - FeeFor(s.Weight, p.FeeRate)
	}
	sorted := sortDesc(coins)
	var cands []*Selection
	for _, s := range []*Selection{selectBnB(sorted, p, inputDelta, costOfChange), singleCoin(sorted, p), largestFirstOnly(sorted, p)} {
		if s != nil {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil, insufficient(coins, p)
	}
	best := cands[0]
	for _, s := range cands {
		s.Waste = waste(s)
		if s.Waste < best.Waste {
			best = s
		}
	}
	best.Why = explain(best, cands, p.FeeRate, lt)
	return best, nil
}

func explain(best *Selection, cands []*Selection, rate, lt float64) string {
	shape := func(s *Selection) string {
		if s.Change > 0 {
			return fmt.Sprintf("%d inputs with change", len(s.Coins))
		}
		return fmt.Sprintf("%d inputs, no change", len(s.Coins))
	}
	why := fmt.Sprintf("%s: %s, waste %d sat at %g sat/vB (long-term %g)", best.Algorithm, shape(best), best.Waste, rate, lt)
	for _, s := range cands {
		if s != best {
			why += fmt.Sprintf("; %s would be %s, waste %d sat", s.Algorithm, shape(s), s.Waste)
		}
	}
	if cands[0].Algorithm != AlgoBnB {
		why += "; no changeless selection found"
	}
	return why
}

// selectBnB searches sorted (largest first) for a changeless selection:
// coins whose effective
// values (value less the fee to spend them) add up to at least the
// target plus the fee of the rest of the transaction, and at most that
// plus costOfChange. Of those found within bnbMaxTries steps it returns
// the one of least waste, or nil.
//
// The search is depth-first over coins sorted by effective value,
// including a coin before trying without it; it turns back when the
// selection overshoots the range, when the coins left cannot reach it,
// or (when inputs cost more now than in the long term) when the waste
// already exceeds the best found. A coin equal to one just left out is
// not tried in its place: that selection was already tried.
func selectBnB(sorted []Coin, p SelectParams, inputDelta, costOfChange int64) *Selection {
	inFee := feeAt(p.InputWeight, p.FeeRate)
	type cand struct {
		ev int64
		c  Coin
	}
	pool := make([]cand, 0, len(sorted))
	var avail int64
	for _, c := range sorted { // by value, so by effective value too
		if ev := c.Value - inFee; ev > 0 {
			pool = append(pool, cand{ev, c})
			avail += ev
		}
	}
	target := p.Target + feeAt(p.BaseWeight, p.FeeRate)
	upper := target + costOfChange
	if avail < target {
		return nil
	}
	var (
		taken     []bool // taken[i]: pool[i] is in the selection
		cur       int64  // effective value selected
		curWaste  int64
		best      []bool
		bestWaste int64 = math.MaxInt64
	)
	for try := 0; try < bnbMaxTries; try++ {
		back := false
		switch {
		case cur+avail < target, cur > upper, inputDelta > 0 && curWaste > bestWaste:
			back = true
		case cur >= target:
			if w := curWaste + cur - target; w <= bestWaste {
				best, bestWaste = append(best[:0], taken...), w
			}
			back = true
		}
		if back {
			// Undo the trailing omissions, then omit the last coin taken.
			for len(taken) > 0 && !taken[len(taken)-1] {
				taken = taken[:len(taken)-1]
				avail += pool[len(taken)].ev
			}
			if len(taken) == 0 {
				break
			}
			i := len(taken) - 1
			taken[i] = false
			cur -= pool[i].ev
			curWaste -= inputDelta
			continue
		}
		i := len(taken)
		avail -= pool[i].ev
		if i > 0 && !taken[i-1] && pool[i].ev == pool[i-1].ev {
			taken = append(taken, false)
		} else {
			taken = append(taken, true)
			cur += pool[i].ev
			curWaste += inputDelta
		}
	}
	if best == nil {
		return nil
	}
	sel := &Selection{Algorithm: AlgoBnB}
	var sum int64
	for i, t := range best {
		if t {
			sel.Coins = append(sel.Coins, pool[i].c)
			sum += pool[i].c.Value
		}
	}
	sel.Weight = p.BaseWeight + len(sel.Coins)*p.InputWeight
	sel.Fee = sum - p.Target
	if sel.Fee < FeeFor(sel.Weight, p.FeeRate) {
		return nil // cannot happen: feeAt's parts cover FeeFor of the whole
	}
	return sel
}
