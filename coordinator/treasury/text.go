package treasury

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kinko-project/kinko/wallet"
)

// WriteText writes the status for a person: each tier's balances and
// share, the band, the pending sessions and what a rebalance would move.
func (st *Status) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "treasury at height %d (%s)\n", st.Height, st.Time.Format("2006-01-02 15:04 UTC"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tier\twallet\tconfirmed\tunconfirmed\treserved\tshare\t")
	for _, t := range st.Tiers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f%%\t\n", t.Role, t.Wallet, wallet.FormatAmount(t.Confirmed),
			wallet.FormatAmount(t.Unconfirmed), wallet.FormatAmount(t.Reserved), 100*t.Share)
	}
	fmt.Fprintf(tw, "total\t\t%s\t\t\t\t\n", wallet.FormatAmount(st.Total))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "hot wallet:  %s\n", wallet.FormatAmount(st.Hot))
	fmt.Fprintf(w, "ceiling:     %s (%s)\n", wallet.FormatAmount(st.Ceiling), st.CeilingHow)
	fmt.Fprintf(w, "floor:       %s\n", wallet.FormatAmount(st.Floor))
	fmt.Fprintf(w, "headroom:    %s\n", wallet.FormatAmount(st.Headroom))
	fmt.Fprintf(w, "state:       %s\n", strings.ToUpper(st.State))
	fmt.Fprintf(w, "cold share:  %.2f%%\n", 100*st.ColdShare)
	if len(st.Pending) == 0 {
		fmt.Fprintln(w, "open sessions: none")
	}
	for _, p := range st.Pending {
		fmt.Fprintf(w, "open session %s (%s, %s):", p.Session, p.Wallet, p.State)
		for _, name := range slices.Sorted(maps.Keys(p.To)) {
			fmt.Fprintf(w, " %s to %s;", wallet.FormatAmount(p.To[name]), name)
		}
		if p.External > 0 {
			fmt.Fprintf(w, " %s outside the treasury;", wallet.FormatAmount(p.External))
		}
		fmt.Fprintln(w)
	}
	if len(st.Pending) > 0 {
		fmt.Fprintf(w, "hot wallet once they are done: %s\n", wallet.FormatAmount(st.Projected))
	}
	switch st.Rebalance.Direction {
	case "none":
		fmt.Fprintln(w, "rebalance now: nothing to move")
	default:
		fmt.Fprintf(w, "rebalance now: %s of %s from %s to %s\n", st.Rebalance.Direction,
			wallet.FormatAmount(st.Rebalance.Amount), st.Rebalance.From, st.Rebalance.To)
	}
	return nil
}
