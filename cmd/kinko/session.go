package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) session(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("session: want list, show, export, import, finalize, broadcast, cancel, bump or cpfp")
	}
	sub, rest := args[0], args[1:]
	if sub == "bump" || sub == "cpfp" {
		return e.bump(sub, rest)
	}
	if sub == "export" {
		return e.sessionExport(rest)
	}
	fs := e.flags("session " + sub)
	pos, err := cli.Parse(fs, rest)
	if err != nil {
		return err
	}
	open := e.store
	if sub == "list" || sub == "show" {
		open = e.readStore
	}
	c, err := open()
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
			note := ""
			if s.RolledBack > 0 && (s.State == coordinator.StateOpen || s.State == coordinator.StateFinalized) {
				note = "  (coins no longer confirmed: the chain went back)"
			}
			fmt.Fprintf(e.stdout, "%s  %-9s  %s  %s%s\n", s.ID, s.State, s.Wallet, s.TxID, note)
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
		added := 0
		for _, f := range pos[1:] {
			bin, err := readSignedPart(f, e.stdin, e.stderr)
			if err != nil {
				return cli.WithHint(cli.ExitRefused, err, "nothing from this file was added")
			}
			res, err := c.Import(ctx, id, bin)
			if errors.Is(err, coordinator.ErrBadPSBT) || errors.Is(err, coordinator.ErrBadReply) {
				return cli.WithHint(cli.ExitRefused, fmt.Errorf("%s: %w", f, err), "nothing from this file was added; was it copied whole?")
			}
			if errors.Is(err, coordinator.ErrDifferentTx) || errors.Is(err, coordinator.ErrBadSignature) || errors.Is(err, coordinator.ErrNotASignedPart) {
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
			added += res.Added
		}
		if added == 0 {
			return cli.WithHint(cli.ExitRefused, errors.New("session import: the files add no signature to the session"),
				"was it imported before, or signed by a key that already signed?")
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
	c, err := e.readStore()
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
	if s.RolledBack > 0 && (s.State == coordinator.StateOpen || s.State == coordinator.StateFinalized) {
		fmt.Fprintf(e.stdout, "warning: %d of its coins are no longer confirmed: the node's chain went back past their blocks (a reorg, or a node on another chain); the transaction may never be valid; cancel the session, or wait for the coins to confirm again\n", s.RolledBack)
	}
	return nil
}

// sessionExport writes a session's PSBT as it is now, with every
// signature imported so far: a PSBT lost after its session was opened (a
// crash before it was written, a file deleted) is had again this way.
func (e *env) sessionExport(args []string) error {
	fs := e.flags("session export")
	out := fs.String("o", "", "where to write the PSBT (- for stdout)")
	b64 := fs.Bool("base64", false, "write the PSBT as base64 instead of binary")
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("session export: want one session ID")
	}
	if *out == "" && !q.Enabled() {
		return cli.Usagef("session export: give -o FILE.psbt (or -o - for stdout), or --qr")
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	s, err := c.Session(context.Background(), pos[0])
	if err != nil {
		return err
	}
	if *out != "" {
		data := s.PSBT
		if *b64 {
			data = cli.Base64Line(data)
		}
		if err := cli.WriteOutput(*out, data, e.stdout, !*b64, false); err != nil {
			return err
		}
		if err := recordPSBTWritten(c, s.ID, *out, psbtEncoding(*b64), s.PSBT); err != nil {
			return err
		}
	}
	if q.Enabled() {
		if err := q.Send(cli.PSBTMessage(s.PSBT), e.stdout, e.stderr); err != nil {
			return err
		}
		if err := recordPSBTWritten(c, s.ID, "qr", q.Mode+" "+q.Sent(), s.PSBT); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "session %s (%s): PSBT with %d partial PSBTs imported written\n", s.ID, s.State, s.Parts)
	return nil
}

// readSignedPart reads what a cosigner handed back: a PSBT in any form
// cli.ReadPayload knows, or a signed transaction (hex, as Bitcoin Core
// and 'kinko session finalize' print it, or BBQr type T), whose signatures Import takes apart,
// or kinko-signer's compact reply (raw, BBQr type C or ur:kinko-sigreply).
func readSignedPart(path string, stdin io.Reader, progress io.Writer) ([]byte, error) {
	kind, payload, err := cli.ReadPayload(path, stdin, progress)
	if err != nil {
		return nil, err
	}
	switch kind {
	case airgap.KindPSBT, airgap.KindTransaction, airgap.KindSigReply:
		return payload, nil
	case airgap.KindText:
		if b, err := hex.DecodeString(strings.TrimSpace(string(payload))); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s holds %s, neither a PSBT, a signed transaction nor a signer's reply", path, kind)
}
