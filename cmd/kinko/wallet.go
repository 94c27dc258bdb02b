package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/setup"
)

func (e *env) wallet(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("wallet: want create, import, export, descriptor, address or list")
	}
	switch args[0] {
	case "create":
		return e.walletCreate(args[1:])
	case "import":
		return e.walletImport(args[1:])
	case "export":
		return e.walletExport(args[1:])
	case "descriptor":
		return e.walletDescriptor(args[1:])
	case "address":
		return e.walletAddress(args[1:])
	case "list":
		return e.walletList(args[1:])
	}
	return cli.Usagef("wallet: unknown command %q", args[0])
}

func (e *env) walletCreate(args []string) error {
	fs := e.flags("wallet create")
	threshold := fs.Int("threshold", 0, "signatures needed (M)")
	var keys cli.Strings
	fs.Var(&keys, "key", "a signer's key record [fingerprint/path]xpub, or a file or QR holding its export: key record, Coldcard JSON, BSMS key record, ur:crypto-hdkey or ur:crypto-account (repeat for each signer)")
	netName := fs.String("network", "mainnet", "mainnet, testnet, signet or regtest")
	script := fs.String("script", "wsh", "wsh, sh-wsh, sh or tr (taproot: tr(NUMS,sortedmulti_a(…)), spent by its script path)")
	sorted := fs.Bool("sorted", true, "sortedmulti (sortedmulti_a for tr), keys in BIP-67 order; --sorted=false: multi (multi_a), keys in the order given")
	var birthday int64
	bday := cli.Int64Var(fs, &birthday, "birthday", 0, 0, coordinator.MaxHeight, "first block height to scan (default: the node's tip, or 0 without a node)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("wallet create: want one NAME")
	}
	net, err := wallet.ParseNetwork(*netName)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	st, err := wallet.ParseScriptType(*script)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	if st == wallet.P2WPKH || st == wallet.P2SHP2WPKH {
		return cli.WithHint(cli.ExitUsage, fmt.Errorf("wallet create: --script %s is a single-key type, not a multisig", st),
			"watch a single-key wallet with 'kinko wallet import NAME DESCRIPTOR'")
	}
	if len(keys) == 0 {
		return cli.Usagef("wallet create: give each signer's key record with --key")
	}
	var records []*wallet.KeyRecord
	for k, s := range keys {
		r, err := cli.ReadCosignerKey(s, st, net, e.stdin, e.stderr)
		if err != nil {
			return cli.WithHint(cli.ExitRefused, fmt.Errorf("key %d: %w", k+1, err), "print a key record with 'kinko-signer xpub' on each signer")
		}
		records = append(records, r)
	}
	newMultisig := wallet.NewMultisig
	if !*sorted {
		newMultisig = wallet.NewUnsortedMultisig
	}
	d, err := newMultisig(net, st, *threshold, records)
	if err != nil {
		return cli.WithHint(cli.ExitRefused, err, "")
	}
	return e.addWallet(pos[0], d, bday, false)
}

// walletImport watches a wallet given by its descriptor: any descriptor
// kinko derives, multisig or single key (an exchange's hot wallet).
func (e *env) walletImport(args []string) error {
	fs := e.flags("wallet import")
	netName := fs.String("network", "", "mainnet, testnet, signet or regtest (default: from the keys)")
	var birthday int64
	bday := cli.Int64Var(fs, &birthday, "birthday", 0, 0, coordinator.MaxHeight, "first block height to scan (default: the node's tip, or 0 without a node)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return cli.Usagef("wallet import: want NAME and WALLET (a descriptor, or a file holding a wallet: descriptor pair, Coldcard, Caravan, Specter, BSMS or UR)")
	}
	var net *wallet.Network
	if *netName != "" {
		if net, err = wallet.ParseNetwork(*netName); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	su, err := cli.ReadSetup(pos[1], net, e.stdin, e.stderr)
	if err != nil {
		hint := ""
		switch {
		case errors.Is(err, setup.ErrNoChange):
			hint = "end each key with /<0;1>/*, or give the receive (/0/*) and change (/1/*) descriptors one a line"
		case !strings.ContainsAny(pos[1], "(\n") && errors.Is(err, wallet.ErrInvalidDescriptor) && !isFile(pos[1]):
			hint = fmt.Sprintf("%q is not a descriptor, nor a file holding a wallet", pos[1])
		}
		return cli.WithHint(cli.ExitRefused, fmt.Errorf("wallet import: %w", err), hint)
	}
	d := su.Descriptor
	// tpub keys serve testnet, signet and regtest alike: the network is
	// never guessed, or the coordinator would watch other addresses than
	// the signers derive.
	if net == nil && !su.NetworkKnown && d.Network() != wallet.Mainnet {
		return cli.WithHint(cli.ExitUsage, errors.New("wallet import: the keys are testnet-family (tpub) and the wallet does not say which network"),
			"give --network testnet, signet or regtest")
	}
	if su.Format != setup.Descriptor {
		fmt.Fprintf(e.stderr, "read a %s wallet file\n", su.Format)
	}
	if !bday.IsSet() && su.Birthday >= 0 {
		if err := bday.Set(strconv.FormatInt(su.Birthday, 10)); err != nil {
			return cli.WithHint(cli.ExitRefused, fmt.Errorf("wallet import: the file's birthday: %w", err), "")
		}
	}
	return e.addWallet(pos[0], d, bday, true)
}

// addWallet stores a new wallet, created here or imported, scanned from
// its birthday, and prints what it is and its descriptor.
func (e *env) addWallet(name string, d *wallet.Descriptor, bday *cli.Int64, imported bool) error {
	e.netHint = d.Network().Name
	h, err := e.birthday(bday)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	add, verb := c.CreateWallet, "created"
	if imported {
		add, verb = c.ImportWallet, "imported"
	}
	if err := add(context.Background(), name, d, h); err != nil {
		if errors.Is(err, coordinator.ErrScriptsWatched) {
			return cli.WithHint(cli.ExitRefused, err, "the wallet is already watched under that name; 'kinko wallet list' shows the wallets")
		}
		return err
	}
	first, err := d.Derive(false, 0)
	if err != nil {
		return err
	}
	kind := "single-key"
	if d.IsMultisig() {
		kind = fmt.Sprintf("%d-of-%d", d.Threshold(), len(first.Keys))
	}
	fmt.Fprintf(e.stderr, "%s wallet %q: %s %s on %s, scanning from height %d\n", verb, name, kind, d.ScriptType(), d.Network(), h)
	fmt.Fprintf(e.stderr, "first receive address: %s\n", first.Address)
	fmt.Fprintln(e.stdout, d.String())
	return nil
}

// birthday is the block height a new wallet is scanned from: --birthday
// if given (the flag refuses a negative one), else the node's tip if a
// node is configured, else 0.
func (e *env) birthday(given *cli.Int64) (int64, error) {
	if given.IsSet() {
		return *given.P, nil
	}
	if !e.nodeConfigured() {
		return 0, nil
	}
	node, err := e.node()
	if err != nil {
		return 0, err
	}
	h, err := node.Height()
	if err != nil {
		return 0, cli.WithHint(cli.ExitNode, err, "")
	}
	return h, nil
}

func (e *env) oneWallet(cmd string, args []string) (string, error) {
	fs := e.flags(cmd)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", cli.Usagef("%s: want one wallet NAME", cmd)
	}
	return pos[0], nil
}

func (e *env) walletDescriptor(args []string) error {
	fs := e.flags("wallet descriptor")
	var q cli.QROut
	q.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("wallet descriptor: want one wallet NAME")
	}
	name := pos[0]
	c, err := e.readStore()
	if err != nil {
		return err
	}
	w, err := c.Wallet(context.Background(), name)
	if err != nil {
		return err
	}
	if q.Enabled() {
		m, err := cli.DescriptorMessage(w.Descriptor)
		if err != nil {
			return err
		}
		return q.Send(m, e.stdout, e.stderr)
	}
	fmt.Fprintln(e.stdout, w.Descriptor.String())
	return nil
}

func (e *env) walletAddress(args []string) error {
	name, err := e.oneWallet("wallet address", args)
	if err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	addr, idx, err := c.NextAddress(context.Background(), name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "receive address %d of wallet %q (compare it on a signer: kinko-signer address %s --index %d)\n", idx, name, name, idx)
	fmt.Fprintln(e.stdout, addr)
	return nil
}

func (e *env) walletList(args []string) error {
	fs := e.flags("wallet list")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	c, err := e.readStore()
	if err != nil {
		return err
	}
	names, err := c.Wallets(context.Background())
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

func (e *env) sync(args []string) error {
	fs := e.flags("sync")
	var rescan cli.Strings
	fs.Var(&rescan, "rescan", "scan wallet NAME again from its birthday (repeat for several)")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	c, err := e.store()
	if err != nil {
		return err
	}
	for _, name := range rescan {
		if err := c.Rescan(context.Background(), name); err != nil {
			return err
		}
	}
	node, err := e.node()
	if err != nil {
		return err
	}
	rep, err := c.Sync(context.Background(), node)
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "")
	}
	if rep.Reorged > 0 {
		fmt.Fprintf(e.stderr, "reorg: rolled back %d blocks to height %d\n", rep.Reorged, rep.ForkedAt)
	}
	fmt.Fprintf(e.stdout, "synced %d wallets to height %d: %d blocks scanned, %d coins found, %d unconfirmed (%d mempool transactions read)\n",
		rep.Wallets, rep.Tip, rep.Scanned, rep.Found, rep.Mempool, rep.MempoolRead)
	return nil
}

func (e *env) balance(args []string) error {
	name, err := e.oneWallet("balance", args)
	if err != nil {
		return err
	}
	c, err := e.readStore()
	if err != nil {
		return err
	}
	b, err := c.Balance(context.Background(), name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "confirmed:   %s\nunconfirmed: %s\nreserved:    %s (by open signing sessions)\ncoins:       %d\n",
		wallet.FormatAmount(b.Confirmed), wallet.FormatAmount(b.Unconfirmed), wallet.FormatAmount(b.Reserved), b.Coins)
	if b.RolledBack > 0 {
		fmt.Fprintf(e.stdout, "rolled back: %s (reserved by open sessions, but the node's chain went back past their blocks: see kinko session list)\n",
			wallet.FormatAmount(b.RolledBack))
	}
	return nil
}

func isFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
