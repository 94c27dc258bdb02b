package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) spend(args []string) error {
	fs := e.flags("spend")
	var tos cli.Strings
	fs.Var(&tos, "to", "ADDR:AMOUNT to pay (repeat for several)")
	var feeRate float64
	cli.FloatVar(fs, &feeRate, "feerate", 0, 1, coordinator.MaxFeeRate, "fee rate in sat/vB (default: the node's estimate, shown for approval)")
	out := fs.String("o", "", "where to write the PSBT (- for stdout)")
	b64 := fs.Bool("base64", false, "write the PSBT as base64 instead of binary")
	yes := fs.Bool("yes", false, "accept the node's fee estimate without asking")
	version := fs.Uint("psbt-version", 0, "write the PSBT as version 0 (BIP-174) or 2 (BIP-370)")
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("spend: want one wallet NAME")
	}
	if len(tos) == 0 {
		return cli.Usagef("spend: give at least one --to ADDR:AMOUNT")
	}
	if *version != 0 && *version != 2 {
		return cli.Usagef("--psbt-version %d: want 0 or 2", *version)
	}
	if *out == "" && !q.Enabled() {
		return cli.Usagef("spend: give -o FILE.psbt (or -o - for stdout), or --qr")
	}
	var pays []coordinator.Payment
	for _, t := range tos {
		i := strings.LastIndexByte(t, ':')
		if i < 0 {
			return cli.Usagef("--to %q: want ADDR:AMOUNT", t)
		}
		amt, err := wallet.ParseAmount(t[i+1:])
		if err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
		pays = append(pays, coordinator.Payment{Address: t[:i], Amount: amt})
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	node, err := e.node()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := c.Sync(ctx, node); err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	rate, err := e.feeRate(node, feeRate, *yes)
	if err != nil {
		return err
	}
	height, err := node.Height()
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	s, err := c.Spend(ctx, pos[0], coordinator.SpendRequest{Payments: pays, FeeRate: rate, LockTime: uint32(height)})
	if err != nil {
		if errors.Is(err, wallet.ErrNetworkMismatch) {
			return cli.WithHint(cli.ExitUsage, err, "the address is for another network than the wallet's")
		}
		return err
	}
	return e.writeSession(c, s, *out, *b64, &q, uint32(*version))
}

// feeRate is the rate the operator gave, or the node's estimate once the
// operator approved it (or said --yes).
func (e *env) feeRate(node *chain.Client, given float64, yes bool) (float64, error) {
	if given != 0 {
		return given, nil
	}
	rate, err := node.FeeRate()
	if errors.Is(err, chain.ErrNoFeeEstimate) {
		return 0, cli.WithHint(cli.ExitUsage, errors.New("the node offers no fee estimate"), "give --feerate SAT/VB")
	}
	if err != nil {
		return 0, cli.WithHint(cli.ExitNode, err, "give --feerate SAT/VB")
	}
	fmt.Fprintf(e.stderr, "the node estimates %.1f sat/vB\n", rate)
	if !yes {
		tty, err := cli.OpenTTY()
		if err != nil {
			return 0, cli.WithHint(cli.ExitUsage, errors.New("the fee rate is an estimate nobody approved"), "give --feerate SAT/VB, or --yes to accept the estimate")
		}
		defer tty.Close()
		if err := tty.Confirm(fmt.Sprintf("Build the PSBT at %.1f sat/vB?", rate)); err != nil {
			return 0, err
		}
	}
	return rate, nil
}

// writeSession reports a new session and writes its PSBT to out and/or
// as QR codes. A PSBT that cannot be written cancels the session, so its
// coins are not left reserved by a session nobody can sign.
func (e *env) writeSession(c *coordinator.Coordinator, s *coordinator.Session, out string, b64 bool, q *cli.QROut, version uint32) error {
	ctx := context.Background()
	blob := s.PSBT
	if version != 0 {
		b, err := psbt.Convert(blob, version)
		if err != nil {
			c.Cancel(ctx, s.ID)
			return err
		}
		blob = b
	}
	fmt.Fprintf(e.stderr, "session %s: unsigned txid %s, fee %s (%.1f sat/vB over at most %d vB)\n",
		s.ID, s.TxID, wallet.FormatAmount(s.Fee), float64(s.Fee)/float64(s.VSize), s.VSize)
	if out != "" {
		data := blob
		if b64 {
			data = cli.Base64Line(data)
		}
		if err := cli.WriteOutput(out, data, e.stdout, !b64, false); err != nil {
			c.Cancel(ctx, s.ID)
			return err
		}
		if err := recordPSBTWritten(c, s.ID, out, psbtEncoding(b64), blob); err != nil {
			return err
		}
	}
	if q.Enabled() {
		if err := q.Send(cli.PSBTMessage(blob), e.stdout, e.stderr); err != nil {
			return err
		}
		if err := recordPSBTWritten(c, s.ID, "qr", q.Mode+" "+q.Format, blob); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "take the PSBT to the signers, then: kinko session import %s SIGNED.psbt...\n", s.ID)
	if out != "-" && q.Mode != "parts" {
		fmt.Fprintln(e.stdout, s.ID)
	}
	return nil
}
