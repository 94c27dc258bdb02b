package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/wallet"
)

// node connects to the configured node: --rpc-host with --rpc-user and
// --rpc-password-file, or with --rpc-cookie-file. With no credentials
// configured it uses Bitcoin Core's cookie at its default place for the
// wallets' network, if there is one there (and Core's default port when no
// host is given either), and says so on stderr.
func (e *env) node() (*chain.Client, error) {
	if e.nodeClient != nil {
		return e.nodeClient, nil
	}
	cfg := chain.Config{Host: e.rpcHost, User: e.rpcUser, CookieFile: e.rpcCookieFile}
	switch {
	case e.rpcCookieFile != "" && e.rpcPassFile != "":
		return nil, cli.Usagef("give --rpc-cookie-file or --rpc-password-file, not both")
	case e.rpcPassFile != "":
		p, err := cli.ReadSecretFile(e.rpcPassFile, e.stderr)
		if err != nil {
			return nil, fmt.Errorf("rpc password: %w", err)
		}
		cfg.Pass = p
	case e.rpcCookieFile == "" && e.rpcUser == "":
		cookie, port, looked := e.defaultCookie()
		if cookie != "" {
			cfg.CookieFile = cookie
			if cfg.Host == "" {
				cfg.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			}
			fmt.Fprintf(e.stderr, "kinko: using Bitcoin Core's cookie %s\n", cookie)
		} else {
			hint := "give --rpc-host with --rpc-cookie-file, or with --rpc-user and --rpc-password-file (or $KINKO_RPC_HOST, …)"
			if looked != "" {
				hint += "; no Bitcoin Core cookie at " + looked
			}
			err := coordinator.ErrNoNode
			if cfg.Host != "" {
				err = fmt.Errorf("%w: no rpc credentials for %s", err, cfg.Host)
			}
			return nil, cli.WithHint(cli.ExitNode, err, hint)
		}
	}
	if cfg.Host == "" {
		return nil, cli.WithHint(cli.ExitNode, coordinator.ErrNoNode, "give --rpc-host HOST:PORT (or $KINKO_RPC_HOST)")
	}
	if cfg.CookieFile != "" && cfg.User != "" {
		return nil, cli.Usagef("--rpc-user does not go with a cookie file: the cookie holds the user")
	}
	c, err := chain.Dial(cfg)
	switch {
	case errors.Is(err, chain.ErrCookie):
		return nil, cli.WithHint(cli.ExitNode, err, "is bitcoind running, and may this user read its cookie? (Core writes it at start and removes it at shutdown)")
	case errors.Is(err, chain.ErrAuth) && cfg.CookieFile != "":
		return nil, cli.WithHint(cli.ExitNode, err, "the cookie is not this node's: check --rpc-host and --rpc-cookie-file")
	case err != nil:
		return nil, cli.WithHint(cli.ExitNode, err, "is the node running, and are the RPC address and credentials right?")
	}
	if e.verbose {
		c.SetLog(func(format string, args ...any) { fmt.Fprintf(e.stderr, "kinko: "+format+"\n", args...) })
	}
	e.nodeClient = c
	return c, nil
}

// nodeConfigured reports whether a node is given, or Bitcoin Core's
// cookie is at its default place.
func (e *env) nodeConfigured() bool {
	if e.rpcHost != "" || e.rpcCookieFile != "" {
		return true
	}
	cookie, _, _ := e.defaultCookie()
	return cookie != ""
}

// defaultCookie finds Bitcoin Core's cookie at its default place for the
// network the wallets use (or --network, for node check). It returns the
// cookie and Core's default RPC port, or "" and where it looked.
func (e *env) defaultCookie() (cookie string, port int, looked string) {
	netName := e.netHint
	if netName == "" {
		nets, err := e.walletNetworks()
		if err != nil || len(nets) != 1 {
			return "", 0, ""
		}
		netName = nets[0]
	}
	names := []string{netName}
	if netName == "testnet" {
		names = append(names, "testnet4") // Core 28's new test network
	}
	var tried []string
	for _, n := range names {
		p, err := chain.CoreCookieFile(n)
		if err != nil {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, chain.CoreRPCPort(n), ""
		}
		tried = append(tried, p)
	}
	return "", 0, strings.Join(tried, " or ")
}

// walletNetworks lists the networks of the coordinator's wallets, without
// creating a data directory where there is none.
func (e *env) walletNetworks() ([]string, error) {
	if e.coordinator == nil {
		dir, err := e.dataDir()
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(dir, coordinator.DBName)); err != nil {
			return nil, nil
		}
	}
	c, err := e.store()
	if err != nil {
		return nil, err
	}
	names, err := c.Wallets(context.Background())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var nets []string
	for _, name := range names {
		w, err := c.Wallet(context.Background(), name)
		if err != nil {
			return nil, err
		}
		if n := w.Descriptor.Network().Name; !seen[n] {
			seen[n] = true
			nets = append(nets, n)
		}
	}
	return nets, nil
}

// nodeCommand runs "kinko node check".
func (e *env) nodeCommand(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return cli.Usagef("usage: kinko node check [--network N]")
	}
	fs := e.flags("node check")
	netName := fs.String("network", "", "the network the node must run: mainnet, testnet, signet or regtest (default: the wallets')")
	pos, err := cli.Parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("node check takes no arguments")
	}
	var want *wallet.Network
	if *netName != "" {
		if want, err = wallet.ParseNetwork(*netName); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	} else if nets, err := e.walletNetworks(); err == nil && len(nets) == 1 {
		want, _ = wallet.ParseNetwork(nets[0])
	}
	if want != nil {
		e.netHint = want.Name
	}
	c, err := e.node()
	if err != nil {
		return err
	}
	n, err := c.Check()
	if err != nil {
		return cli.WithHint(cli.ExitNode, err, "is the node running, and are the RPC address and credentials right?")
	}
	problems := n.Problems()
	w := e.stdout
	fmt.Fprintf(w, "reachable:  yes\n")
	network := n.Chain
	if network == "" {
		network = "unknown (no getblockchaininfo)"
	}
	if want != nil {
		got, err := wallet.ParseNetwork(n.Chain)
		switch {
		case err != nil:
			network += fmt.Sprintf(" (cannot tell whether it is %s)", want)
		case got != want:
			network += fmt.Sprintf(" — NOT %s", want)
			problems = append(problems, fmt.Sprintf("the node runs %s, the wallets %s", got, want))
		default:
			network += " (as the wallets)"
		}
	}
	fmt.Fprintf(w, "network:    %s\n", network)
	tipTime := "time unknown"
	if !n.TipTime.IsZero() {
		tipTime = n.TipTime.Format("2006-01-02 15:04:05 UTC")
	}
	fmt.Fprintf(w, "tip:        height %d, %s, %s\n", n.Height, n.Tip, tipTime)
	fmt.Fprintf(w, "synced:     %s (%s)\n", yesNo(n.Synced), n.SyncNote)
	if n.Pruned {
		fmt.Fprintf(w, "pruned:     blocks below %d are gone: wallets born earlier cannot be scanned\n", n.PruneFrom)
	}
	var ok []string
	for _, r := range n.RPCs {
		switch {
		case r.Answered && r.Note == "ok":
			ok = append(ok, r.Method)
		case !r.Answered && r.Required:
			fmt.Fprintf(w, "rpc:        %s: NOT answered (%s)\n", r.Method, r.Note)
		case !r.Answered:
			fmt.Fprintf(w, "rpc:        %s: not answered (%s); not required\n", r.Method, r.Note)
		case r.Method == "getblockcount" || r.Method == "getrawtransaction":
			ok = append(ok, r.Method)
		default:
			fmt.Fprintf(w, "rpc:        %s: %s\n", r.Method, r.Note)
		}
	}
	fmt.Fprintf(w, "rpc:        answered: %s\n", strings.Join(ok, ", "))
	if n.RelayFee >= 0 {
		fmt.Fprintf(w, "relay fee:  %s sat/vB\n", strconv.FormatFloat(n.RelayFee, 'f', -1, 64))
	} else {
		fmt.Fprintf(w, "relay fee:  unknown\n")
	}
	if n.MempoolTxs >= 0 {
		fmt.Fprintf(w, "mempool:    %d transactions, %d bytes\n", n.MempoolTxs, n.MempoolBytes)
	} else {
		fmt.Fprintf(w, "mempool:    size unknown\n")
	}
	if n.Filters != "" {
		fmt.Fprintf(w, "filters:    yes (%s); kinko does not need them\n", n.Filters)
	} else {
		fmt.Fprintf(w, "filters:    no (%s); kinko does not need them\n", n.FiltersNote)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(w, "PROBLEM:    %s\n", p)
		}
		return cli.WithHint(cli.ExitNode, fmt.Errorf("the node falls short: %s", problems[0]), checkHint(problems[0]))
	}
	fmt.Fprintln(w, "ok: the node has what kinko needs")
	return nil
}

func checkHint(problem string) string {
	switch {
	case strings.HasPrefix(problem, "the node is not synced"):
		return "wait until the node has caught up, then check again"
	case strings.HasPrefix(problem, "the node runs"):
		return "point --rpc-host at a node of the wallets' network (Core's default RPC ports: 8332 mainnet, 18332 testnet, 38332 signet, 18443 regtest)"
	default:
		return "kinko needs Bitcoin Core (any recent version) or btcd; check that the RPC user may call every method listed"
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
