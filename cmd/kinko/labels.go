package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
)

// labels is "kinko labels export NAME [-o FILE]" and "kinko labels
// import NAME FILE" (BIP-329 JSON Lines).
func (e *env) labels(args []string) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return cli.Usagef("labels: want export or import")
	}
	sub := args[0]
	fs := e.flags("labels " + sub)
	out := fs.String("o", "-", "where to write (- for stdout); an existing file is not overwritten")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch {
	case sub == "export" && len(pos) == 1:
		n, err := exportTo(*out, e.stdout, func(w io.Writer) (int, error) { return c.ExportLabels(ctx, pos[0], w) })
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "exported %d labels of wallet %q (BIP-329)\n", n, pos[0])
		return nil
	case sub == "import" && len(pos) == 2:
		r := e.stdin
		if pos[1] != "-" {
			f, err := os.Open(pos[1])
			if err != nil {
				return cli.WithHint(cli.ExitUsage, err, "")
			}
			defer f.Close()
			r = f
		}
		res, err := c.ImportLabels(ctx, pos[0], r)
		if errors.Is(err, coordinator.ErrLabelsFile) {
			return cli.WithHint(cli.ExitRefused, err, "nothing was imported; fix the lines named and import again")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "imported %d labels; %d coins frozen or unfrozen; %d pubkey/xpub records skipped; %d spendable flags for outputs that are no unspent coin of %q\n",
			res.Labels, res.Frozen, res.Skipped, res.NotCoins, pos[0])
		return nil
	case sub == "export":
		return cli.Usagef("labels export: want one wallet NAME")
	}
	return cli.Usagef("labels import: want a wallet NAME and a FILE (- for stdin)")
}

// history is "kinko history NAME [--since DATE] [--format table|csv|json]".
func (e *env) history(args []string) error {
	fs := e.flags("history")
	sinceFlag := fs.String("since", "", "only transactions from DATE on: 2006-01-02 (UTC) or RFC 3339")
	format := fs.String("format", "table", "table, csv or json")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("history: want one wallet NAME")
	}
	var since time.Time
	if *sinceFlag != "" {
		if since, err = parseDate(*sinceFlag); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return cli.Usagef("history: --format %q: want table, csv or json", *format)
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	h, err := c.History(context.Background(), pos[0], since)
	if err != nil {
		return err
	}
	date := func(x coordinator.HistoryEntry) string {
		if x.Time.IsZero() {
			return "unconfirmed"
		}
		return x.Time.Format(time.RFC3339)
	}
	btc := func(v int64) string { return strings.TrimSuffix(wallet.FormatAmount(v), " BTC") }
	switch *format {
	case "json":
		type row struct {
			Date          string   `json:"date"`
			TxID          string   `json:"txid"`
			Confirmations int64    `json:"confirmations"`
			Sent          int64    `json:"sent_sat"`
			Received      int64    `json:"received_sat"`
			Fee           int64    `json:"fee_sat"`
			Labels        []string `json:"labels"`
			Session       string   `json:"session,omitempty"`
		}
		rows := []row{}
		for _, x := range h {
			rows = append(rows, row{date(x), x.TxID, x.Confirmations, x.Sent, x.Received, x.Fee, append([]string{}, x.Labels...), x.Session})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "csv":
		w := csv.NewWriter(e.stdout)
		w.Write([]string{"date", "txid", "confirmations", "sent", "received", "fee", "labels", "session"})
		for _, x := range h {
			w.Write([]string{date(x), x.TxID, fmt.Sprint(x.Confirmations), btc(x.Sent), btc(x.Received), btc(x.Fee),
				audit.SpreadsheetCell(strings.Join(x.Labels, "; ")), x.Session})
		}
		w.Flush()
		return w.Error()
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tTXID\tCONF\tSENT\tRECEIVED\tFEE\tLABELS\tSESSION")
	for _, x := range h {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", date(x), x.TxID, x.Confirmations, btc(x.Sent), btc(x.Received), btc(x.Fee),
			printable(strings.Join(x.Labels, "; ")), x.Session)
	}
	tw.Flush()
	fmt.Fprintf(e.stderr, "%d transactions\n", len(h))
	return nil
}
