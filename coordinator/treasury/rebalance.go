package treasury

import (
	"context"
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/wallet"
)

// ErrNothingToMove: the hot wallet is (or will be, once the pending
// sessions are done) within its band.
var ErrNothingToMove = errors.New("nothing to move")

// Proposal is a rebalance session opened for the signers.
type Proposal struct {
	Move
	Address string // the receiving wallet's address
	Index   uint32 // its receive index
	Session *coordinator.Session
}

// Rebalance opens the session that brings the hot wallet back to the
// middle of its band, as Status works it out: a top-up from the cold
// wallet to the hot wallet's next receive address, or a sweep of the
// excess from the hot wallet to the cold wallet's next receive address.
// When the cold wallet's spendable coins cannot cover a top-up and its
// fee, it refuses with ErrShortfall and the numbers, and nothing is
// reserved.
func (t *Treasury) Rebalance(ctx context.Context, feeRate float64, lockTime uint32) (*Proposal, *Status, error) {
	st, err := t.Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	if st.State == Inverted {
		return nil, st, fmt.Errorf("%w: the floor %s is above the ceiling %s (%s)", ErrBand,
			wallet.FormatAmount(st.Floor), wallet.FormatAmount(st.Ceiling), st.CeilingHow)
	}
	mv := st.Rebalance
	if mv.Direction == "none" {
		return nil, st, fmt.Errorf("%w: the hot wallet's %s (%s once %d pending sessions are done) is within %s..%s",
			ErrNothingToMove, wallet.FormatAmount(st.Hot), wallet.FormatAmount(st.Projected), len(st.Pending),
			wallet.FormatAmount(st.Floor), wallet.FormatAmount(st.Ceiling))
	}
	if mv.Direction == "top-up" {
		coins, err := t.c.SpendableCoins(ctx, mv.From, 1)
		if err != nil {
			return nil, st, err
		}
		var have int64
		for _, c := range coins {
			have += c.Value
		}
		if have < mv.Amount {
			return nil, st, fmt.Errorf("%w: the top-up is %s and the cold wallet %q has %s spendable (confirmed, not reserved)",
				ErrShortfall, wallet.FormatAmount(mv.Amount), mv.From, wallet.FormatAmount(have))
		}
	}
	// The address is handed out first; if the spend then fails, one
	// receive address stays unused, well within the gap limit.
	addr, idx, err := t.c.NextAddress(ctx, mv.To)
	if err != nil {
		return nil, st, err
	}
	s, err := t.c.Spend(ctx, mv.From, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: addr, Amount: mv.Amount}},
		FeeRate:  feeRate, LockTime: lockTime,
	})
	if errors.Is(err, coordinator.ErrInsufficient) && mv.Direction == "top-up" {
		return nil, st, fmt.Errorf("%w: %w", ErrShortfall, err)
	}
	if err != nil {
		return nil, st, err
	}
	p := &Proposal{Move: mv, Address: addr, Index: idx, Session: s}
	detail := struct {
		Move
		Address string `json:"address"`
		Index   uint32 `json:"index"`
		Hot     int64  `json:"hot_sat"`
		State   string `json:"state"`
		Floor   int64  `json:"floor_sat"`
		Ceiling int64  `json:"ceiling_sat"`
	}{mv, addr, idx, st.Hot, st.State, st.Floor, st.Ceiling}
	if err := t.c.RecordAudit(ctx, audit.RebalanceProposed, s.ID, detail); err != nil {
		return p, st, err
	}
	return p, st, nil
}
