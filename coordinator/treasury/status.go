package treasury

import (
	"context"
	"fmt"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
)

// nowFunc is the clock, replaced in tests.
var nowFunc = time.Now

// Band states of the hot wallet.
const (
	WithinBand   = "within band"
	AboveCeiling = "above ceiling"
	BelowFloor   = "below floor"
	Inverted     = "floor above ceiling"
)

// Tier is one wallet's place in the treasury and its money.
type Tier struct {
	Role        string  `json:"role"` // cold, hot or deposit
	Wallet      string  `json:"wallet"`
	Confirmed   int64   `json:"confirmed_sat"`
	Unconfirmed int64   `json:"unconfirmed_sat"`
	Reserved    int64   `json:"reserved_sat"` // held by open sessions
	Coins       int     `json:"coins"`
	Share       float64 `json:"share"` // of the whole treasury, 0..1
}

// Total is the tier's confirmed and unconfirmed balance.
func (t Tier) Total() int64 { return t.Confirmed + t.Unconfirmed }

// Pending is a session not yet broadcast, with what it moves between the
// treasury's wallets.
type Pending struct {
	Session string `json:"session"`
	Wallet  string `json:"wallet"`
	State   string `json:"state"`
	// To maps each treasury wallet the session pays to the amount.
	To map[string]int64 `json:"to,omitempty"`
	// External is what it pays outside the treasury.
	External int64 `json:"external_sat"`
}

// Move is what a rebalance would do now.
type Move struct {
	Direction string `json:"direction"` // "top-up", "sweep" or "none"
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Amount    int64  `json:"amount_sat"`
}

// Status is the treasury as the store knows it.
type Status struct {
	Tiers       []Tier    `json:"tiers"`
	Total       int64     `json:"total_sat"`
	Hot         int64     `json:"hot_sat"` // confirmed + unconfirmed
	Ceiling     int64     `json:"ceiling_sat"`
	CeilingRule string    `json:"ceiling_rule"` // as written, e.g. "3d"
	CeilingHow  string    `json:"ceiling_how"`  // how it resolved
	Floor       int64     `json:"floor_sat"`
	Headroom    int64     `json:"headroom_sat"` // ceiling − hot; negative above the ceiling
	State       string    `json:"state"`
	ColdShare   float64   `json:"cold_share"`
	Pending     []Pending `json:"pending_sessions"`
	// Projected is the hot wallet's balance once the pending sessions
	// are done.
	Projected int64     `json:"projected_hot_sat"`
	Rebalance Move      `json:"rebalance"`
	Height    int64     `json:"synced_height"`
	Time      time.Time `json:"time"`
}

// InBand reports whether the hot wallet is within its band.
func (s *Status) InBand() bool { return s.State == WithinBand }

// Status works out the treasury's state from the store (sync first for a
// current view).
func (t *Treasury) Status(ctx context.Context) (*Status, error) {
	st := &Status{Time: nowFunc().UTC(), Floor: t.cfg.Floor, CeilingRule: t.cfg.Ceiling.String()}
	balances := map[string]*coordinator.Balance{}
	for k, name := range t.cfg.Wallets() {
		b, err := t.c.Balance(ctx, name)
		if err != nil {
			return nil, err
		}
		balances[name] = b
		role := "deposit"
		switch k {
		case 0:
			role = "cold"
		case 1:
			role = "hot"
		}
		st.Tiers = append(st.Tiers, Tier{Role: role, Wallet: name, Confirmed: b.Confirmed, Unconfirmed: b.Unconfirmed, Reserved: b.Reserved, Coins: b.Coins})
		st.Total += b.Confirmed + b.Unconfirmed
		w, err := t.c.Wallet(ctx, name)
		if err != nil {
			return nil, err
		}
		if k == 0 || w.Scanned < st.Height {
			st.Height = w.Scanned
		}
	}
	for i := range st.Tiers {
		st.Tiers[i].Share = share(st.Tiers[i].Total(), st.Total)
	}
	st.ColdShare = st.Tiers[0].Share
	st.Hot = st.Tiers[1].Total()
	var err error
	if st.Ceiling, st.CeilingHow, err = t.ceiling(ctx, balances); err != nil {
		return nil, err
	}
	st.Headroom = st.Ceiling - st.Hot
	st.State = bandState(st.Hot, st.Floor, st.Ceiling)
	if st.Pending, err = t.pending(ctx); err != nil {
		return nil, err
	}
	st.Projected = st.Hot
	for _, p := range st.Pending {
		if p.Wallet == t.cfg.Hot {
			for name, v := range p.To {
				if name != t.cfg.Hot {
					st.Projected -= v
				}
			}
			st.Projected -= p.External
		} else {
			st.Projected += p.To[t.cfg.Hot]
		}
	}
	st.Rebalance = t.move(st.Projected, st.Floor, st.Ceiling)
	return st, nil
}

func bandState(hot, floor, ceiling int64) string {
	switch {
	case floor > ceiling:
		return Inverted
	case hot > ceiling:
		return AboveCeiling
	case hot < floor:
		return BelowFloor
	}
	return WithinBand
}

// move is the transfer that brings projected back to the middle of the
// band, or none when it is within.
func (t *Treasury) move(projected, floor, ceiling int64) Move {
	if floor > ceiling {
		return Move{Direction: "none"}
	}
	mid := floor + (ceiling-floor)/2
	switch {
	case projected < floor:
		return Move{Direction: "top-up", From: t.cfg.Cold, To: t.cfg.Hot, Amount: mid - projected}
	case projected > ceiling:
		return Move{Direction: "sweep", From: t.cfg.Hot, To: t.cfg.Cold, Amount: projected - mid}
	}
	return Move{Direction: "none"}
}

// pending lists the treasury wallets' sessions not yet broadcast, with
// where their outputs go (change excluded).
func (t *Treasury) pending(ctx context.Context) ([]Pending, error) {
	sessions, err := t.c.PendingSessions(ctx)
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{}
	for _, name := range t.cfg.Wallets() {
		ours[name] = true
	}
	var out []Pending
	for _, s := range sessions {
		if !ours[s.Wallet] {
			continue
		}
		p, err := psbt.Parse(s.PSBT)
		if err != nil {
			return nil, fmt.Errorf("session %s: %w", s.ID, err)
		}
		pd := Pending{Session: s.ID, Wallet: s.Wallet, State: s.State, To: map[string]int64{}}
		for _, o := range p.UnsignedTx.Outputs {
			owner, change, err := t.c.ScriptOwner(ctx, o.PkScript)
			if err != nil {
				return nil, err
			}
			switch {
			case owner == s.Wallet && change:
				// change comes back
			case ours[owner]:
				pd.To[owner] += o.Value
			default:
				pd.External += o.Value
			}
		}
		out = append(out, pd)
	}
	return out, nil
}
