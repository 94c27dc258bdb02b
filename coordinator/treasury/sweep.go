package treasury

import (
	"context"
	"fmt"
	"sort"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// MaxStandardWeight is the largest transaction Bitcoin Core relays
// (MAX_STANDARD_TX_WEIGHT).
const MaxStandardWeight = 400_000

// DefaultMaxInputs bounds a sweep PSBT's inputs unless the operator says
// otherwise: 200 inputs of a 2-of-3 P2WSH wallet make a PSBT of about
// 100 KB, which still crosses the air gap as QR codes in reasonable time.
const DefaultMaxInputs = 200

// SweepParams describe a sweep to plan.
type SweepParams struct {
	FeeRate     float64 // sat/vB
	MinValue    int64   // coins below this are left alone
	MaxInputs   int     // per PSBT; 0 means DefaultMaxInputs
	InputWeight int     // one signed input of the swept wallet
	BaseWeight  int     // the transaction without inputs, with its one output
	Dust        int64   // the smallest output worth making
}

// SweepPlan is a sweep split into PSBTs.
type SweepPlan struct {
	Batches      [][]coordinator.Coin
	Value        int64 // swept, before fees
	Fees         int64 // at the fee rate, at worst-case signature sizes
	Skipped      int   // coins left alone
	SkippedValue int64
}

// PlanSweep splits coins into as few batches as the input and weight
// limits allow, largest coins first. A coin worth no more than the fee
// of its own input at the rate, or below MinValue, is skipped and
// counted. The plan does not touch the store.
func PlanSweep(coins []coordinator.Coin, p SweepParams) (*SweepPlan, error) {
	if !(p.FeeRate >= 1 && p.FeeRate <= coordinator.MaxFeeRate) {
		return nil, fmt.Errorf("fee rate %v sat/vB is outside 1..%d", p.FeeRate, coordinator.MaxFeeRate)
	}
	if p.InputWeight <= 0 || p.BaseWeight <= 0 {
		return nil, fmt.Errorf("sweep: input and base weights must be positive")
	}
	maxIn := p.MaxInputs
	if maxIn == 0 {
		maxIn = DefaultMaxInputs
	}
	if maxIn < 0 {
		return nil, fmt.Errorf("sweep: at most %d inputs is not a number of inputs", maxIn)
	}
	if fit := (MaxStandardWeight - p.BaseWeight) / p.InputWeight; fit < maxIn {
		maxIn = fit
	}
	if maxIn < 1 {
		return nil, fmt.Errorf("sweep: not one input fits a standard transaction")
	}
	inputFee := coordinator.FeeFor(p.InputWeight, p.FeeRate)
	plan := &SweepPlan{}
	keep := make([]coordinator.Coin, 0, len(coins))
	for _, c := range coins {
		if c.Value <= inputFee || c.Value < p.MinValue {
			plan.Skipped++
			plan.SkippedValue += c.Value
			continue
		}
		keep = append(keep, c)
	}
	sort.Slice(keep, func(i, j int) bool {
		if keep[i].Value != keep[j].Value {
			return keep[i].Value > keep[j].Value
		}
		return keep[i].OutPoint.String() < keep[j].OutPoint.String()
	})
	for start := 0; start < len(keep); start += maxIn {
		batch := keep[start:min(start+maxIn, len(keep))]
		var sum int64
		for _, c := range batch {
			sum += c.Value
		}
		f := coordinator.FeeFor(p.BaseWeight+len(batch)*p.InputWeight, p.FeeRate)
		if sum-f < p.Dust {
			// Only the smallest coins end up here: leave them.
			plan.Skipped += len(batch)
			plan.SkippedValue += sum
			continue
		}
		plan.Batches = append(plan.Batches, batch)
		plan.Value += sum
		plan.Fees += f
	}
	return plan, nil
}

// Sweep plans the sweep of wallet from's spendable coins into wallet to
// and opens one session per batch, each paying a new receive address of
// to. It returns the plan and the sessions opened; if one fails, those
// opened before it stay open (cancel them with their ids) and the error
// says how far it got.
func Sweep(ctx context.Context, c *coordinator.Coordinator, from, to string, p SweepParams, lockTime uint32) (*SweepPlan, []*coordinator.Session, error) {
	src, err := c.Wallet(ctx, from)
	if err != nil {
		return nil, nil, err
	}
	dst, err := c.Wallet(ctx, to)
	if err != nil {
		return nil, nil, err
	}
	if src.Name == dst.Name {
		return nil, nil, fmt.Errorf("sweep: wallet %q cannot sweep into itself", from)
	}
	if src.Descriptor.Network() != dst.Descriptor.Network() {
		return nil, nil, fmt.Errorf("sweep: %q is on %s, %q on %s: %w", from, src.Descriptor.Network(), to, dst.Descriptor.Network(), wallet.ErrNetworkMismatch)
	}
	coins, err := c.SpendableCoins(ctx, from, 1)
	if err != nil {
		return nil, nil, err
	}
	first, err := dst.Descriptor.Derive(false, 0)
	if err != nil {
		return nil, nil, err
	}
	tx := &psbt.Tx{Outputs: []*psbt.TxOut{{PkScript: first.ScriptPubKey}}}
	p.InputWeight = src.Descriptor.MaxInputWeight()
	p.BaseWeight = coordinator.BaseWeight(tx, src.Descriptor)
	if p.Dust == 0 {
		p.Dust = coordinator.DustLimit
	}
	plan, err := PlanSweep(coins, p)
	if err != nil {
		return nil, nil, err
	}
	var sessions []*coordinator.Session
	for k, batch := range plan.Batches {
		addr, _, err := c.NextAddress(ctx, to)
		if err != nil {
			return plan, sessions, fmt.Errorf("sweep batch %d of %d: %w", k+1, len(plan.Batches), err)
		}
		ops := make([]psbt.OutPoint, len(batch))
		for i, coin := range batch {
			ops[i] = coin.OutPoint
		}
		s, err := c.Spend(ctx, from, coordinator.SpendRequest{SweepTo: addr, Coins: ops, FeeRate: p.FeeRate, LockTime: lockTime})
		if err != nil {
			return plan, sessions, fmt.Errorf("sweep batch %d of %d: %w", k+1, len(plan.Batches), err)
		}
		sessions = append(sessions, s)
		detail := struct {
			From   string `json:"from"`
			To     string `json:"to"`
			Coins  int    `json:"coins"`
			Fee    int64  `json:"fee_sat"`
			Batch  int    `json:"batch"`
			Of     int    `json:"of"`
			Target string `json:"address"`
		}{from, to, len(batch), s.Fee, k + 1, len(plan.Batches), addr}
		if err := c.RecordAudit(ctx, audit.SweepProposed, s.ID, detail); err != nil {
			return plan, sessions, err
		}
	}
	return plan, sessions, nil
}
