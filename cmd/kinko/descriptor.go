package main

import (
	"fmt"

	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
)

func (e *env) descriptor(args []string) error {
	if len(args) == 0 {
		return cli.Usagef("descriptor: want 'check' or 'derive'")
	}
	switch args[0] {
	case "check":
		return e.descriptorCheck(args[1:])
	case "derive":
		return e.descriptorDerive(args[1:])
	}
	return cli.Usagef("descriptor: unknown command %q (want 'check' or 'derive')", args[0])
}

// parseDescriptorArg parses the one DESCRIPTOR argument with an optional
// --network, which picks between networks sharing testnet's key versions.
func parseDescriptorArg(netName string, pos []string) (*wallet.Descriptor, error) {
	if len(pos) != 1 {
		return nil, cli.Usagef("want exactly one DESCRIPTOR argument, got %d", len(pos))
	}
	var net *wallet.Network
	if netName != "" {
		n, err := wallet.ParseNetwork(netName)
		if err != nil {
			return nil, cli.WithHint(cli.ExitUsage, err, "")
		}
		net = n
	}
	d, err := wallet.ParseDescriptor(pos[0], net)
	if err != nil {
		return nil, cli.WithHint(cli.ExitRefused, err, "")
	}
	return d, nil
}

func (e *env) descriptorCheck(args []string) error {
	fs := e.flags("descriptor check")
	netName := fs.String("network", "", "mainnet, testnet, signet or regtest (default: from the keys)")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	d, err := parseDescriptorArg(*netName, pos)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, d.String())
	return nil
}

func (e *env) descriptorDerive(args []string) error {
	fs := e.flags("descriptor derive")
	netName := fs.String("network", "", "mainnet, testnet, signet or regtest (default: from the keys)")
	change := fs.Bool("change", false, "derive on the change branch (the second of <0;1>)")
	from := fs.Uint("from", 0, "first index")
	count := fs.Uint("count", 1, "how many addresses")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	d, err := parseDescriptorArg(*netName, pos)
	if err != nil {
		return err
	}
	if *count > 100000 {
		return cli.Usagef("--count %d: at most 100000", *count)
	}
	if uint64(*from)+uint64(*count) > uint64(wallet.Hardened) {
		return cli.Usagef("--from %d --count %d: indexes must stay below 2^31", *from, *count)
	}
	for i := uint32(0); i < uint32(*count); i++ {
		der, err := d.Derive(*change, uint32(*from)+i)
		if err != nil {
			return cli.WithHint(cli.ExitRefused, err, "")
		}
		fmt.Fprintln(e.stdout, der.Address)
	}
	return nil
}
