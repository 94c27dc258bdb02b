package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
	"github.com/kinko-project/kinko/wallet/setup"
)

// init makes a new keystore: from fresh entropy, or from existing words
// when restoring.
func (e *env) init(args []string, restore bool) error {
	name := "init"
	if restore {
		name = "restore"
	}
	fs := e.flags(name)
	words := fs.Int("words", 24, "number of recovery words: 12, 15, 18, 21 or 24")
	lang := fs.String("language", "english", "word list: english or japanese")
	wordsFile := fs.String("words-file", "", "write the new recovery words to this new file (0600) instead of showing them on the terminal")
	mnemonicFile := fs.String("mnemonic-file", "", "restore: read the recovery words from this file instead of the terminal")
	passFile := fs.String("bip39-passphrase-file", "", "read an optional BIP-39 passphrase from this file")
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("%s takes no arguments (secrets never come from the command line)", name)
	}
	if e.keystore == "" {
		return cli.Usagef("%s: give --keystore FILE", name)
	}
	if _, err := os.Stat(e.keystore); err == nil {
		return cli.WithHint(cli.ExitError, fmt.Errorf("%s: %w", e.keystore, signer.ErrKeystoreExists), "a keystore is never overwritten; choose another file")
	}
	var mnemonic string
	if restore {
		if *mnemonicFile != "" {
			b, err := cli.ReadInput(*mnemonicFile, nil, 4096)
			if err != nil {
				return err
			}
			mnemonic = strings.Join(strings.Fields(string(b)), " ")
		} else {
			t, err := e.terminal()
			if err != nil {
				return err
			}
			if mnemonic, err = t.Password("Recovery words (not echoed): "); err != nil {
				return err
			}
		}
		if err := bip39.Validate(mnemonic); err != nil {
			return cli.WithHint(cli.ExitRefused, fmt.Errorf("recovery words: %w", err), "check each word against the paper backup")
		}
	} else {
		bits := map[int]int{12: 128, 15: 160, 18: 192, 21: 224, 24: 256}[*words]
		if bits == 0 {
			return cli.Usagef("--words %d: want 12, 15, 18, 21 or 24", *words)
		}
		wl := bip39.English
		switch *lang {
		case "english":
		case "japanese":
			wl = bip39.Japanese
		default:
			return cli.Usagef("--language %q: want english or japanese", *lang)
		}
		ent, err := bip39.NewEntropy(bits)
		if err != nil {
			return err
		}
		mnemonic, err = bip39.NewMnemonic(ent, wl)
		clear(ent)
		if err != nil {
			return err
		}
		if *wordsFile == "" {
			if _, err := e.terminal(); err != nil {
				return cli.WithHint(cli.ExitUsage, errors.New("no terminal to show the recovery words on"), "give --words-file FILE to write them to a new file")
			}
		}
	}
	passphrase := ""
	if *passFile != "" {
		if passphrase, err = cli.ReadSecretFile(*passFile, e.stderr); err != nil {
			return err
		}
	}
	pw, err := e.password(true)
	if err != nil {
		return err
	}
	ks, err := signer.CreateKeystore(e.keystore, pw, mnemonic, passphrase, e.kdfCost)
	if err != nil {
		return err
	}
	if !restore {
		if *wordsFile != "" {
			if err := writeSecret(*wordsFile, mnemonic+"\n"); err != nil {
				os.Remove(e.keystore)
				return err
			}
		} else {
			w := e.tty.Writer()
			fmt.Fprintln(w, "Write these recovery words on paper, in order. They are shown once.")
			for i, word := range strings.Fields(mnemonic) {
				fmt.Fprintf(w, "%2d. %s\n", i+1, word)
			}
			if _, err := e.tty.Line("Press Enter once they are written down; the screen is then cleared. "); err != nil {
				return err
			}
			// Clear the screen and, where the terminal keeps one, its
			// scrollback.
			fmt.Fprint(w, "\x1b[H\x1b[2J\x1b[3J")
		}
	}
	fp, err := ks.Fingerprint()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "keystore %s written; master fingerprint:\n", e.keystore)
	fmt.Fprintln(e.stdout, fp)
	return nil
}

// writeSecret writes a new file readable by its owner only.
func writeSecret(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (e *env) xpub(args []string) error {
	fs := e.flags("xpub")
	netName := fs.String("network", "", "mainnet, testnet, signet or regtest")
	script := fs.String("script", "wsh", "wsh (BIP-48 2h), sh-wsh (BIP-48 1h), tr (BIP-48 3h), sh (BIP-45), or for a single-key wallet wpkh (BIP-84) or sh-wpkh (BIP-49)")
	account := fs.Uint("account", 0, "account number")
	format := fs.String("format", "record", "record ([fingerprint/path]xpub), coldcard-json (Coldcard's multisig xpub export), ur-account (ur:crypto-account), bsms (a signed BIP-129 key record) or slip132 (the key alone as Zpub/Vpub, Ypub/Upub…, for Electrum)")
	description := fs.String("description", "", "bsms: the key's description, at most 80 characters")
	var q cli.QROut
	q.Register(fs)
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *netName == "" {
		return cli.Usagef("xpub: give --network")
	}
	net, err := wallet.ParseNetwork(*netName)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	st, err := wallet.ParseScriptType(*script)
	if err != nil {
		return cli.WithHint(cli.ExitUsage, err, "")
	}
	if *account >= uint(wallet.Hardened) {
		return cli.Usagef("--account %d is too large", *account)
	}
	switch *format {
	case "record", "coldcard-json", "ur-account", "bsms":
	case "slip132":
		if st == wallet.P2SH {
			return cli.WithHint(cli.ExitUsage, errors.New("xpub: --format slip132: legacy sh has no SLIP-132 form"), "give Electrum the record's plain key, or use --script wsh")
		}
	default:
		return cli.Usagef("--format %q: want record, coldcard-json, ur-account, bsms or slip132", *format)
	}
	ks, err := e.open()
	if err != nil {
		return err
	}
	master, err := ks.Master(net)
	if err != nil {
		return err
	}
	defer master.Zero()
	rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, st, uint32(*account)))
	if err != nil {
		return err
	}
	var out []byte
	switch *format {
	case "record":
		if q.Enabled() {
			m, err := cli.KeyRecordMessage(rec)
			if err != nil {
				return err
			}
			return q.Send(m, e.stdout, e.stderr)
		}
		out = []byte(rec.String() + "\n")
	case "coldcard-json", "ur-account":
		var keys []airgap.AccountKey
		for _, t := range []wallet.ScriptType{wallet.P2SH, wallet.P2SHP2WSH, wallet.P2WSH} {
			r, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, t, uint32(*account)))
			if err != nil {
				return err
			}
			keys = append(keys, airgap.AccountKey{Script: t, Record: r})
		}
		if *format == "coldcard-json" {
			if out, err = setup.ColdcardKeyJSON(keys, uint32(*account)); err != nil {
				return err
			}
			break
		}
		typ, body, err := airgap.EncodeAccountUR(keys)
		if err != nil {
			return err
		}
		if q.Enabled() {
			return q.Send(cli.Message{URType: typ, URBody: body}, e.stdout, e.stderr)
		}
		enc, err := airgap.NewUREncoder(typ, body, len(body)+1, 0)
		if err != nil {
			return err
		}
		out = []byte(enc.Parts(1)[0] + "\n")
	case "slip132":
		key, err := rec.Key.SLIP132(st)
		if err != nil {
			return err
		}
		// Electrum takes the key alone and names it in PSBTs by its own
		// fingerprint, which this signer reads (signer/electrum.go); the
		// origin is for the coordinator and the other cosigners.
		fmt.Fprintf(e.stderr, "key for Electrum (%s); its origin, which Electrum does not take: [%s]\n", st, rec.Origin)
		if q.Enabled() {
			return q.SendParts([]string{key}, e.stdout, e.stderr)
		}
		out = []byte(key + "\n")
	case "bsms":
		acct, err := master.Derive(rec.Origin.Path)
		if err != nil {
			return err
		}
		defer acct.Zero()
		priv, err := acct.PrivateKey()
		if err != nil {
			return err
		}
		defer priv.Zero()
		if out, err = setup.BSMSKeyRecord(rec, priv, *description); err != nil {
			return cli.WithHint(cli.ExitUsage, err, "")
		}
	}
	if q.Enabled() {
		return q.Send(cli.TextMessage(out), e.stdout, e.stderr)
	}
	_, err = e.stdout.Write(out)
	return err
}
