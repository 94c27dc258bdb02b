// Command treasury runs kinko's whole 2-of-3 flow on a real bitcoin node:
//
//	go run ./examples/treasury [--script tr]
//
// It builds btcd from the Go module proxy and starts it in regtest on
// 127.0.0.1, in a temporary directory, and mines 101 blocks. Then three
// signers each make a seed in an encrypted keystore and hand their key
// records to the coordinator, which creates a 2-of-3 P2WSH wallet (with
// --script tr a taproot tr(NUMS,sortedmulti_a(2,…)) wallet, whose PSBTs
// carry no previous transactions); each
// signer registers that wallet after checking it. The node's faucet funds
// the wallet, the coordinator builds a PSBT paying an outside address and
// writes it to a file (the USB stick), two signers review and sign it from
// their own registered wallet, the coordinator imports their files,
// finalizes, broadcasts, and a block confirms the transaction.
//
// With --qr ur or --qr bbqr every transfer between the coordinator and
// the signers (key records, the wallet, PSBTs, signatures) is rendered as
// QR code images and read back from them by a real QR decoder.
//
// The node is stopped at the end, also on failure or Ctrl-C. With
// --keep DIR every keystore, PSBT and transaction stays in DIR.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
)

func main() {
	keep := flag.String("keep", "", "keep every keystore, PSBT and transaction in this directory")
	verbose := flag.Bool("v", false, "show the node's log")
	qr := flag.String("qr", "", "carry every transfer as QR code images: ur or bbqr")
	script := flag.String("script", "wsh", "the wallet's script type: wsh or tr")
	flag.Parse()
	if *qr != "" && *qr != "ur" && *qr != "bbqr" {
		fmt.Fprintln(os.Stderr, "treasury: error: --qr takes ur or bbqr")
		os.Exit(2)
	}
	st, err := wallet.ParseScriptType(*script)
	if err != nil || (st != wallet.P2WSH && st != wallet.P2TR) {
		fmt.Fprintln(os.Stderr, "treasury: error: --script takes wsh or tr")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *keep, *verbose, *qr, st); err != nil {
		fmt.Fprintf(os.Stderr, "treasury: error: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

func run(ctx context.Context, keep string, verbose bool, qr string, st wallet.ScriptType) (err error) {
	dir := keep
	if dir == "" {
		dir, err = os.MkdirTemp("", "kinko-treasury-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	usb := filepath.Join(dir, "usb")
	if err := os.MkdirAll(usb, 0o700); err != nil {
		return err
	}
	air := &airGap{mode: qr, dir: usb}

	step("building and starting btcd in regtest on 127.0.0.1 (the first build takes a minute)")
	opts := regtest.Options{}
	if verbose {
		opts.Log = os.Stderr
	}
	node, err := regtest.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("start btcd: %w", err)
	}
	defer node.Stop()
	// On Ctrl-C the node is stopped at once; whatever step is running
	// then fails and the demo ends.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		node.Stop()
	}()
	height, err := node.Height()
	if err != nil {
		return err
	}
	host, user, pass := node.RPC()
	fmt.Printf("    btcd at %s, height %d\n", host, height)
	rpc, err := chain.Dial(chain.Config{Host: host, User: user, Pass: pass})
	if err != nil {
		return err
	}
	defer rpc.Close()

	net := wallet.Regtest
	step("three air-gapped signers make their seeds and show their key records")
	var keystores []*signer.Keystore
	var records []*wallet.KeyRecord
	for i := 1; i <= 3; i++ {
		ent, err := bip39.NewEntropy(256)
		if err != nil {
			return err
		}
		words, err := bip39.NewMnemonic(ent, bip39.English)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("signer-%d.keystore", i))
		// A real signer uses the default scrypt cost; the demo trades it
		// for speed.
		ks, err := signer.CreateKeystore(path, fmt.Sprintf("demo password %d", i), words, "", 15)
		if err != nil {
			return err
		}
		master, err := ks.Master(net)
		if err != nil {
			return err
		}
		rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, st, 0))
		master.Zero()
		if err != nil {
			return err
		}
		if rec, err = air.keyRecord(fmt.Sprintf("key-record-%d", i), rec); err != nil {
			return err
		}
		fmt.Printf("    signer %d: %s\n", i, rec)
		keystores = append(keystores, ks)
		records = append(records, rec)
	}

	step("the coordinator creates the watch-only 2-of-3 %s wallet", st)
	coord, err := coordinator.Open(filepath.Join(dir, "coordinator"))
	if err != nil {
		return err
	}
	defer coord.Close()
	desc, err := wallet.NewMultisig(net, st, 2, records)
	if err != nil {
		return err
	}
	if err := coord.CreateWallet(ctx, "treasury", desc, height); err != nil {
		return err
	}
	fmt.Printf("    %s\n", desc)

	step("each signer registers the wallet after checking it holds its key")
	for i, ks := range keystores {
		d, err := air.descriptor(fmt.Sprintf("wallet-to-signer-%d", i+1), desc)
		if err != nil {
			return err
		}
		reg, err := ks.PrepareRegistration("treasury", d, nil)
		if err != nil {
			return fmt.Errorf("signer %d: %w", i+1, err)
		}
		if err := ks.Register(reg); err != nil {
			return err
		}
		fmt.Printf("    signer %d is key %d; first address %s\n", i+1, reg.OwnPosition, reg.FirstAddress)
	}

	step("funding the wallet from the node's faucet")
	for k := 0; k < 2; k++ {
		addr, idx, err := coord.NextAddress(ctx, "treasury")
		if err != nil {
			return err
		}
		spk, err := wallet.ScriptFromAddress(addr, net)
		if err != nil {
			return err
		}
		txid, err := node.Fund(spk, 100_000_000)
		if err != nil {
			return err
		}
		fmt.Printf("    1 BTC to receive address %d %s (tx %s)\n", idx, addr, txid)
	}
	if _, err := node.Mine(1); err != nil {
		return err
	}
	if _, err := coord.Sync(ctx, rpc); err != nil {
		return err
	}
	if err := printBalance(ctx, coord); err != nil {
		return err
	}

	step("the coordinator builds a PSBT paying 0.3 BTC to an outside address")
	outside, err := outsideAddress(net)
	if err != nil {
		return err
	}
	tip, err := rpc.Height()
	if err != nil {
		return err
	}
	sess, err := coord.Spend(ctx, "treasury", coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside, Amount: 30_000_000}},
		FeeRate:  2, LockTime: uint32(tip),
	})
	if err != nil {
		return err
	}
	unsigned := filepath.Join(usb, "spend-"+sess.ID+".psbt")
	if err := os.WriteFile(unsigned, sess.PSBT, 0o644); err != nil {
		return err
	}
	fmt.Printf("    session %s, fee %s, written to %s\n", sess.ID, wallet.FormatAmount(sess.Fee), unsigned)

	var signedFiles []string
	for _, i := range []int{1, 3} {
		step("signer %d reads the PSBT from the USB stick, reviews it from its own wallet, and signs", i)
		raw, err := os.ReadFile(unsigned)
		if err != nil {
			return err
		}
		if raw, err = air.psbt(fmt.Sprintf("psbt-to-signer-%d", i), raw); err != nil {
			return err
		}
		p, err := psbt.Parse(raw)
		if err != nil {
			return err
		}
		ks := keystores[i-1]
		signed, _, err := ks.Sign(p, signer.Options{}, func(r *signer.Review) error {
			r.Format(indent{os.Stdout})
			return nil // the demo approves; kinko-signer asks on the terminal
		})
		if err != nil {
			return fmt.Errorf("signer %d: %w", i, err)
		}
		if err := ks.Save(); err != nil {
			return err
		}
		blob, err := signed.Serialize()
		if err != nil {
			return err
		}
		f := filepath.Join(usb, fmt.Sprintf("signed-by-%d-%s.psbt", i, sess.ID))
		if err := os.WriteFile(f, blob, 0o644); err != nil {
			return err
		}
		fmt.Printf("    wrote %s (%d bytes: only its signatures)\n", f, len(blob))
		signedFiles = append(signedFiles, f)
	}

	step("the coordinator imports both signatures, finalizes and broadcasts")
	for _, f := range signedFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if raw, err = air.psbt("back-from-"+filepath.Base(f), raw); err != nil {
			return err
		}
		res, err := coord.Import(ctx, sess.ID, raw)
		if err != nil {
			return err
		}
		fmt.Printf("    %s: %d new signatures\n", filepath.Base(f), res.Added)
	}
	final, err := coord.Finalize(ctx, sess.ID, rpc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(usb, "final-"+sess.ID+".tx.hex"), []byte(fmt.Sprintf("%x\n", final.FinalTx)), 0o644); err != nil {
		return err
	}
	txid, err := coord.Broadcast(ctx, sess.ID, rpc)
	if err != nil {
		return err
	}
	fmt.Printf("    broadcast %s\n", txid)

	step("mining a block")
	hashes, err := node.Mine(1)
	if err != nil {
		return err
	}
	blk, err := rpc.Block(hashes[0])
	if err != nil {
		return err
	}
	confirmed := false
	for _, raw := range blk.Txs {
		tx, err := psbt.ParseTx(raw)
		if err == nil && tx.TxID().String() == txid {
			confirmed = true
		}
	}
	if !confirmed {
		return errors.New("the transaction is not in the new block")
	}
	if _, err := coord.Sync(ctx, rpc); err != nil {
		return err
	}
	fmt.Printf("\nconfirmed txid %s in block %s\n", txid, hashes[0])
	if err := printBalance(ctx, coord); err != nil {
		return err
	}
	if keep != "" {
		fmt.Printf("everything is kept in %s\n", keep)
	}
	return nil
}

func printBalance(ctx context.Context, coord *coordinator.Coordinator) error {
	b, err := coord.Balance(ctx, "treasury")
	if err != nil {
		return err
	}
	fmt.Printf("    balance: %s confirmed, %s unconfirmed, in %d coins\n",
		wallet.FormatAmount(b.Confirmed), wallet.FormatAmount(b.Unconfirmed), b.Coins)
	return nil
}

// outsideAddress makes a P2WPKH address nobody in the demo holds.
func outsideAddress(net *wallet.Network) (string, error) {
	spk := make([]byte, 22)
	spk[0], spk[1] = 0x00, 0x14
	if _, err := rand.Read(spk[2:]); err != nil {
		return "", err
	}
	return wallet.AddressFromScript(spk, net)
}

// indent prefixes every line written through it.
type indent struct{ w *os.File }

func (i indent) Write(p []byte) (int, error) {
	start := 0
	for k, b := range p {
		if b == '\n' {
			if _, err := fmt.Fprintf(i.w, "    | %s\n", p[start:k]); err != nil {
				return 0, err
			}
			start = k + 1
		}
	}
	if start < len(p) {
		fmt.Fprintf(i.w, "    | %s", p[start:])
	}
	return len(p), nil
}

// airGap carries data between the coordinator and a signer. With a QR
// mode it renders the data as QR code PNG frames in a directory and reads
// them back with kinko's own readers and the QR decoder, as the other
// side's camera would: key records as ur:crypto-hdkey, the wallet as
// ur:crypto-output, PSBTs as ur:crypto-psbt (or all as BBQr).
type airGap struct {
	mode string // "", "ur" or "bbqr"
	dir  string
}

// render writes m as QR frames into a new directory named after name.
func (a *airGap) render(name string, m cli.Message) (string, error) {
	q := cli.QROut{Format: a.mode}
	parts, err := q.Parts(m)
	if err != nil {
		return "", err
	}
	frames := filepath.Join(a.dir, "qr-"+name)
	if err := os.MkdirAll(frames, 0o700); err != nil {
		return "", err
	}
	if _, err := airgap.RenderPNGs(parts, frames, airgap.QROptions{}); err != nil {
		return "", err
	}
	fmt.Printf("    (%s crosses as %d %s QR frames in %s)\n", name, len(parts), a.mode, frames)
	return frames, nil
}

func (a *airGap) keyRecord(name string, rec *wallet.KeyRecord) (*wallet.KeyRecord, error) {
	if a.mode == "" {
		return rec, nil
	}
	m, err := cli.KeyRecordMessage(rec)
	if err != nil {
		return nil, err
	}
	frames, err := a.render(name, m)
	if err != nil {
		return nil, err
	}
	got, err := cli.ReadKeyRecord(frames, rec.Key.Network(), nil, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", name, err)
	}
	if got.String() != rec.String() {
		return nil, fmt.Errorf("%s came back different", name)
	}
	return got, nil
}

func (a *airGap) descriptor(name string, d *wallet.Descriptor) (*wallet.Descriptor, error) {
	if a.mode == "" {
		return wallet.ParseDescriptor(d.String(), d.Network())
	}
	m, err := cli.DescriptorMessage(d)
	if err != nil {
		return nil, err
	}
	frames, err := a.render(name, m)
	if err != nil {
		return nil, err
	}
	got, err := cli.ReadDescriptor(frames, d.Network(), nil, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", name, err)
	}
	if got.String() != d.String() {
		return nil, fmt.Errorf("%s came back different", name)
	}
	return got, nil
}

func (a *airGap) psbt(name string, p []byte) ([]byte, error) {
	if a.mode == "" {
		return p, nil
	}
	frames, err := a.render(name, cli.PSBTMessage(p))
	if err != nil {
		return nil, err
	}
	got, err := cli.ReadPSBT(frames, nil, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", name, err)
	}
	if !bytes.Equal(got, p) {
		return nil, fmt.Errorf("%s came back different", name)
	}
	return got, nil
}
