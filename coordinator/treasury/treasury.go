// Package treasury runs an exchange's tiers on top of the coordinator:
// a cold wallet (the multisig vault), a hot wallet whose balance must stay
// within a band (a floor to pay withdrawals, a ceiling on what is kept
// online), and deposit wallets swept to cold.
//
// # The band
//
// The ceiling is an amount ("2.5", "250000000sat"), a share of the whole
// treasury ("5%"), or N days of withdrawals ("3d": N times the hot
// wallet's average daily outflow over the last 7 days, from its own
// history). The floor is an amount. The hot wallet's balance counts its
// confirmed and unconfirmed coins: both are online.
//
// # Moving coins
//
// [Treasury.Rebalance] opens the one session that brings the hot wallet
// back to the middle of its band: a top-up from cold, or a sweep of the
// excess to cold's next receive address. Sessions still open count as if
// done, so a second rebalance does not move the same coins twice.
// [PlanSweep] splits a deposit wallet's coins into PSBTs of bounded size,
// leaving out coins worth less than the fee to spend them.
package treasury

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/wallet"
)

// settingKey is where the configuration is kept in the coordinator's store.
const settingKey = "treasury"

// Errors callers branch on.
var (
	// ErrNotConfigured: no "treasury set" was done yet.
	ErrNotConfigured = errors.New("no treasury is configured")
	// ErrSettings: the settings name a wallet twice, or leave one out.
	ErrSettings = errors.New("invalid treasury settings")
	// ErrBand: the floor is above the ceiling.
	ErrBand = errors.New("inconsistent band")
	// ErrShortfall: the cold wallet cannot cover a top-up.
	ErrShortfall = errors.New("the cold wallet cannot cover the top-up")
)

// LimitKind says how a ceiling is given.
type LimitKind int

// Kinds of ceiling.
const (
	LimitAmount LimitKind = iota // a fixed amount
	LimitShare                   // a share of the whole treasury
	LimitDays                    // days of the hot wallet's withdrawals
)

// OutflowWindow is the history the "days of withdrawals" ceiling averages
// over, in days.
const OutflowWindow = 7

// Limit is a ceiling as the operator wrote it.
type Limit struct {
	Kind LimitKind
	Sats int64 // LimitAmount
	// BasisPoints of the treasury for LimitShare: 5% is 500. Whole basis
	// points keep the arithmetic exact.
	BasisPoints int64
	Days        int64 // LimitDays
}

// ParseLimit reads "2.5", "250000000sat", "5%" or "3d".
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(s, "%"):
		num := strings.TrimSuffix(s, "%")
		whole, frac, _ := strings.Cut(num, ".")
		if whole == "" || len(frac) > 2 || !digits(whole) || !digits(frac) || len(whole) > 3 {
			return Limit{}, fmt.Errorf("ceiling %q: want a share like 5%% or 2.5%% (at most two decimals)", s)
		}
		w, _ := strconv.ParseInt(whole, 10, 64)
		f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
		bp := w*100 + f
		if bp <= 0 || bp > 10000 {
			return Limit{}, fmt.Errorf("ceiling %q: a share must be above 0%% and at most 100%%", s)
		}
		return Limit{Kind: LimitShare, BasisPoints: bp}, nil
	case strings.HasSuffix(s, "d"):
		num := strings.TrimSuffix(s, "d")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || !digits(num) || n < 1 || n > 365 {
			return Limit{}, fmt.Errorf("ceiling %q: want whole days of withdrawals from 1d to 365d", s)
		}
		return Limit{Kind: LimitDays, Days: n}, nil
	}
	sats, err := wallet.ParseAmount(s)
	if err != nil {
		return Limit{}, fmt.Errorf("ceiling: %w (or a share like 5%%, or days of withdrawals like 3d)", err)
	}
	return Limit{Kind: LimitAmount, Sats: sats}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes the limit the way ParseLimit reads it.
func (l Limit) String() string {
	switch l.Kind {
	case LimitShare:
		if l.BasisPoints%100 == 0 {
			return fmt.Sprintf("%d%%", l.BasisPoints/100)
		}
		return strings.TrimRight(fmt.Sprintf("%d.%02d", l.BasisPoints/100, l.BasisPoints%100), "0") + "%"
	case LimitDays:
		return fmt.Sprintf("%dd", l.Days)
	}
	return fmt.Sprintf("%dsat", l.Sats)
}

// MarshalText and UnmarshalText keep a limit in its written form.
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (l *Limit) UnmarshalText(b []byte) error {
	v, err := ParseLimit(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Config is the treasury's tiers and band, kept in the store.
type Config struct {
	Cold     string   `json:"cold"`
	Hot      string   `json:"hot"`
	Deposits []string `json:"deposits,omitempty"`
	Ceiling  Limit    `json:"ceiling"`
	Floor    int64    `json:"floor"` // satoshis; 0 for none
}

// Wallets lists every tier's wallet: cold, hot, then the deposit wallets.
func (c *Config) Wallets() []string {
	return append([]string{c.Cold, c.Hot}, c.Deposits...)
}

// Treasury is the configured tiers over one coordinator.
type Treasury struct {
	c   *coordinator.Coordinator
	cfg Config
}

// Load returns the treasury configured in c's store, or
// ErrNotConfigured.
func Load(ctx context.Context, c *coordinator.Coordinator) (*Treasury, error) {
	raw, err := c.Setting(ctx, settingKey)
	if errors.Is(err, coordinator.ErrNoSetting) {
		return nil, ErrNotConfigured
	}
	if err != nil {
		return nil, err
	}
	t := &Treasury{c: c}
	if err := json.Unmarshal(raw, &t.cfg); err != nil {
		return nil, fmt.Errorf("stored treasury settings: %w", err)
	}
	return t, nil
}

// Config returns the treasury's configuration.
func (t *Treasury) Config() Config { return t.cfg }

// Set checks cfg and stores it, replacing any earlier configuration. The
// wallets must exist, be distinct and share one network; a floor above
// the ceiling (as it resolves today, for a share or days of withdrawals)
// is refused with ErrBand. The change is recorded in the audit log in
// the same store transaction.
func Set(ctx context.Context, c *coordinator.Coordinator, cfg Config) (*Treasury, error) {
	if cfg.Cold == "" || cfg.Hot == "" {
		return nil, fmt.Errorf("%w: a treasury needs a cold and a hot wallet", ErrSettings)
	}
	if cfg.Floor < 0 || cfg.Floor > wallet.MaxMoney {
		return nil, fmt.Errorf("%w: floor %d sat is out of range", ErrSettings, cfg.Floor)
	}
	seen := map[string]string{}
	var net *wallet.Network
	for k, name := range cfg.Wallets() {
		role := "cold"
		switch {
		case k == 1:
			role = "hot"
		case k > 1:
			role = "deposit"
		}
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: wallet %q is both the %s and the %s wallet", ErrSettings, name, other, role)
		}
		seen[name] = role
		w, err := c.Wallet(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s wallet: %w", role, err)
		}
		if net == nil {
			net = w.Descriptor.Network()
		} else if w.Descriptor.Network() != net {
			return nil, fmt.Errorf("%s wallet %q is on %s, the cold wallet on %s: %w", role, name, w.Descriptor.Network(), net, wallet.ErrNetworkMismatch)
		}
	}
	t := &Treasury{c: c, cfg: cfg}
	if cfg.Floor > 0 {
		ceiling, rule, err := t.ceiling(ctx, nil)
		if err != nil {
			return nil, err
		}
		if cfg.Floor > ceiling {
			return nil, fmt.Errorf("%w: the floor %s is above the ceiling %s (%s)", ErrBand,
				wallet.FormatAmount(cfg.Floor), wallet.FormatAmount(ceiling), rule)
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	record := func(tx *sql.Tx) error {
		_, err := audit.Append(ctx, tx, audit.TreasurySet, "", cfg)
		return err
	}
	if err := c.SetSetting(ctx, settingKey, raw, record); err != nil {
		return nil, err
	}
	return t, nil
}

// ceiling resolves the ceiling in satoshis, with how it was worked out.
// balances, when known, saves looking them up again.
func (t *Treasury) ceiling(ctx context.Context, balances map[string]*coordinator.Balance) (int64, string, error) {
	l := t.cfg.Ceiling
	switch l.Kind {
	case LimitAmount:
		return l.Sats, "fixed", nil
	case LimitShare:
		var total int64
		for _, name := range t.cfg.Wallets() {
			b := balances[name]
			if b == nil {
				var err error
				if b, err = t.c.Balance(ctx, name); err != nil {
					return 0, "", err
				}
			}
			total += b.Confirmed + b.Unconfirmed
		}
		// total ≤ 21e14 and bp ≤ 1e4: the product fits in an int64.
		return total * l.BasisPoints / 10000, fmt.Sprintf("%s of %s", l, wallet.FormatAmount(total)), nil
	case LimitDays:
		out, err := t.c.Outflow(ctx, t.cfg.Hot, nowFunc().AddDate(0, 0, -OutflowWindow))
		if err != nil {
			return 0, "", err
		}
		// out ≤ 21e14 and days ≤ 365: the product fits in an int64, and
		// dividing last keeps it exact.
		perDay := out / OutflowWindow
		return out * l.Days / OutflowWindow, fmt.Sprintf("%d × %s a day withdrawn over the last %d days", l.Days, wallet.FormatAmount(perDay), OutflowWindow), nil
	}
	return 0, "", fmt.Errorf("unknown ceiling kind %d", l.Kind)
}

// share is part/whole as a fraction, 0 for an empty whole.
func share(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)/float64(whole)*1e6) / 1e6
}
