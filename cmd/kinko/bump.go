package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
)

// feeCapFlags registers --max-fee and --max-feerate, which raise (or
// lower) the coordinator's fee cap for one run.
type feeCapFlags struct {
	fee  string
	rate float64
}

func (f *feeCapFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.fee, "max-fee", "", fmt.Sprintf("refuse to build a PSBT paying more than AMOUNT in fees (default %s)", wallet.FormatAmount(coordinator.DefaultMaxFee)))
	cli.FloatVar(fs, &f.rate, "max-feerate", 0, 1, 100_000, fmt.Sprintf("refuse to build a PSBT paying more than R sat/vB (default %d)", coordinator.DefaultMaxFeeRate))
}

func (f *feeCapFlags) cap() (coordinator.FeeCap, error) {
	fc := coordinator.FeeCap{Rate: f.rate}
	if f.fee != "" {
		v, err := wallet.ParseAmount(f.fee)
		if err != nil {
			return fc, cli.WithHint(cli.ExitUsage, fmt.Errorf("--max-fee: %w", err), "")
		}
		fc.Fee = v
	}
	return fc, nil
}

// feeCapError gives a fee-cap refusal its exit status and hint.
func feeCapError(err error) error {
	if errors.Is(err, coordinator.ErrFeeCap) {
		return cli.WithHint(cli.ExitRefused, err, "nothing was reserved; if the fee is right, raise the cap for this run with --max-fee AMOUNT or --max-feerate R")
	}
	return err
}

// bump is "kinko session bump|cpfp ID --feerate R".
func (e *env) bump(sub string, args []string) error {
	fs := e.flags("session " + sub)
	var rate float64
	cli.FloatVar(fs, &rate, "feerate", 0, 1, coordinator.MaxFeeRate, "the new fee rate in sat/vB (for cpfp: of parent and child together)")
	out := fs.String("o", "", "where to write the PSBT (- for stdout)")
	b64 := fs.Bool("base64", false, "write the PSBT as base64 instead of binary")
	var capf feeCapFlags
	capf.register(fs)
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("session %s: want one session ID", sub)
	}
	if rate == 0 {
		return cli.Usagef("session %s: give --feerate SAT/VB", sub)
	}
	if *out == "" && !q.Enabled() {
		return cli.Usagef("session %s: give -o FILE.psbt (or -o - for stdout), or --qr", sub)
	}
	fc, err := capf.cap()
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if node, err := e.node(); err == nil {
		if _, err := c.Sync(ctx, node); err != nil {
			return cli.WithHint(cli.ExitNode, err, "")
		}
	}
	var s *coordinator.Session
	if sub == "bump" {
		s, err = c.Bump(ctx, pos[0], rate, fc)
	} else {
		s, err = c.CPFP(ctx, pos[0], rate, fc)
	}
	switch {
	case errors.Is(err, coordinator.ErrBumpTooLow):
		return cli.WithHint(cli.ExitUsage, err, "")
	case errors.Is(err, coordinator.ErrSessionState), errors.Is(err, coordinator.ErrCoinsReserved), errors.Is(err, coordinator.ErrNoCoin):
		return cli.WithHint(cli.ExitRefused, err, "")
	case err != nil:
		return feeCapError(err)
	}
	fmt.Fprintf(e.stderr, "%s\n", s.Selection)
	return e.writeSession(c, s, *out, *b64, &q, 0)
}
