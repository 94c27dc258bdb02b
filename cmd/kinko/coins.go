package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// coins is "kinko coins NAME" and "kinko coins freeze|unfreeze OUTPOINT...".
func (e *env) coins(args []string) error {
	if len(args) > 0 && (args[0] == "freeze" || args[0] == "unfreeze") {
		return e.freeze(args[0], args[1:])
	}
	name, err := e.oneWallet("coins", args)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	coins, err := c.Coins(context.Background(), name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPOINT\tVALUE\tCONF\tADDRESS INDEX\tSTATE\tLABEL")
	var total int64
	for _, k := range coins {
		branch := "receive"
		if k.Change {
			branch = "change"
		}
		var state []string
		if k.Frozen {
			state = append(state, "frozen")
		}
		if k.Session != "" {
			state = append(state, "reserved by "+k.Session)
		}
		if len(state) == 0 {
			state = append(state, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s %d\t%s\t%s\n", k.OutPoint, strings.TrimSuffix(wallet.FormatAmount(k.Value), " BTC"),
			k.Confirmations, branch, k.Index, strings.Join(state, ", "), printable(k.Label))
		total += k.Value
	}
	tw.Flush()
	fmt.Fprintf(e.stderr, "%d coins, %s\n", len(coins), wallet.FormatAmount(total))
	return nil
}

func (e *env) freeze(sub string, args []string) error {
	fs := e.flags("coins " + sub)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("coins %s: want at least one OUTPOINT (TXID:VOUT)", sub)
	}
	ops, err := outPoints(pos)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	n, err := c.Freeze(context.Background(), ops, sub == "freeze")
	if errors.Is(err, coordinator.ErrNoCoin) {
		return cli.WithHint(cli.ExitRefused, err, "nothing was changed; 'kinko coins NAME' lists a wallet's coins")
	}
	if err != nil {
		return err
	}
	if sub == "freeze" {
		fmt.Fprintf(e.stderr, "froze %d of %d coins (any others were frozen already)\n", n, len(ops))
	} else {
		fmt.Fprintf(e.stderr, "unfroze %d of %d coins (any others were not frozen)\n", n, len(ops))
	}
	return nil
}

// outPoints parses TXID:VOUT arguments, each possibly a comma-separated
// list.
func outPoints(args []string) ([]psbt.OutPoint, error) {
	var ops []psbt.OutPoint
	for _, a := range args {
		for _, s := range strings.Split(a, ",") {
			op, err := coordinator.ParseOutPoint(strings.TrimSpace(s))
			if err != nil {
				return nil, cli.WithHint(cli.ExitUsage, err, "")
			}
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// printable quotes s if it holds anything a terminal could act on.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
