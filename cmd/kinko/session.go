package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) session(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("session: want list, show, import, finalize, broadcast, cancel, bump or cpfp")
	}
	sub, rest := args[0], args[1:]
	if sub == "bump" || sub == "cpfp" {
		return e.bump(sub, rest)
	}
	fs := e.flags("session " + sub)
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if sub == "list" {
		ss, err := c.Sessions(ctx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fmt.Fprintf(e.stdout, "%s  %-9s  %s  %s\n", s.ID, s.State, s.Wallet, s.TxID)
		}
		return nil
	}
	if len(pos) < 1 {
		return cli.Usagef("session %s: want a session ID", sub)
	}
	id := pos[0]
	switch sub {
	case "show":
		s, err := c.Session(ctx, id)
		if err != nil {
			return err
		}
		return e.showSession(s)
	case "import":
		if len(pos) < 2 {
			return cli.Usagef("session import: want ID and at least one FILE")
		}
		for _, f := range pos[1:] {
			bin, err := cli.ReadPSBT(f, e.stdin, e.stderr)
			if err != nil {
				return cli.WithHint(cli.ExitRefused, err, "nothing from this file was added")
			}
			res, err := c.Import(ctx, id, bin)
			if errors.Is(err, coordinator.ErrDifferentTx) || errors.Is(err, coordinator.ErrBadSignature) {
				return cli.WithHint(cli.ExitRefused, fmt.Errorf("%s: %w", f, err), "nothing from this file was added")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			note := ""
			if res.Duplicate {
				note = " (imported before)"
			}
			fmt.Fprintf(e.stderr, "%s: %d new signatures%s\n", f, res.Added, note)
		}
		s, err := c.Session(ctx, id)
		if err != nil {
			return err
		}
		return e.showSession(s)
	case "finalize":
		node, err := e.node()
		if err != nil {
			return err
		}
		s, err := c.Finalize(ctx, id, node)
		if errors.Is(err, coordinator.ErrNotAccepted) {
			return cli.WithHint(cli.ExitNode, err, "")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "session %s finalized; the node would accept it\n", id)
		fmt.Fprintf(e.stdout, "%x\n", s.FinalTx)
		return nil
	case "broadcast":
		node, err := e.node()
		if err != nil {
			return err
		}
		txid, err := c.Broadcast(ctx, id, node)
		if err != nil {
			return cli.WithHint(cli.ExitNode, err, "")
		}
		fmt.Fprintln(e.stdout, txid)
		return nil
	case "cancel":
		if err := c.Cancel(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "session %s cancelled; its coins are free again\n", id)
		return nil
	}
	return cli.Usagef("session: unknown command %q", sub)
}

func (e *env) showSession(s *coordinator.Session) error {
	fmt.Fprintf(e.stdout, "session %s (%s) of wallet %q\ntxid %s, fee %s, %d partial PSBTs imported\n",
		s.ID, s.State, s.Wallet, s.TxID, wallet.FormatAmount(s.Fee), s.Parts)
	p, err := psbt.Parse(s.PSBT)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	if s.Replaces != "" {
		fmt.Fprintf(e.stdout, "replaces session %s (fee bump, RBF)\n", s.Replaces)
	}
	if s.Parent != "" {
		fmt.Fprintf(e.stdout, "pays for session %s's transaction (CPFP)\n", s.Parent)
	}
	all, err := c.Sessions(context.Background())
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Replaces == s.ID {
			fmt.Fprintf(e.stdout, "replaced by session %s (%s)\n", o.ID, o.State)
		}
	}
	if s.Selection != "" {
		fmt.Fprintf(e.stdout, "selection: %s\n", s.Selection)
	}
	w, err := c.Wallet(context.Background(), s.Wallet)
	if err != nil {
		return err
	}
	for j, out := range p.UnsignedTx.Outputs {
		addr, err := wallet.AddressFromScript(out.PkScript, w.Descriptor.Network())
		if err != nil {
			addr = fmt.Sprintf("script %x", out.PkScript)
		}
		what := "pays"
		if len(p.Outputs[j].Bip32Derivation) > 0 {
			what = "change"
		}
		fmt.Fprintf(e.stdout, "output %d: %s %s to %s\n", j, what, wallet.FormatAmount(out.Value), addr)
	}
	st, err := s.Status()
	if err != nil {
		return err
	}
	for i, in := range st {
		fmt.Fprintf(e.stdout, "input %d: %d of %d signatures\n", i, in.Have, in.Need)
	}
	if s.BroadcastTxID != "" {
		fmt.Fprintf(e.stdout, "broadcast as %s\n", s.BroadcastTxID)
	}
	return nil
}
