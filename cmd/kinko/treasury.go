package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/treasury"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) treasury(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("treasury: want set, status or rebalance")
	}
	switch args[0] {
	case "set":
		return e.treasurySet(args[1:])
	case "status":
		return e.treasuryStatus(args[1:])
	case "rebalance":
		return e.treasuryRebalance(args[1:])
	}
	return cli.Usagef("treasury: unknown command %q (want set, status or rebalance)", args[0])
}

// treasuryErr gives the treasury's errors their exit codes and hints.
func treasuryErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, treasury.ErrNotConfigured):
		return cli.WithHint(cli.ExitUsage, err, "kinko treasury set --cold NAME --hot NAME --ceiling C [--floor F]")
	case errors.Is(err, coordinator.ErrNoWallet):
		return cli.WithHint(cli.ExitUsage, err, "'kinko wallet list' shows the wallets")
	case errors.Is(err, treasury.ErrSettings):
		return cli.WithHint(cli.ExitUsage, err, "each tier needs a wallet of its own")
	case errors.Is(err, treasury.ErrBand):
		return cli.WithHint(cli.ExitUsage, err, "lower the floor or raise the ceiling")
	case errors.Is(err, wallet.ErrNetworkMismatch):
		return cli.WithHint(cli.ExitUsage, err, "every tier's wallet must be on one network")
	case errors.Is(err, treasury.ErrShortfall):
		return cli.WithHint(cli.ExitBand, err, "fund the cold wallet, or lower the floor; nothing was reserved")
	case errors.Is(err, treasury.ErrNothingToMove):
		return err
	}
	return err
}

func (e *env) treasurySet(args []string) error {
	fs := e.flags("treasury set")
	cold := fs.String("cold", "", "the cold wallet (the multisig vault)")
	hot := fs.String("hot", "", "the hot wallet")
	var deposits cli.Strings
	fs.Var(&deposits, "deposit", "a deposit wallet (repeat for several)")
	ceiling := fs.String("ceiling", "", `the hot wallet's ceiling: an amount ("2.5", "250000000sat"), a share of the treasury ("5%"), or days of withdrawals ("3d")`)
	floor := fs.String("floor", "", "the hot wallet's floor: an amount (default none)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("treasury set: unexpected %q", pos[0])
	}
	if *cold == "" || *hot == "" || *ceiling == "" {
		return cli.Usagef("treasury set: give --cold, --hot and --ceiling")
	}
	lim, err := treasury.ParseLimit(*ceiling)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	cfg := treasury.Config{Cold: *cold, Hot: *hot, Deposits: deposits, Ceiling: lim}
	if *floor != "" {
		if cfg.Floor, err = wallet.ParseAmount(*floor); err != nil {
			return cli.WithHint(cli.ExitUsage, fmt.Errorf("floor: %w", err), "")
		}
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	ctx := context.Background()
	t, err := treasury.Set(ctx, c, cfg)
	if err != nil {
		return treasuryErr(err)
	}
	got := t.Config()
	fmt.Fprintf(e.stderr, "treasury: cold %q, hot %q", got.Cold, got.Hot)
	if len(got.Deposits) > 0 {
		fmt.Fprintf(e.stderr, ", deposits %s", strings.Join(quoteAll(got.Deposits), ", "))
	}
	fmt.Fprintf(e.stderr, "; hot ceiling %s, floor %s\n", got.Ceiling, wallet.FormatAmount(got.Floor))
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// loadTreasury opens the store and the treasury, syncing first when a node
// is configured (or always, when sync is "required").
func (e *env) loadTreasury(requireNode bool) (*coordinator.Coordinator, *treasury.Treasury, error) {
	open := e.store
	if !requireNode && e.rpcHost == "" {
		open = e.readStore // status without a node reads only
	}
	c, err := open()
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	t, err := treasury.Load(ctx, c)
	if err != nil {
		return nil, nil, treasuryErr(err)
	}
	if e.nodeConfigured() || requireNode {
		node, err := e.node()
		if err != nil {
			return nil, nil, err
		}
		if _, err := c.Sync(ctx, node); err != nil {
			return nil, nil, cli.WithHint(cli.ExitNode, err, "")
		}
	}
	return c, t, nil
}

func (e *env) treasuryStatus(args []string) error {
	fs := e.flags("treasury status")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	format := fs.String("format", "text", "text, json or prometheus")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("treasury status: unexpected %q", pos[0])
	}
	if *asJSON {
		*format = "json"
	}
	switch *format {
	case "text", "json", "prometheus":
	default:
		return cli.Usagef("treasury status: --format %q: want text, json or prometheus", *format)
	}
	_, t, err := e.loadTreasury(false)
	if err != nil {
		return err
	}
	st, err := t.Status(context.Background())
	if err != nil {
		return treasuryErr(err)
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(st)
	case "prometheus":
		err = st.WritePrometheus(e.stdout)
	default:
		err = st.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	return bandErr(st)
}

// bandErr is exit 6 when the hot wallet is outside its band.
func bandErr(st *treasury.Status) error {
	if st.InBand() {
		return nil
	}
	hint := "run 'kinko treasury rebalance'"
	switch {
	case st.State == treasury.Inverted:
		hint = "lower the floor or raise the ceiling with 'kinko treasury set'"
	case st.Rebalance.Direction == "none":
		hint = "pending sessions will bring it back once signed and broadcast"
	}
	return cli.WithHint(cli.ExitBand, fmt.Errorf("the hot wallet is %s: %s, band %s..%s",
		st.State, wallet.FormatAmount(st.Hot), wallet.FormatAmount(st.Floor), wallet.FormatAmount(st.Ceiling)), hint)
}

func (e *env) treasuryRebalance(args []string) error {
	fs := e.flags("treasury rebalance")
	var feeRate float64
	cli.FloatVar(fs, &feeRate, "feerate", 0, 1, coordinator.MaxFeeRate, "fee rate in sat/vB (default: the node's estimate, shown for approval)")
	out := fs.String("o", "", "where to write the PSBT (- for stdout)")
	b64 := fs.Bool("base64", false, "write the PSBT as base64 instead of binary")
	yes := fs.Bool("yes", false, "accept the node's fee estimate without asking")
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("treasury rebalance: unexpected %q", pos[0])
	}
	if *out == "" && !q.Enabled() {
		return cli.Usagef("treasury rebalance: give -o FILE.psbt (or -o - for stdout), or --qr")
	}
	c, t, err := e.loadTreasury(true)
	if err != nil {
		return err
	}
	node, err := e.node()
	if err != nil {
		return err
	}
	rate, err := e.feeRate(node, feeRate, *yes)
	if err != nil {
		return err
	}
	height, err := node.Height()
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	ctx := context.Background()
	p, st, err := t.Rebalance(ctx, rate, uint32(height))
	if errors.Is(err, treasury.ErrNothingToMove) {
		fmt.Fprintf(e.stderr, "%v\n", err)
		return nil
	}
	if err != nil {
		return treasuryErr(err)
	}
	fmt.Fprintf(e.stderr, "the hot wallet is %s (%s); %s of %s from %q to %q, receive address %d: %s\n",
		st.State, wallet.FormatAmount(st.Hot), p.Direction, wallet.FormatAmount(p.Amount), p.From, p.To, p.Index, p.Address)
	return e.writeSession(c, p.Session, *out, *b64, &q, 0)
}

func (e *env) sweep(args []string) error {
	fs := e.flags("sweep")
	to := fs.String("to", "", "the wallet to sweep into (usually the cold wallet)")
	var feeRate float64
	cli.FloatVar(fs, &feeRate, "feerate", 0, 1, coordinator.MaxFeeRate, "fee rate in sat/vB (default: the node's estimate, shown for approval)")
	minValue := fs.String("min-value", "", "leave coins below this amount alone")
	var maxInputs int64
	cli.Int64Var(fs, &maxInputs, "max-inputs", treasury.DefaultMaxInputs, 1, 10000, "inputs per PSBT at most")
	out := fs.String("o", "", "where to write the PSBT; with several, FILE-1.psbt, FILE-2.psbt, …")
	yes := fs.Bool("yes", false, "accept the node's fee estimate without asking")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("sweep: want one wallet NAME")
	}
	if *to == "" {
		return cli.Usagef("sweep: give --to WALLET")
	}
	if *out == "" || *out == "-" {
		return cli.Usagef("sweep: give -o FILE.psbt")
	}
	p := treasury.SweepParams{MaxInputs: int(maxInputs)}
	if *minValue != "" {
		if p.MinValue, err = wallet.ParseAmount(*minValue); err != nil {
			return cli.WithHint(cli.ExitUsage, fmt.Errorf("--min-value: %w", err), "")
		}
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, name := range []string{pos[0], *to} {
		if _, err := c.Wallet(ctx, name); err != nil {
			return treasuryErr(err)
		}
	}
	node, err := e.node()
	if err != nil {
		return err
	}
	// As spend: blocks, then only the coins the sweep may take.
	if _, err := c.SyncBlocks(ctx, node); err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	if _, err := c.CheckCoins(ctx, node, pos[0], 1); err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	if p.FeeRate, err = e.feeRate(node, feeRate, *yes); err != nil {
		return err
	}
	height, err := node.Height()
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	plan, sessions, err := treasury.Sweep(ctx, c, pos[0], *to, p, uint32(height))
	for k, s := range sessions {
		name := *out
		if len(plan.Batches) > 1 {
			name = numbered(*out, k+1)
		}
		if werr := cli.WriteOutput(name, s.PSBT, e.stdout, true, false); werr != nil {
			return werr
		}
		if werr := recordPSBTWritten(c, s.ID, name, psbtEncoding(false), s.PSBT); werr != nil {
			return werr
		}
		fmt.Fprintf(e.stderr, "session %s: %d coins, fee %s, written to %s\n", s.ID, len(plan.Batches[k]), wallet.FormatAmount(s.Fee), name)
		fmt.Fprintln(e.stdout, s.ID)
	}
	if err != nil {
		return treasuryErr(err)
	}
	var coins int
	for _, b := range plan.Batches {
		coins += len(b)
	}
	fmt.Fprintf(e.stderr, "sweep of %q into %q: %d coins worth %s in %d PSBTs, fees %s\n",
		pos[0], *to, coins, wallet.FormatAmount(plan.Value), len(plan.Batches), wallet.FormatAmount(plan.Fees))
	if plan.Skipped > 0 {
		fmt.Fprintf(e.stderr, "skipped %d coins worth %s: each worth less than the fee to spend it at %.1f sat/vB, or below --min-value\n",
			plan.Skipped, wallet.FormatAmount(plan.SkippedValue), p.FeeRate)
	}
	if len(sessions) == 0 {
		fmt.Fprintln(e.stderr, "nothing to sweep")
	}
	return nil
}

// numbered turns spend.psbt into spend-2.psbt.
func numbered(path string, k int) string {
	dot := strings.LastIndexByte(path, '.')
	if dot <= strings.LastIndexByte(path, '/') {
		return fmt.Sprintf("%s-%d", path, k)
	}
	return fmt.Sprintf("%s-%d%s", path[:dot], k, path[dot:])
}
