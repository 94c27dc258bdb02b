// Command exchange runs an exchange's treasury with kinko on a real
// bitcoin node:
//
//	go run ./examples/exchange
//
// It starts btcd in regtest on 127.0.0.1 (built from the Go module proxy)
// and sets up the three tiers Japan's rules ask for: a cold 2-of-3 P2WSH
// wallet whose three signers are air-gapped, a hot wallet (single-key
// wpkh) whose signer runs online and is labelled so, and a deposit wallet
// for customers' deposits. The cold signers register the hot wallet as
// the one place their coins may go (--allow-wallet hot); the deposit
// wallet's signer may pay only the cold wallet.
//
// Customers withdraw until the hot wallet falls below its floor, and the
// treasury's status says so (kinko treasury status exits 6). A
// compromised coordinator then tries to send a top-up to its own address,
// and the cold signers refuse it. The honest rebalance tops the hot wallet
// up to the middle of its band, signed by two cold signers that verify for
// themselves that the output is the hot wallet's. Customers' deposits are
// swept to cold, in PSBTs of at most three inputs, skipping a deposit
// worth less than the fee to move it. Last, the coordinator's audit log
// verifies, and a copy of it with one byte changed does not.
//
// With --keep DIR every keystore, the coordinator's data directory, the
// PSBTs and the transactions stay in DIR.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/coordinator/treasury"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
	"github.com/kinko-project/kinko/wallet/bip39"
)

func main() {
	keep := flag.String("keep", "", "keep every keystore, the coordinator's data, the PSBTs and transactions in this directory")
	verbose := flag.Bool("v", false, "show the node's log")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *keep, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "exchange: error: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

// demo holds the exchange's parts.
type demo struct {
	ctx   context.Context
	dir   string
	usb   string
	node  *regtest.Node
	rpc   *chain.Client
	coord *coordinator.Coordinator
	tr    *treasury.Treasury
	cold  []*signer.Keystore
	hot   *signer.Keystore
}

const (
	coldName    = "cold"
	hotName     = "hot"
	depositName = "deposits"
)

func run(ctx context.Context, keep string, verbose bool) (err error) {
	dir := keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kinko-exchange-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	d := &demo{ctx: ctx, dir: dir, usb: filepath.Join(dir, "usb")}
	if err := os.MkdirAll(d.usb, 0o700); err != nil {
		return err
	}

	step("building and starting btcd in regtest on 127.0.0.1 (the first build takes a minute)")
	opts := regtest.Options{}
	if verbose {
		opts.Log = os.Stderr
	}
	if d.node, err = regtest.Start(ctx, opts); err != nil {
		return fmt.Errorf("start btcd: %w", err)
	}
	defer d.node.Stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		d.node.Stop()
	}()
	host, user, pass := d.node.RPC()
	if d.rpc, err = chain.Dial(chain.Config{Host: host, User: user, Pass: pass}); err != nil {
		return err
	}
	defer d.rpc.Close()
	height, err := d.rpc.Height()
	if err != nil {
		return err
	}
	fmt.Printf("    btcd at %s, height %d\n", host, height)
	if d.coord, err = coordinator.Open(filepath.Join(dir, "coordinator")); err != nil {
		return err
	}
	defer func() {
		if d.coord != nil {
			d.coord.Close()
		}
	}()
	if err := d.setUp(height); err != nil {
		return err
	}
	if err := d.withdrawals(); err != nil {
		return err
	}
	if err := d.doctoredTopUp(); err != nil {
		return err
	}
	if err := d.rebalance(); err != nil {
		return err
	}
	if err := d.deposits(); err != nil {
		return err
	}
	if err := d.audit(); err != nil {
		return err
	}
	if keep != "" {
		fmt.Printf("\neverything is kept in %s\n", keep)
	}
	return nil
}

func network() *wallet.Network { return wallet.Regtest }

// newKeystore makes a seed in an encrypted keystore. A real signer uses
// the default scrypt cost; the demo trades it for speed.
func (d *demo) newKeystore(name string) (*signer.Keystore, error) {
	ent, err := bip39.NewEntropy(256)
	if err != nil {
		return nil, err
	}
	words, err := bip39.NewMnemonic(ent, bip39.English)
	if err != nil {
		return nil, err
	}
	return signer.CreateKeystore(filepath.Join(d.dir, name+".keystore"), "demo password "+name, words, "", 15)
}

func keyRecord(ks *signer.Keystore, path wallet.Path) (*wallet.KeyRecord, error) {
	master, err := ks.Master(network())
	if err != nil {
		return nil, err
	}
	defer master.Zero()
	return wallet.NewKeyRecord(master, path)
}

func (d *demo) setUp(height int64) error {
	ctx := d.ctx
	h := func(i uint32) uint32 { return i | wallet.Hardened }

	step("three air-gapped cold signers make their seeds; the coordinator creates the cold 2-of-3")
	var records []*wallet.KeyRecord
	for i := 1; i <= 3; i++ {
		ks, err := d.newKeystore(fmt.Sprintf("cold-signer-%d", i))
		if err != nil {
			return err
		}
		rec, err := keyRecord(ks, wallet.AccountPath(network(), wallet.P2WSH, 0))
		if err != nil {
			return err
		}
		fmt.Printf("    cold signer %d: %s\n", i, rec)
		d.cold = append(d.cold, ks)
		records = append(records, rec)
	}
	coldDesc, err := wallet.NewMultisig(network(), wallet.P2WSH, 2, records)
	if err != nil {
		return err
	}

	step("the HOT side: one kinko-signer running online, holding the hot and deposit wallets' single keys")
	if d.hot, err = d.newKeystore("hot-signer-ONLINE"); err != nil {
		return err
	}
	hotRec, err := keyRecord(d.hot, wallet.Path{h(84), h(1), h(0)})
	if err != nil {
		return err
	}
	depRec, err := keyRecord(d.hot, wallet.Path{h(84), h(1), h(1)})
	if err != nil {
		return err
	}
	hotDesc, err := wallet.ParseDescriptor("wpkh("+hotRec.String()+"/<0;1>/*)", network())
	if err != nil {
		return err
	}
	depDesc, err := wallet.ParseDescriptor("wpkh("+depRec.String()+"/<0;1>/*)", network())
	if err != nil {
		return err
	}

	step("the coordinator watches the three wallets")
	for _, w := range []struct {
		name string
		desc *wallet.Descriptor
	}{{coldName, coldDesc}, {hotName, hotDesc}, {depositName, depDesc}} {
		if err := d.coord.CreateWallet(ctx, w.name, w.desc, height); err != nil {
			return err
		}
		fmt.Printf("    %-8s %s\n", w.name, w.desc)
	}

	step("the cold signers register the hot wallet as a destination, and the cold wallet paying only it (--allow-wallet hot)")
	for i, ks := range d.cold {
		dst, err := ks.PrepareDestination(hotName, hotDesc)
		if err != nil {
			return fmt.Errorf("cold signer %d: %w", i+1, err)
		}
		if err := ks.Register(dst); err != nil {
			return err
		}
		reg, err := ks.PrepareRegistration(coldName, coldDesc, &signer.Policy{AllowWallets: []string{hotName}})
		if err != nil {
			return fmt.Errorf("cold signer %d: %w", i+1, err)
		}
		if err := ks.Register(reg); err != nil {
			return err
		}
		if err := ks.Save(); err != nil {
			return err
		}
		fmt.Printf("    cold signer %d is key %d of %q; pays only %q (first address %s)\n", i+1, reg.OwnPosition, coldName, hotName, dst.FirstAddress)
	}
	step("the hot signer registers the cold wallet as a destination, the hot wallet, and the deposit wallet paying only cold (--allow-wallet cold)")
	dst, err := d.hot.PrepareDestination(coldName, coldDesc)
	if err != nil {
		return err
	}
	if err := d.hot.Register(dst); err != nil {
		return err
	}
	reg, err := d.hot.PrepareRegistration(hotName, hotDesc, nil)
	if err != nil {
		return err
	}
	if err := d.hot.Register(reg); err != nil {
		return err
	}
	if reg, err = d.hot.PrepareRegistration(depositName, depDesc, &signer.Policy{AllowWallets: []string{coldName}}); err != nil {
		return err
	}
	if err := d.hot.Register(reg); err != nil {
		return err
	}
	if err := d.hot.Save(); err != nil {
		return err
	}

	step("kinko treasury set --cold cold --hot hot --deposit deposits --ceiling 2 --floor 0.5")
	ceiling, err := treasury.ParseLimit("2")
	if err != nil {
		return err
	}
	if d.tr, err = treasury.Set(ctx, d.coord, treasury.Config{
		Cold: coldName, Hot: hotName, Deposits: []string{depositName}, Ceiling: ceiling, Floor: 50_000_000,
	}); err != nil {
		return err
	}

	step("funding: 20 BTC to cold, 1 BTC to hot")
	for _, f := range []struct {
		wallet string
		sats   int64
	}{{coldName, 10_00000000}, {coldName, 10_00000000}, {hotName, 1_00000000}} {
		if err := d.fund(f.wallet, f.sats); err != nil {
			return err
		}
	}
	if err := d.mine(); err != nil {
		return err
	}
	return d.status()
}

// fund pays sats from the node's faucet to the wallet's next address.
func (d *demo) fund(name string, sats int64) error {
	addr, idx, err := d.coord.NextAddress(d.ctx, name)
	if err != nil {
		return err
	}
	spk, err := wallet.ScriptFromAddress(addr, network())
	if err != nil {
		return err
	}
	if _, err := d.node.Fund(spk, sats); err != nil {
		return err
	}
	fmt.Printf("    %s to %s receive address %d %s\n", wallet.FormatAmount(sats), name, idx, addr)
	return nil
}

func (d *demo) mine() error {
	if _, err := d.node.Mine(1); err != nil {
		return err
	}
	_, err := d.coord.Sync(d.ctx, d.rpc)
	return err
}

// status prints what "kinko treasury status" prints, and its exit status.
func (d *demo) status() error {
	st, err := d.tr.Status(d.ctx)
	if err != nil {
		return err
	}
	fmt.Println("    $ kinko treasury status")
	if err := st.WriteText(indented(os.Stdout)); err != nil {
		return err
	}
	code := 0
	if !st.InBand() {
		code = 6
	}
	fmt.Printf("    (exit status %d)\n", code)
	return nil
}

// sign has ks review and sign the session's PSBT read from the USB stick,
// and writes its answer there.
func (d *demo) sign(who string, ks *signer.Keystore, s *coordinator.Session) (string, error) {
	in := filepath.Join(d.usb, s.ID+".psbt")
	if _, err := os.Stat(in); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(in, s.PSBT, 0o644); err != nil {
			return "", err
		}
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		return "", err
	}
	p, err := psbt.Parse(raw)
	if err != nil {
		return "", err
	}
	signed, _, err := ks.Sign(p, signer.Options{}, func(r *signer.Review) error {
		r.Format(indented(os.Stdout))
		return nil // the demo approves; kinko-signer asks on the terminal
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", who, err)
	}
	if err := ks.Save(); err != nil {
		return "", err
	}
	blob, err := signed.Serialize()
	if err != nil {
		return "", err
	}
	out := filepath.Join(d.usb, fmt.Sprintf("%s-signed-by-%s.psbt", s.ID, who))
	if err := os.WriteFile(out, blob, 0o644); err != nil {
		return "", err
	}
	fmt.Printf("    %s signed: %s\n", who, filepath.Base(out))
	return out, nil
}

// finish imports the signed files, finalizes, broadcasts, mines and syncs.
func (d *demo) finish(s *coordinator.Session, files ...string) error {
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := d.coord.Import(d.ctx, s.ID, raw); err != nil {
			return err
		}
	}
	final, err := d.coord.Finalize(d.ctx, s.ID, d.rpc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.usb, s.ID+".tx.hex"), []byte(fmt.Sprintf("%x\n", final.FinalTx)), 0o644); err != nil {
		return err
	}
	txid, err := d.coord.Broadcast(d.ctx, s.ID, d.rpc)
	if err != nil {
		return err
	}
	fmt.Printf("    session %s broadcast: %s\n", s.ID, txid)
	return d.mine()
}

func (d *demo) tip() (uint32, error) {
	h, err := d.rpc.Height()
	return uint32(h), err
}

func (d *demo) withdrawals() error {
	step("customers withdraw 0.2 BTC three times; the hot signer pays them in one batch")
	var pays []coordinator.Payment
	for i := 0; i < 3; i++ {
		addr, err := outsideAddress()
		if err != nil {
			return err
		}
		pays = append(pays, coordinator.Payment{Address: addr, Amount: 20_000_000})
	}
	tip, err := d.tip()
	if err != nil {
		return err
	}
	s, err := d.coord.Spend(d.ctx, hotName, coordinator.SpendRequest{Payments: pays, FeeRate: 2, LockTime: tip})
	if err != nil {
		return err
	}
	f, err := d.sign("hot-signer", d.hot, s)
	if err != nil {
		return err
	}
	if err := d.finish(s, f); err != nil {
		return err
	}
	return d.status()
}

// doctoredTopUp is the Bybit and DMM attack: a compromised coordinator
// shows the cold signers a "top-up" that pays its own address.
func (d *demo) doctoredTopUp() error {
	step("a compromised coordinator builds a \"top-up\" paying its own address; the cold signer refuses it")
	thief, err := outsideAddress()
	if err != nil {
		return err
	}
	tip, err := d.tip()
	if err != nil {
		return err
	}
	s, err := d.coord.Spend(d.ctx, coldName, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: thief, Amount: 85_000_000}}, FeeRate: 2, LockTime: tip,
	})
	if err != nil {
		return err
	}
	_, err = d.sign("cold-signer-1", d.cold[0], s)
	if err == nil {
		return errors.New("the cold signer signed a payment to an address outside its allowed wallets")
	}
	fmt.Printf("    refused, nothing signed: %v\n", err)
	return d.coord.Cancel(d.ctx, s.ID)
}

func (d *demo) rebalance() error {
	step("kinko treasury rebalance: a top-up from cold to the middle of the hot wallet's band")
	tip, err := d.tip()
	if err != nil {
		return err
	}
	p, _, err := d.tr.Rebalance(d.ctx, 2, tip)
	if err != nil {
		return err
	}
	fmt.Printf("    %s of %s from %q to %q receive address %d %s: session %s\n",
		p.Direction, wallet.FormatAmount(p.Amount), p.From, p.To, p.Index, p.Address, p.Session.ID)
	var files []string
	for _, i := range []int{1, 3} {
		f, err := d.sign(fmt.Sprintf("cold-signer-%d", i), d.cold[i-1], p.Session)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	if err := d.finish(p.Session, files...); err != nil {
		return err
	}
	return d.status()
}

func (d *demo) deposits() error {
	step("customers deposit to deposit addresses (one deposit of 1,000 sat is worth less than moving it)")
	for _, sats := range []int64{30_000_000, 15_000_000, 5_000_000, 2_000_000, 1_000} {
		if err := d.fund(depositName, sats); err != nil {
			return err
		}
	}
	if err := d.mine(); err != nil {
		return err
	}
	step("kinko sweep deposits --to cold --feerate 20 --max-inputs 3")
	tip, err := d.tip()
	if err != nil {
		return err
	}
	plan, sessions, err := treasury.Sweep(d.ctx, d.coord, depositName, coldName, treasury.SweepParams{FeeRate: 20, MaxInputs: 3}, tip)
	if err != nil {
		return err
	}
	fmt.Printf("    %d PSBTs sweeping %s; skipped %d coins worth %s\n", len(sessions), wallet.FormatAmount(plan.Value), plan.Skipped, wallet.FormatAmount(plan.SkippedValue))
	for _, s := range sessions {
		f, err := d.sign("hot-signer", d.hot, s)
		if err != nil {
			return err
		}
		if err := d.finish(s, f); err != nil {
			return err
		}
	}
	return d.status()
}

func (d *demo) audit() error {
	step("kinko audit verify: every action above is in the hash-chained log")
	head, err := d.coord.VerifyAudit(d.ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("    the chain holds; head %s\n", head)

	step("the hot signer's own signing history is chained too")
	hh, err := d.hot.History().Verify()
	if err != nil {
		return err
	}
	fmt.Printf("    %d signings; head %s\n", len(d.hot.History()), hh)

	step("one byte of a copy of the log is changed: kinko audit verify exits 3 and names the entry")
	if err := d.coord.Close(); err != nil {
		return err
	}
	d.coord = nil
	src := filepath.Join(d.dir, "coordinator", coordinator.DBName)
	copyDir := filepath.Join(d.dir, "tampered-copy")
	if err := os.MkdirAll(copyDir, 0o700); err != nil {
		return err
	}
	if err := copyFile(src, filepath.Join(copyDir, coordinator.DBName)); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(copyDir, coordinator.DBName))
	if err != nil {
		return err
	}
	// Raise one amount's first digit by one, as an insider hiding a
	// withdrawal might: one byte of one entry. The table's triggers refuse
	// updates; someone with the file drops them first.
	var seq int64
	var detail string
	err = dropTriggers(db, "audit_log")
	if err == nil {
		err = db.QueryRow(`SELECT seq, detail FROM audit_log WHERE kind = 'session-opened' ORDER BY seq LIMIT 1`).Scan(&seq, &detail)
	}
	if err == nil {
		i := strings.IndexAny(detail, "123456789")
		b := []byte(detail)
		b[i]++
		_, err = db.Exec(`UPDATE audit_log SET detail = ? WHERE seq = ?`, string(b), seq)
	}
	db.Close()
	if err != nil {
		return err
	}
	tampered, err := coordinator.Open(copyDir)
	if err != nil {
		return err
	}
	defer tampered.Close()
	if _, err := tampered.VerifyAudit(d.ctx, nil); err == nil {
		return errors.New("the edited log verified")
	} else {
		fmt.Printf("    kinko: error: %v\n    (exit status 3)\n", err)
	}
	return nil
}

// dropTriggers drops every trigger on table.
func dropTriggers(db *sql.DB, table string) error {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`, table)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// outsideAddress makes a P2WPKH address nobody in the demo holds: a
// customer's.
func outsideAddress() (string, error) {
	spk := make([]byte, 22)
	spk[0], spk[1] = 0x00, 0x14
	if _, err := rand.Read(spk[2:]); err != nil {
		return "", err
	}
	return wallet.AddressFromScript(spk, network())
}

// indent prefixes every line written through it, however the writes
// split the lines.
type indent struct {
	w   io.Writer
	mid *bool // within a line
}

func indented(w io.Writer) indent { return indent{w: w, mid: new(bool)} }

func (i indent) Write(p []byte) (n int, err error) {
	for len(p) > 0 {
		if !*i.mid {
			if _, err := io.WriteString(i.w, "    | "); err != nil {
				return n, err
			}
			*i.mid = true
		}
		line := p
		if k := bytes.IndexByte(p, '\n'); k >= 0 {
			line = p[:k+1]
			*i.mid = false
		}
		if _, err := i.w.Write(line); err != nil {
			return n, err
		}
		n += len(line)
		p = p[len(line):]
	}
	return n, nil
}
