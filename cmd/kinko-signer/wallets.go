package main

import (
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/setup"
)

// readWallet takes a wallet given as a descriptor, or a file or QR codes
// holding one in any form package setup reads (descriptor pair, Coldcard,
// Caravan, Specter, BSMS, crypto-output). The network is never guessed:
// for tpub keys whose file does not say, the operator is asked which of
// testnet, signet and regtest is meant, unless --network says.
func (e *env) readWallet(arg string, net *wallet.Network, yes bool) (*setup.Setup, error) {
	su, err := cli.ReadSetup(arg, net, e.stdin, e.stderr)
	if err == nil && !su.NetworkKnown {
		if net, err = e.askNetwork(yes); err == nil {
			su, err = cli.ReadSetup(arg, net, e.stdin, e.stderr)
		}
	}
	if err != nil {
		var ce *cli.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, cli.WithHint(cli.ExitRefused, fmt.Errorf("wallet: %w", err), "")
	}
	return su, nil
}

// askNetwork asks which test network a wallet of tpub keys is for.
func (e *env) askNetwork(yes bool) (*wallet.Network, error) {
	const hint = "give --network testnet, signet or regtest: tpub keys are the same on all three, their addresses are not"
	if yes {
		return nil, cli.WithHint(cli.ExitUsage, errors.New("the wallet's keys do not tell its network"), hint)
	}
	t, err := e.terminal()
	if err != nil {
		return nil, cli.WithHint(cli.ExitUsage, errors.New("the wallet's keys do not tell its network, and there is no terminal to ask on"), hint)
	}
	answer, err := t.Line("Which network is this wallet for (testnet, signet or regtest)? ")
	if err != nil {
		return nil, cli.WithHint(cli.ExitDeclined, fmt.Errorf("no network given: %w", err), hint)
	}
	net, err := wallet.ParseNetwork(answer)
	if err != nil || net == wallet.Mainnet {
		return nil, cli.WithHint(cli.ExitUsage, fmt.Errorf("network %q: want testnet, signet or regtest", answer), hint)
	}
	return net, nil
}

func (e *env) register(args []string) error {
	fs := e.flags("register")
	name := fs.String("name", "", "a name for the wallet (default: its descriptor checksum)")
	netName := fs.String("network", "", "the wallet's network when its keys do not tell (regtest, signet)")
	yes := fs.Bool("yes", false, "register without asking")
	maxPerTx := fs.String("max-per-tx", "", "policy: most one transaction may send out (BTC, or NNNsat)")
	daily := fs.String("daily-limit", "", "policy: most that may be sent out per 24 hours")
	var allow, allowWallets cli.Strings
	fs.Var(&allow, "allow", "policy: an address that may be paid (repeat; none given means any)")
	fs.Var(&allowWallets, "allow-wallet", "policy: a registered destination that may be paid, each output re-derived (repeat)")
	dest := fs.Bool("destination", false, "register a wallet this signer may pay (a hot wallet), never sign for")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("register: want one WALLET (a descriptor, or a file holding a wallet: descriptor pair, Coldcard, Caravan, Specter, BSMS or UR)")
	}
	var net *wallet.Network
	if *netName != "" {
		if net, err = wallet.ParseNetwork(*netName); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	su, err := e.readWallet(pos[0], net, *yes)
	if err != nil {
		return err
	}
	d := su.Descriptor
	hasPolicy := *maxPerTx != "" || *daily != "" || len(allow) > 0 || len(allowWallets) > 0
	if *dest && hasPolicy {
		return cli.Usagef("register --destination: a destination is never signed for and takes no policy flags")
	}
	var policy *signer.Policy
	if hasPolicy {
		policy = &signer.Policy{}
		if *maxPerTx != "" {
			if policy.MaxPerTx, err = wallet.ParseAmount(*maxPerTx); err != nil {
				return cli.WithHint(cli.ExitUsage, err, "")
			}
		}
		if *daily != "" {
			if policy.Daily, err = wallet.ParseAmount(*daily); err != nil {
				return cli.WithHint(cli.ExitUsage, err, "")
			}
		}
		for _, a := range allow {
			if _, err := wallet.ScriptFromAddress(a, d.Network()); err != nil {
				return cli.WithHint(cli.ExitUsage, fmt.Errorf("--allow: %w", err), "")
			}
		}
		policy.Allow = allow
		policy.AllowWallets = allowWallets
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	n := *name
	if n == "" {
		n = fileName(su.Name, d.Checksum())
	}
	kind, prompt := "wallet", "Register this wallet?"
	var reg *signer.Registration
	if *dest {
		kind, prompt = "destination", "Register this destination?"
		reg, err = ks.PrepareDestination(n, d)
	} else {
		reg, err = ks.PrepareRegistration(n, d, policy)
	}
	if errors.Is(err, signer.ErrNotOurWallet) {
		return cli.WithHint(cli.ExitRefused, err, "is this the right keystore for this wallet?")
	}
	if errors.Is(err, signer.ErrUnknownDestination) {
		return cli.WithHint(cli.ExitRefused, err, "register it first with 'kinko-signer register --destination --name NAME WALLET'")
	}
	if err != nil {
		return cli.WithHint(cli.ExitRefused, err, "")
	}
	reg.Format(e.stderr)
	if err := e.confirm(*yes, prompt); err != nil {
		return err
	}
	if err := ks.Register(reg); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "registered %s %q\n", kind, n)
	return nil
}

func (e *env) wallets(args []string) error {
	fs := e.flags("wallets")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	for _, rw := range ks.Wallets() {
		_, d, err := ks.Wallet(rw.Name)
		if err != nil {
			return err
		}
		policy := "none"
		if rw.Policy != nil {
			policy = rw.Policy.String()
		}
		fmt.Fprintf(e.stdout, "%s\t%s on %s\tpolicy: %s\n", rw.Name, signer.Describe(d), d.Network(), policy)
	}
	for _, rw := range ks.Destinations() {
		_, d, err := ks.Destination(rw.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\t%s on %s\tdestination: may be paid, never signed for\n", rw.Name, signer.Describe(d), d.Network())
	}
	return nil
}

func (e *env) address(args []string) error {
	fs := e.flags("address")
	index := fs.Uint("index", 0, "address index")
	change := fs.Bool("change", false, "the change branch")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("address: want one registered WALLET name")
	}
	if *index >= uint(wallet.Hardened) {
		return cli.Usagef("--index %d is too large", *index)
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	_, d, err := ks.Wallet(pos[0])
	if errors.Is(err, signer.ErrUnknownWallet) {
		_, d, err = ks.Destination(pos[0])
	}
	if err != nil {
		return cli.WithHint(cli.ExitError, err, "list them with 'kinko-signer wallets'")
	}
	der, err := d.Derive(*change, uint32(*index))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, der.Address)
	return nil
}

// fileName is the wallet's name from its file if it is plain printable
// text of at most 40 characters, else def.
func fileName(s, def string) string {
	if s == "" || len(s) > 40 {
		return def
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f {
			return def
		}
	}
	return s
}
