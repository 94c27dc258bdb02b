package treasury

import (
	"fmt"
	"io"
	"strings"
)

// WritePrometheus writes the status in Prometheus's text exposition format
// (version 0.0.4), what exchanges' monitoring scrapes, for example through
// node_exporter's textfile collector from a cron job. The format is a few
// lines of text; it is written here rather than through client_golang,
// whose registry, HTTP handler and protobuf dependencies a command that
// runs once and exits does not need.
func (s *Status) WritePrometheus(w io.Writer) error {
	var b strings.Builder
	metric := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	metric("kinko_treasury_balance_sats", "Balance of each tier's wallet in satoshis, confirmed or unconfirmed.")
	for _, t := range s.Tiers {
		fmt.Fprintf(&b, "kinko_treasury_balance_sats{tier=%s,wallet=%s,state=\"confirmed\"} %d\n", label(t.Role), label(t.Wallet), t.Confirmed)
		fmt.Fprintf(&b, "kinko_treasury_balance_sats{tier=%s,wallet=%s,state=\"unconfirmed\"} %d\n", label(t.Role), label(t.Wallet), t.Unconfirmed)
	}
	metric("kinko_treasury_reserved_sats", "Part of each wallet's balance held by open signing sessions, in satoshis.")
	for _, t := range s.Tiers {
		fmt.Fprintf(&b, "kinko_treasury_reserved_sats{tier=%s,wallet=%s} %d\n", label(t.Role), label(t.Wallet), t.Reserved)
	}
	metric("kinko_treasury_share_ratio", "Each tier's share of the whole treasury, 0 to 1.")
	for _, t := range s.Tiers {
		fmt.Fprintf(&b, "kinko_treasury_share_ratio{tier=%s,wallet=%s} %g\n", label(t.Role), label(t.Wallet), t.Share)
	}
	for _, m := range []struct {
		name, help string
		v          int64
	}{
		{"kinko_treasury_total_sats", "The whole treasury in satoshis.", s.Total},
		{"kinko_treasury_hot_ceiling_sats", "The hot wallet's ceiling in satoshis, as it resolves now.", s.Ceiling},
		{"kinko_treasury_hot_floor_sats", "The hot wallet's floor in satoshis.", s.Floor},
		{"kinko_treasury_hot_headroom_sats", "Ceiling minus the hot wallet's balance; negative above the ceiling.", s.Headroom},
		{"kinko_treasury_hot_projected_sats", "The hot wallet's balance once pending sessions are done.", s.Projected},
		{"kinko_treasury_in_band", "1 when the hot wallet is within its band, 0 when not.", boolInt(s.InBand())},
		{"kinko_treasury_pending_sessions", "Signing sessions of the treasury's wallets not yet broadcast.", int64(len(s.Pending))},
		{"kinko_treasury_synced_height", "The block height the store is synced to.", s.Height},
	} {
		metric(m.name, m.help)
		fmt.Fprintf(&b, "%s %d\n", m.name, m.v)
	}
	metric("kinko_treasury_rebalance_sats", "What a rebalance would move now, by direction.")
	for _, d := range []string{"top-up", "sweep"} {
		v := int64(0)
		if s.Rebalance.Direction == d {
			v = s.Rebalance.Amount
		}
		fmt.Fprintf(&b, "kinko_treasury_rebalance_sats{direction=%s} %d\n", label(d), v)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// label quotes a label value as the exposition format escapes it.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
