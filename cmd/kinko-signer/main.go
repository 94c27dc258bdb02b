// Command kinko-signer is the air-gapped signer of a kinko multisig
// treasury. It keeps a seed encrypted at rest, registers the wallets it
// co-signs (multisig, or a single-key wpkh wallet it alone signs for) and
// the destinations it may pay, and signs only what it can verify from its
// own seed and its registered wallets. It links no networking code.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/signer"
)

const usage = `kinko-signer: the air-gapped signer of a kinko multisig treasury

Usage:
  kinko-signer init --keystore FILE [--words 12|24] [--language english|japanese] [--words-file OUT]
  kinko-signer restore --keystore FILE [--mnemonic-file F] [--bip39-passphrase-file F]
  kinko-signer xpub --keystore FILE --network N [--script wsh|sh-wsh|sh|tr|wpkh|sh-wpkh] [--account I]
               [--format record|coldcard-json|ur-account|bsms|slip132]
  kinko-signer register --keystore FILE [--name NAME] [--network N] [--yes]
               [--max-per-tx AMOUNT] [--daily-limit AMOUNT] [--allow ADDR...]
               [--allow-wallet NAME...] WALLET
  kinko-signer register --keystore FILE --destination --name NAME [--network N] [--yes] WALLET
  kinko-signer wallets --keystore FILE
  kinko-signer history --keystore FILE [--json]
  kinko-signer address --keystore FILE WALLET --index N [--change]
  kinko-signer sign --keystore FILE [--yes] [-o OUT.psbt] [--qr MODE]
               [--max-fee AMOUNT] [--max-feerate SAT/VB] [--allow-sighash] IN
  kinko-signer qr encode|decode ...   as 'kinko qr'

IN (and WALLET) may be a file in binary, base64 or hex, UR or BBQr part
strings one a line, an image with QR codes, or a directory of frame
images, and Electrum's base43 text. --qr parts|terminal|gif:FILE|png-dir:DIR
[--qr-format ur|bbqr|base43] shows the answer as QR codes; it is written in
the PSBT version (0 or 2) it came in.

Passwords are read from the terminal, or from --password-file FILE; never
from the command line or the environment. WALLET is a descriptor, or a
file or QR holding one: a descriptor pair, Coldcard's multisig file,
Caravan or Specter JSON, a BSMS record, or a crypto-output. "-" is stdin.

register --destination registers a wallet the signer may pay (a hot
wallet) and never signs for: an output paying it is shown as "to
registered wallet NAME" only after the signer re-derived it. A signing
wallet's --allow-wallet NAME then lets it pay only such verified outputs
(and the --allow addresses, if any).

"kinko-signer COMMAND -h" lists a command's flags.
Exit status: 0 done, 1 error, 2 usage, 3 refused, 4 declined.
`

func main() { os.Exit(Main()) }

// Main runs the command with os.Args and returns the exit status.
func Main() int {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	return cli.Report(os.Stderr, "kinko-signer", e.run(os.Args[1:]))
}

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	keystore     string
	passwordFile string
	kdfCost      int
	tty          *cli.TTY
}

func (e *env) run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return cli.Usagef("no command given")
	}
	defer func() {
		if e.tty != nil {
			e.tty.Close()
		}
	}()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "init":
		return e.init(rest, false)
	case "restore":
		return e.init(rest, true)
	case "xpub":
		return e.xpub(rest)
	case "register":
		return e.register(rest)
	case "wallets":
		return e.wallets(rest)
	case "history":
		return e.history(rest)
	case "address":
		return e.address(rest)
	case "sign":
		return e.sign(rest)
	case "qr":
		return cli.QRCommand("kinko-signer", rest, e.stdin, e.stdout, e.stderr)
	}
	return cli.WithHint(cli.ExitUsage, fmt.Errorf("unknown command %q", cmd), "run 'kinko-signer help'")
}

func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&e.keystore, "keystore", "", "the encrypted keystore file")
	fs.StringVar(&e.passwordFile, "password-file", "", "read the keystore password from this file instead of the terminal")
	fs.IntVar(&e.kdfCost, "kdf-cost", signer.DefaultWorkFactor, "scrypt cost (log2 N) for a new keystore; lower values are for tests only")
	return fs
}

func (e *env) terminal() (*cli.TTY, error) {
	if e.tty == nil {
		t, err := cli.OpenTTY()
		if err != nil {
			return nil, err
		}
		e.tty = t
	}
	return e.tty, nil
}

// password reads the keystore password from --password-file or the
// terminal; confirm asks twice, for a new keystore.
func (e *env) password(confirm bool) (string, error) {
	if e.passwordFile != "" {
		return cli.ReadSecretFile(e.passwordFile, e.stderr)
	}
	t, err := e.terminal()
	if err != nil {
		return "", err
	}
	pw, err := t.Password("Keystore password: ")
	if err != nil {
		return "", err
	}
	if confirm {
		again, err := t.Password("Again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("the two passwords differ")
		}
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

func (e *env) open() (*signer.Keystore, error) {
	if e.keystore == "" {
		return nil, cli.Usagef("give --keystore FILE")
	}
	pw, err := e.password(false)
	if err != nil {
		return nil, err
	}
	ks, err := signer.OpenKeystore(e.keystore, pw)
	if errors.Is(err, signer.ErrWrongPassword) {
		return nil, cli.WithHint(cli.ExitError, err, "check the password, and that the file is a kinko keystore")
	}
	return ks, err
}

// confirm asks the operator on the terminal unless yes is set.
func (e *env) confirm(yes bool, prompt string) error {
	if yes {
		return nil
	}
	t, err := e.terminal()
	if err != nil {
		return cli.WithHint(cli.ExitDeclined, errors.New("no terminal to confirm on"), "give --yes to approve without asking")
	}
	return t.Confirm(prompt)
}
