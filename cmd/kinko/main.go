// Command kinko is the online coordinator of a kinko multisig treasury:
// it holds watch-only wallets, finds their coins on a node, builds PSBTs
// for the air-gapped signers, collects their signatures, and broadcasts.
//
// It never holds a private key. Run "kinko help" for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/cli"
)

const usage = `kinko: the coordinator of a kinko multisig treasury (watch-only; holds no keys)

Usage:
  kinko descriptor check [--network N] DESCRIPTOR
  kinko descriptor derive [--network N] [--change] [--from I] [--count N] DESCRIPTOR
  kinko wallet create NAME --threshold M --key KEY... [--network N] [--script wsh|sh-wsh|sh|tr]
                     [--sorted=false] [--birthday H]
                                     KEY: a key record, or a file or QR of another wallet's key export
  kinko wallet import NAME WALLET [--network N] [--birthday H]
                                     watch any wallet kinko derives, multisig, taproot or single key;
                                     WALLET is a descriptor, or a file: descriptor pair, Coldcard,
                                     Caravan, Specter, BSMS or UR
  kinko wallet export NAME --format descriptor|pair|coldcard|caravan|specter|bsms|ur [-o FILE | --qr …]
  kinko wallet descriptor NAME       print the wallet's descriptor, to register on each signer
  kinko wallet address NAME          hand out the next unused receive address
  kinko wallet list
  kinko sync [--rescan NAME]         find the wallets' coins on the node
  kinko node check [--network N]     what kinko needs from the node, and whether it has it (exit 5 if not)
  kinko balance NAME
  kinko spend NAME --to ADDR:AMOUNT... [--feerate SAT/VB | --target-blocks N] [--from OUTPOINT...]
                   [--exclude OUTPOINT...] [--psbt-version 2] -o FILE.psbt
                                     --from: only these coins; --exclude: never these
  kinko spend NAME --pay-file FILE [--max-outputs N] [--feerate SAT/VB] -o FILE.psbt
                                     a batch from CSV (address,amount[,label]) or JSON, - for stdin;
                                     every line is checked first (exit 3 listing each bad line);
                                     with --max-outputs, one session (FILE-1.psbt, …) per N payments
  kinko coins NAME                   list the wallet's coins: outpoint, value, confirmations,
                                     address index, frozen or reserved by a session, label
  kinko coins freeze|unfreeze OUTPOINT...   frozen coins are never spent (nor swept, nor rebalanced)
  kinko labels export NAME [-o FILE] | import NAME FILE   the wallet's labels as BIP-329 JSON Lines
  kinko history NAME [--since DATE] [--format table|csv|json]   date, txid, confirmations, sent,
                                     received, fee, labels and session of each transaction
  kinko session list | show ID | import ID FILE... | finalize ID | broadcast ID | cancel ID
  kinko session bump ID --feerate R -o FILE.psbt   replace a broadcast transaction (RBF, BIP-125)
  kinko session cpfp ID --feerate R -o FILE.psbt   spend its unconfirmed change so both reach R
  kinko session export ID -o FILE.psbt | --qr …   the session's PSBT as it is now
  kinko treasury set --cold NAME --hot NAME [--deposit NAME]... --ceiling C [--floor F]
                                     C: an amount, a share ("5%") or days of withdrawals ("3d")
  kinko treasury status [--json | --format text|json|prometheus]   exit 6 when the hot wallet is out of band
  kinko treasury rebalance [--feerate R] -o FILE.psbt | --qr …     top up from cold, or sweep the excess to cold
  kinko sweep NAME --to WALLET [--feerate R] [--min-value V] [--max-inputs N] -o FILE.psbt
  kinko qr encode [--format ur|bbqr|base43] [--fragment N] [--png-dir DIR | --gif FILE | --terminal] FILE
  kinko qr decode [-o OUT] [FILE...]  images, or part strings one a line (stdin by default)
  kinko audit verify [--head SEQ:HASH]  check the audit log's hash chain; prints its head SEQ:HASH
  kinko audit export [--since DATE] [--format jsonl|csv] [-o FILE]

spend, session import and the signer accept and produce QR directly:
  --qr parts|terminal|gif:FILE|png-dir:DIR [--qr-format ur|bbqr|base43] for
  output (base43: a PSBT as the one code Electrum reads); FILE may be a PSBT
  (binary, base64, hex, base43, version 0 or 2), part strings, an image, or a
  directory of frame images.

Common flags:
  --datadir DIR             where the coordinator keeps its database ($KINKO_DATADIR)
  --rpc-host HOST:PORT      the node's RPC address ($KINKO_RPC_HOST)
  --rpc-user USER           ($KINKO_RPC_USER)
  --rpc-password-file FILE  a file holding the RPC password ($KINKO_RPC_PASSWORD_FILE)
  --rpc-cookie-file FILE    Bitcoin Core's .cookie, instead of user and password ($KINKO_RPC_COOKIE_FILE)
                            With no credentials given, kinko uses Core's cookie at its default
                            place for the wallets' network (~/.bitcoin/regtest/.cookie, …).
  --verbose                 say each retry of a node that does not answer (it is given up
                            after about 4 s)

AMOUNT is in BTC ("0.5") or satoshis with a "sat" suffix ("50000sat").
DATE is 2006-01-02 (UTC) or RFC 3339 (2006-01-02T15:04:05+09:00).
"kinko COMMAND -h" lists a command's flags.
Exit status: 0 done, 1 error, 2 usage, 3 refused, 4 declined, 5 node error,
6 treasury out of band, 7 local storage error.
`

func main() { os.Exit(Main()) }

// Main runs the command with os.Args and returns the exit status.
func Main() int {
	env := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	return cli.Report(os.Stderr, "kinko", storeExit(env.run(os.Args[1:])))
}

// storeExit gives a failure of the coordinator's database exit status 7,
// whatever code it was given on its way up.
func storeExit(err error) error {
	if err == nil || !coordinator.IsStoreError(err) {
		return err
	}
	if ce := (*cli.Error)(nil); errors.As(err, &ce) && ce.Code == cli.ExitStore && ce.Hint != "" {
		return err // a store error with a hint of its own
	}
	return cli.WithHint(cli.ExitStore, err, "check the data directory: its disk space and permissions")
}

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	datadir       string
	rpcHost       string
	rpcUser       string
	rpcPassFile   string
	rpcCookieFile string
	verbose       bool
	netHint       string // the network whose default cookie to look for; "" = the wallets'
	coordinator   *coordinator.Coordinator
	nodeClient    *chain.Client
}

func (e *env) run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return cli.Usagef("no command given")
	}
	defer e.close()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "descriptor":
		return e.descriptor(rest)
	case "wallet":
		return e.wallet(rest)
	case "sync":
		return e.sync(rest)
	case "node":
		return e.nodeCommand(rest)
	case "balance":
		return e.balance(rest)
	case "spend":
		return e.spend(rest)
	case "session":
		return e.session(rest)
	case "coins":
		return e.coins(rest)
	case "labels":
		return e.labels(rest)
	case "history":
		return e.history(rest)
	case "treasury":
		return e.treasury(rest)
	case "sweep":
		return e.sweep(rest)
	case "qr":
		return cli.QRCommand("kinko", rest, e.stdin, e.stdout, e.stderr)
	case "audit":
		return e.audit(rest)
	}
	return cli.WithHint(cli.ExitUsage, fmt.Errorf("unknown command %q", cmd), "run 'kinko help'")
}

func (e *env) close() {
	if e.coordinator != nil {
		e.coordinator.Close()
	}
	if e.nodeClient != nil {
		e.nodeClient.Close()
	}
}

// flags returns a flag set with the common flags.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&e.datadir, "datadir", os.Getenv("KINKO_DATADIR"), "data directory")
	fs.StringVar(&e.rpcHost, "rpc-host", os.Getenv("KINKO_RPC_HOST"), "node RPC host:port")
	fs.StringVar(&e.rpcUser, "rpc-user", os.Getenv("KINKO_RPC_USER"), "node RPC user")
	fs.StringVar(&e.rpcPassFile, "rpc-password-file", os.Getenv("KINKO_RPC_PASSWORD_FILE"), "file holding the node RPC password")
	fs.StringVar(&e.rpcCookieFile, "rpc-cookie-file", os.Getenv("KINKO_RPC_COOKIE_FILE"), "Bitcoin Core's cookie file (user:password), read again when the node restarts")
	fs.BoolVar(&e.verbose, "verbose", false, "say each retry of a node that does not answer")
	return fs
}

func (e *env) store() (*coordinator.Coordinator, error) {
	if e.coordinator != nil {
		return e.coordinator, nil
	}
	dir, err := e.dataDir()
	if err != nil {
		return nil, err
	}
	c, err := coordinator.Open(dir)
	if errors.Is(err, coordinator.ErrStoreTooNew) {
		return nil, cli.WithHint(cli.ExitStore, err, "run the kinko that upgraded it, or a newer one")
	}
	if err != nil {
		return nil, cli.WithHint(cli.ExitStore, err, "")
	}
	e.coordinator = c
	return c, nil
}

// readStore opens the store for a command that only reads: read-write
// when it can, else read-only, so that a data directory that cannot be
// written still serves balance, wallet list, session list and show,
// treasury status without a node, and the audit log.
func (e *env) readStore() (*coordinator.Coordinator, error) {
	c, err := e.store()
	if err == nil || !coordinator.IsStoreError(err) || errors.Is(err, coordinator.ErrStoreTooNew) {
		return c, err
	}
	dir, derr := e.dataDir()
	if derr != nil {
		return nil, err
	}
	ro, rerr := coordinator.OpenReadOnly(dir)
	if rerr != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "kinko: the data directory cannot be written; reading only (%v)\n", err)
	e.coordinator = ro
	return ro, nil
}

// dataDir is --datadir, or kinko under the user's configuration directory.
func (e *env) dataDir() (string, error) {
	if e.datadir != "" {
		return e.datadir, nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", cli.WithHint(cli.ExitUsage, err, "give --datadir")
	}
	return filepath.Join(cfg, "kinko"), nil
}
