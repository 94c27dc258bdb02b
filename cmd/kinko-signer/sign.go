package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) sign(args []string) error {
	fs := e.flags("sign")
	out := fs.String("o", "", "where to write the reply (default: IN with .signed.psbt, or .reply when compact; - for stdout)")
	var q cli.QROut
	q.Register(fs)
	yes := fs.Bool("yes", false, "sign without asking (for scripts); the review is still printed")
	b64 := fs.Bool("base64", false, "write base64 instead of binary")
	reply := fs.String("reply", "", "the reply's form: compact (kinko's own: one QR code for up to 10 inputs) or psbt (for any coordinator); default compact with --qr, psbt otherwise")
	maxFee := fs.String("max-fee", "", "refuse a fee above this (default 0.05 BTC)")
	var maxRate float64
	cli.FloatVar(fs, &maxRate, "max-feerate", 0, 1, signer.MaxFeeRateCap, "refuse a fee rate above this, in sat/vB (default 1000)")
	allowSighash := fs.Bool("allow-sighash", false, "sign inputs asking for a sighash type other than ALL, this run only")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("sign: want one IN.psbt (or - for stdin)")
	}
	opts := signer.Options{MaxFeeRate: maxRate, AllowSighash: *allowSighash}
	if *maxFee != "" {
		if opts.MaxFee, err = wallet.ParseAmount(*maxFee); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	compact, err := compactReply(*reply, &q, *b64)
	if err != nil {
		return err
	}
	dest := *out
	if dest == "" && !q.Enabled() && pos[0] == "-" {
		return cli.Usagef("sign: give -o when reading stdin")
	}
	kind, raw, err := cli.ReadPayload(pos[0], e.stdin, e.stderr)
	if err != nil {
		return cli.WithHint(cli.ExitRefused, fmt.Errorf("refused: %w", err), "nothing was signed")
	}
	if kind != airgap.KindPSBT {
		return cli.WithHint(cli.ExitRefused, fmt.Errorf("refused: %s holds %s, not a PSBT", pos[0], kind), "nothing was signed")
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	data, review, err := ks.SignBytes(raw, opts, func(r *signer.Review) error {
		r.Format(e.stderr)
		return e.confirm(*yes, "Sign this transaction?")
	})
	if errors.Is(err, signer.ErrNoPreviousTx) {
		return cli.WithHint(cli.ExitRefused, err, "nothing was signed; the PSBT leaves out the previous transactions, as Electrum's QR codes do: export it from Electrum's transaction window to a file instead (its Export menu, with \"For hardware device; include xpubs\" ticked) and sign that file")
	}
	if errors.Is(err, signer.ErrRefused) {
		return cli.WithHint(cli.ExitRefused, err, "nothing was signed")
	}
	if errors.Is(err, signer.ErrHistoryBroken) {
		return cli.WithHint(cli.ExitRefused, err, "nothing was signed; 'kinko-signer history' shows the entries")
	}
	if err != nil {
		return err
	}
	// The history must be on disk before the signature leaves: a daily
	// limit is only as good as the record it counts.
	if err := ks.Save(); err != nil {
		return fmt.Errorf("record the signing in the keystore: %w", err)
	}
	if compact {
		if data, compact, err = e.compact(ks, data); err != nil {
			return err
		}
	}
	if dest == "" && !q.Enabled() {
		suffix := ".signed.psbt"
		if compact {
			suffix = ".reply"
		}
		dest = strings.TrimSuffix(pos[0], ".psbt") + suffix
	}
	if q.Enabled() {
		msg, parts := cli.PSBTMessage(data), q.Parts
		if compact {
			msg, parts = cli.SigReplyMessage(data), q.StillParts
		}
		p, err := parts(msg)
		if err != nil {
			return err
		}
		if compact && len(p) > 1 && q.Mode == "terminal" {
			// Would a taller terminal show it as one code? Said first:
			// the animation runs until the operator stops it.
			tall := q
			tall.TermRows = airgap.TerminalRows(airgap.MaxStillQRVersion)
			if one, err := tall.StillParts(msg); err == nil && len(one) == 1 {
				fmt.Fprintf(e.stderr, "the reply takes %d frames here: a terminal of %d rows shows it as one code\n", len(p), tall.TermRows)
			}
		}
		if err := q.SendParts(p, e.stdout, e.stderr); err != nil {
			return err
		}
	}
	if dest != "" {
		if *b64 {
			data = cli.Base64Line(data)
		}
		if err := cli.WriteOutput(dest, data, e.stdout, !*b64, false); err != nil {
			return err
		}
	}
	n := 0
	for _, in := range review.Inputs {
		if in.Sign {
			n++
		}
	}
	fmt.Fprintf(e.stderr, "signed %d of %d inputs\n", n, len(review.Inputs))
	return nil
}

// compactReply decides the reply's form from --reply: compact is kinko's
// own (kinko session import reads it, other coordinators do not), so it
// is the default only where it matters, for QR codes, and not for
// base43, which is Electrum's.
func compactReply(reply string, q *cli.QROut, b64 bool) (bool, error) {
	switch reply {
	case "":
		return q.Enabled() && q.Format != "base43" && !b64, nil
	case "psbt":
		return false, nil
	case "compact":
		if q.Enabled() && q.Format == "base43" {
			return false, cli.Usagef("--reply compact: --qr-format base43 carries a PSBT (Electrum's QR codes)")
		}
		if b64 {
			return false, cli.Usagef("--reply compact: --base64 writes a PSBT; the compact reply is binary")
		}
		return true, nil
	}
	return false, cli.Usagef("--reply %q: want compact or psbt", reply)
}

// compact turns the partial PSBT into the compact reply; one it cannot
// carry (a taproot input signed for several leaves or by its key path)
// stays a PSBT, and stderr says so.
func (e *env) compact(ks *signer.Keystore, partial []byte) ([]byte, bool, error) {
	fp, err := ks.Fingerprint()
	if err != nil {
		return nil, false, err
	}
	data, err := signer.CompactReply(partial, fp)
	if errors.Is(err, signer.ErrNoCompactReply) {
		fmt.Fprintf(e.stderr, "reply: a PSBT (%v)\n", err)
		return partial, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	fmt.Fprintf(e.stderr, "reply: compact, %d bytes, for kinko session import (another coordinator needs --reply psbt)\n", len(data))
	return data, true, nil
}
