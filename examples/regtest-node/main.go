// Command regtest-node runs a bitcoin regtest node for trying kinko by hand:
//
//	go run ./examples/regtest-node --dir DIR
//
// It builds btcd from the Go module proxy (once; cached under your user
// cache directory), starts it in regtest on 127.0.0.1 with the same code
// the tests use (internal/regtest), and mines 101 blocks so that its
// faucet's first coins are mature. The RPC password goes to DIR/rpc-password
// (mode 0600); the lines to paste where kinko runs are printed:
//
//	export KINKO_RPC_HOST=127.0.0.1:PORT KINKO_RPC_USER=… KINKO_RPC_PASSWORD_FILE=DIR/rpc-password
//
// It runs until Ctrl-C, then stops the node. DIR is kept (the node's data
// and logs are in DIR/btcd), but btcd starts a new chain at every start.
//
// While it runs, a second invocation with the same DIR talks to that node:
//
//	go run ./examples/regtest-node --dir DIR env              # the export lines again
//	go run ./examples/regtest-node --dir DIR fund ADDR 1.5    # pay ADDR from the faucet
//	go run ./examples/regtest-node --dir DIR mine 1           # mine blocks
//
// The faucet's key is fixed and public (in internal/regtest): regtest only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/wallet"
)

const usage = `regtest-node: a bitcoin regtest node (btcd) for trying kinko by hand

Usage:
  regtest-node --dir DIR [-v]            start a node and run until Ctrl-C
  regtest-node --dir DIR env             print the export lines for kinko
  regtest-node --dir DIR fund ADDR AMOUNT   pay ADDR from the faucet (AMOUNT in BTC, or "50000sat")
  regtest-node --dir DIR mine [N]        mine N blocks (default 1)
`

// Files in DIR.
const (
	stateFile    = "node.json"    // where the running node is
	passwordFile = "rpc-password" // its RPC password, 0600
	btcdDir      = "btcd"         // btcd's data and logs
)

// state is what a second invocation needs to find the running node. It
// holds no secret: the password is in its own 0600 file.
type state struct {
	Host         string `json:"host"`
	User         string `json:"user"`
	PasswordFile string `json:"password_file"`
	PID          int    `json:"pid"`
}

// errNoNode means no node runs for DIR.
var errNoNode = errors.New("no node is running for this directory")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "regtest-node: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run is the whole program; it returns when a started node has been
// stopped (ctx cancelled) or a command is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regtest-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := fs.String("dir", "", "the node's directory (kept)")
	verbose := fs.Bool("v", false, "show the node's log")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if *dir == "" {
		return usagef("give --dir DIR")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return start(ctx, abs, *verbose, stdout, stderr)
	}
	switch cmd, rest := rest[0], rest[1:]; cmd {
	case "env":
		if len(rest) != 0 {
			return usagef("env takes no arguments")
		}
		st, err := load(abs)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, st.exports())
		return nil
	case "fund":
		if len(rest) != 2 {
			return usagef("usage: fund ADDR AMOUNT")
		}
		return fund(ctx, abs, rest[0], rest[1], stdout, stderr)
	case "mine":
		k := 1
		if len(rest) > 1 {
			return usagef("usage: mine [N]")
		}
		if len(rest) == 1 {
			if k, err = strconv.Atoi(rest[0]); err != nil || k < 1 || k > 1000 {
				return usagef("mine %q: want a number of blocks from 1 to 1000", rest[0])
			}
		}
		return mine(ctx, abs, k, stdout, stderr)
	default:
		return usagef("unknown command %q (want env, fund or mine)", cmd)
	}
}

// start runs a node for dir until ctx is done.
func start(ctx context.Context, dir string, verbose bool, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// One node per directory: refuse if the one recorded still answers.
	if n, st, err := attach(ctx, dir); err == nil {
		n.Stop()
		return fmt.Errorf("a node already runs for %s (pid %d, %s); stop it with Ctrl-C first", dir, st.PID, st.Host)
	} else if !errors.Is(err, errNoNode) {
		fmt.Fprintf(stderr, "regtest-node: the node recorded in %s is gone (%v); starting a new one\n", dir, err)
	}
	// Left over from a node that did not stop cleanly.
	for _, f := range []string{stateFile, passwordFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}

	fmt.Fprintln(stderr, "regtest-node: starting btcd in regtest on 127.0.0.1 (its first build takes a minute)")
	opts := regtest.Options{Dir: filepath.Join(dir, btcdDir)}
	if verbose {
		opts.Log = stderr
	}
	node, err := regtest.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer node.Stop()
	defer func() {
		os.Remove(filepath.Join(dir, stateFile))
		os.Remove(filepath.Join(dir, passwordFile))
	}()

	host, user, pass := node.RPC()
	st := state{Host: host, User: user, PasswordFile: filepath.Join(dir, passwordFile), PID: os.Getpid()}
	if err := writeNew(st.PasswordFile, []byte(pass+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the rpc password: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, stateFile), append(b, '\n'), 0o600); err != nil {
		return err
	}
	height, err := node.Height()
	if err != nil {
		return err
	}
	self := "go run ./examples/regtest-node --dir " + shellQuote(dir)
	fmt.Fprintf(stderr, "regtest-node: btcd runs at %s, height %d, its data in %s\n", host, height, opts.Dir)
	fmt.Fprintln(stderr, "Paste this line where you run kinko (or: eval \"$("+self+" env)\"):")
	fmt.Fprintln(stdout, st.exports())
	fmt.Fprintf(stderr, "Pay an address from the faucet: %s fund ADDR 1.5\n", self)
	fmt.Fprintf(stderr, "Mine blocks:                    %s mine 1\n", self)
	fmt.Fprintln(stderr, "Ctrl-C stops the node.")

	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "regtest-node: stopping btcd")
		return node.Stop()
	case <-node.Exited():
		return errors.New("btcd exited on its own; see " + filepath.Join(opts.Dir, "logs"))
	}
}

// attach connects to the node recorded in dir. errNoNode: none recorded.
func attach(ctx context.Context, dir string) (*regtest.Node, *state, error) {
	st, err := load(dir)
	if err != nil {
		return nil, nil, err
	}
	pass, err := os.ReadFile(st.PasswordFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read the rpc password: %w", err)
	}
	n, err := regtest.Attach(ctx, st.Host, st.User, strings.TrimSpace(string(pass)))
	if err != nil {
		return nil, nil, err
	}
	return n, st, nil
}

func load(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; start one with: go run ./examples/regtest-node --dir %s", dir, errNoNode, shellQuote(dir))
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Host == "" {
		return nil, fmt.Errorf("%s: not a regtest-node state file", filepath.Join(dir, stateFile))
	}
	return &st, nil
}

func fund(ctx context.Context, dir, addr, amount string, stdout, stderr io.Writer) error {
	spk, err := wallet.ScriptFromAddress(addr, wallet.Regtest)
	if err != nil {
		return usagef("fund: address %q: %w", addr, err)
	}
	sats, err := wallet.ParseAmount(amount)
	if err != nil {
		return usagef("fund: amount %q: %w", amount, err)
	}
	n, _, err := attach(ctx, dir)
	if err != nil {
		return err
	}
	defer n.Stop()
	txid, err := n.Fund(spk, sats)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "regtest-node: paid %s BTC to %s; unconfirmed until a block is mined\n", wallet.FormatAmount(sats), addr)
	fmt.Fprintln(stdout, txid)
	return nil
}

func mine(ctx context.Context, dir string, k int, stdout, stderr io.Writer) error {
	n, _, err := attach(ctx, dir)
	if err != nil {
		return err
	}
	defer n.Stop()
	hashes, err := n.Mine(k)
	if err != nil {
		return err
	}
	h, err := n.Height()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "regtest-node: mined %d blocks; height %d\n", len(hashes), h)
	for _, hash := range hashes {
		fmt.Fprintln(stdout, hash)
	}
	return nil
}

// exports is the shell line that points kinko at the node.
func (st *state) exports() string {
	return fmt.Sprintf("export KINKO_RPC_HOST=%s KINKO_RPC_USER=%s KINKO_RPC_PASSWORD_FILE=%s",
		shellQuote(st.Host), shellQuote(st.User), shellQuote(st.PasswordFile))
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
