package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	payFile := fs.String("pay-file", "", "a file of payments, CSV (address,amount[,label]) or JSON; - for stdin")
	var targetBlocks int64
	cli.Int64Var(fs, &targetBlocks, "target-blocks", 0, 1, 1008, "use the node's fee estimate for confirmation within N blocks (default 6; --feerate wins)")
	var capf feeCapFlags
	capf.register(fs)
	var from, exclude cli.Strings
	fs.Var(&from, "from", "TXID:VOUT: spend only from these coins (repeat, or comma-separated)")
	fs.Var(&exclude, "exclude", "TXID:VOUT: never spend these coins (repeat, or comma-separated)")
	var maxOutputs int64
	cli.Int64Var(fs, &maxOutputs, "max-outputs", 0, 1, 10_000, "split the payments into sessions of at most N payments each")
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
	if len(tos) == 0 && *payFile == "" {
		return cli.Usagef("spend: give at least one --to ADDR:AMOUNT, or --pay-file FILE")
	}
	if len(tos) > 0 && *payFile != "" {
		return cli.Usagef("spend: give --to or --pay-file, not both")
	}
	if *version != 0 && *version != 2 {
		return cli.Usagef("--psbt-version %d: want 0 or 2", *version)
	}
	if *out == "" && !q.Enabled() {
		return cli.Usagef("spend: give -o FILE.psbt (or -o - for stdout), or --qr")
	}
	fc, err := capf.cap()
	if err != nil {
		return err
	}
	var pays []coordinator.Payment
	var only, skip []psbt.OutPoint
	if len(from) > 0 {
		if only, err = outPoints(from); err != nil {
			return err
		}
	}
	if len(exclude) > 0 {
		if skip, err = outPoints(exclude); err != nil {
			return err
		}
	}
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
	if *payFile != "" {
		if pays, err = e.readPayFile(c, pos[0], *payFile); err != nil {
			return err
		}
		if maxOutputs > 0 && int64(len(pays)) > maxOutputs && (*out == "-" || q.Enabled()) {
			return cli.Usagef("spend: %d payments at most %d a session make several PSBTs: give -o FILE.psbt, written as FILE-1.psbt, FILE-2.psbt…", len(pays), maxOutputs)
		}
	}
	node, err := e.node()
	if err != nil {
		return err
	}
	ctx := context.Background()
	// Blocks, then only the coins the spend may pick: not the mempool.
	if _, err := c.SyncBlocks(ctx, node); err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	if _, err := c.CheckCoins(ctx, node, pos[0], 1); err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	rate, err := e.feeRateFor(node, feeRate, int(targetBlocks), *yes)
	if err != nil {
		return err
	}
	height, err := node.Height()
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	req := coordinator.SpendRequest{Payments: pays, FeeRate: rate, LockTime: uint32(height), Coins: only, Exclude: skip, Cap: fc}
	ss, err := c.SpendBatch(ctx, pos[0], req, int(maxOutputs))
	if err != nil {
		if errors.Is(err, wallet.ErrNetworkMismatch) {
			return cli.WithHint(cli.ExitUsage, err, "the address is for another network than the wallet's")
		}
		if errors.Is(err, coordinator.ErrNoCoin) {
			return cli.WithHint(cli.ExitRefused, err, "'kinko coins "+pos[0]+"' lists the wallet's coins; nothing was reserved")
		}
		return feeCapError(err)
	}
	if len(ss) == 1 {
		return e.writeSession(c, ss[0], *out, *b64, &q, uint32(*version))
	}
	ext := filepath.Ext(*out)
	for k, s := range ss {
		name := fmt.Sprintf("%s-%d%s", strings.TrimSuffix(*out, ext), k+1, ext)
		if err := e.writeSession(c, s, name, *b64, &q, uint32(*version)); err != nil {
			for _, rest := range ss[k+1:] {
				c.Cancel(ctx, rest.ID)
			}
			return err
		}
	}
	return nil
}

// readPayFile reads and checks a pay file for wallet name; a file with
// problems is refused (exit 3) listing all of them, before anything is
// reserved.
func (e *env) readPayFile(c *coordinator.Coordinator, name, path string) ([]coordinator.Payment, error) {
	w, err := c.Wallet(context.Background(), name)
	if err != nil {
		return nil, err
	}
	r := e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, cli.WithHint(cli.ExitUsage, err, "")
		}
		defer f.Close()
		r = f
	}
	pays, err := coordinator.ParsePayFile(r, w.Descriptor.Network())
	if errors.Is(err, coordinator.ErrPayFile) {
		return nil, cli.WithHint(cli.ExitRefused, err, "nothing was reserved; fix the lines named and run spend again")
	}
	if err != nil {
		return nil, cli.WithHint(cli.ExitUsage, fmt.Errorf("read %s: %w", path, err), "")
	}
	var total int64
	for _, p := range pays {
		total += p.Amount
	}
	fmt.Fprintf(e.stderr, "pay file: %d payments, %s in all\n", len(pays), wallet.FormatAmount(total))
	return pays, nil
}

// feeRate is the rate the operator gave, or the node's estimate for
// confirmation within 6 blocks once the operator approved it (or said
// --yes).
func (e *env) feeRate(node *chain.Client, given float64, yes bool) (float64, error) {
	return e.feeRateFor(node, given, 0, yes)
}

// feeRateFor is feeRate for confirmation within target blocks (0: 6),
// saying which of the node's RPCs gave the estimate.
func (e *env) feeRateFor(node *chain.Client, given float64, target int, yes bool) (float64, error) {
	if given != 0 {
		if target != 0 {
			fmt.Fprintf(e.stderr, "--feerate %g given: the node's estimate is not asked for\n", given)
		}
		return given, nil
	}
	if target == 0 {
		target = 6
	}
	est, err := node.EstimateFee(target)
	rate := est.Rate
	if errors.Is(err, chain.ErrNoFeeEstimate) {
		return 0, cli.WithHint(cli.ExitUsage, errors.New("the node offers no fee estimate"), "give --feerate SAT/VB")
	}
	if err != nil {
		return 0, cli.WithHint(cli.ExitNode, err, "give --feerate SAT/VB")
	}
	fmt.Fprintf(e.stderr, "the node estimates %s\n", est)
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
		if err := recordPSBTWritten(c, s.ID, "qr", q.Mode+" "+q.Sent(), blob); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "take the PSBT to the signers, then: kinko session import %s SIGNED.psbt...\n", s.ID)
	if out != "-" && q.Mode != "parts" {
		fmt.Fprintln(e.stdout, s.ID)
	}
	return nil
}
