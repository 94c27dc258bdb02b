package main

import (
	"context"
	"fmt"

	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet/setup"
)

// walletExport writes a wallet for another vendor's software or device:
// a descriptor, the receive and change pair, Coldcard's multisig file,
// Caravan's or Specter's JSON, a BSMS descriptor record, or a
// crypto-output UR; to stdout, a file, or QR codes.
func (e *env) walletExport(args []string) error {
	fs := e.flags("wallet export")
	format := fs.String("format", "descriptor", "descriptor, pair, coldcard, caravan, specter, bsms or ur")
	out := fs.String("o", "-", "write to this file (- for standard output)")
	urForm := fs.String("ur-form", "receive", "crypto-output children: receive (/0/*, read by every wallet) or pair (<0;1>/*)")
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("wallet export: want one wallet NAME")
	}
	f, err := setup.ParseFormat(*format)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	form := setup.URForm(*urForm)
	if form != setup.URReceive && form != setup.URChildPair {
		return cli.Usagef("--ur-form %q: want receive or pair", *urForm)
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	w, err := c.Wallet(context.Background(), pos[0])
	if err != nil {
		return err
	}
	opts := setup.Options{Name: pos[0], Birthday: w.Birthday, URForm: form}
	if q.Enabled() {
		if f == setup.UR && q.Format != "bbqr" {
			typ, body, err := setup.EncodeUR(w.Descriptor, form)
			if err != nil {
				return cli.WithHint(cli.ExitRefused, err, "")
			}
			return q.Send(cli.Message{URType: typ, URBody: body}, e.stdout, e.stderr)
		}
		b, err := setup.Write(w.Descriptor, f, opts)
		if err != nil {
			return cli.WithHint(cli.ExitRefused, err, "")
		}
		return q.Send(cli.TextMessage(b), e.stdout, e.stderr)
	}
	b, err := setup.Write(w.Descriptor, f, opts)
	if err != nil {
		return cli.WithHint(cli.ExitRefused, err, "")
	}
	if err := cli.WriteOutput(*out, b, e.stdout, false, false); err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(e.stderr, "wrote wallet %q as %s to %s\n", pos[0], f, *out)
	}
	return nil
}
