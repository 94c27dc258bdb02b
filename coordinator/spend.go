package coordinator

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Payment is one output of a spend.
type Payment struct {
	Address string
	Amount  int64 // satoshis
	// Label, if not empty, is kept as the output's label (BIP-329).
	Label string
}

// SpendRequest describes a spend from a wallet.
type SpendRequest struct {
	Payments []Payment
	// FeeRate in sat/vB, as the operator saw and chose it.
	FeeRate float64
	// LockTime is the transaction's nLockTime; the caller sets the tip
	// height to discourage fee sniping.
	LockTime uint32
	// MinConf is how many confirmations a coin needs to be spent; 0
	// means 1.
	MinConf int64
	// Coins, when not empty, are the only coins the spend may use (coin
	// control). Each must be the wallet's, confirmed, unspent and not
	// reserved, or the spend is refused naming it.
	Coins []psbt.OutPoint
	// Exclude are coins the spend must not use (coin control); each must
	// be a coin of the wallet. Frozen coins are never used.
	Exclude []psbt.OutPoint
	// Cap bounds the fee; the zero value is the default cap.
	Cap FeeCap
	// SweepTo, when set, is paid everything Coins hold less the fee, with
	// no change output; Payments must then be empty.
	SweepTo string
}

// DustLimit is the smallest change output kept; less goes to the fee.
// (A payment may be smaller, down to its output type's dust threshold,
// wallet.DustThreshold.)
const DustLimit = 1000

// The coordinator's fee cap, the same as the signer's defaults
// (signer.DefaultMaxFee, signer.DefaultMaxFeeRate): a PSBT the signers
// would refuse is not built.
const (
	DefaultMaxFee     = 5_000_000 // sat: 0.05 BTC
	DefaultMaxFeeRate = 1000      // sat/vB
)

// ErrFeeCap means a PSBT's fee would be above the fee cap.
var ErrFeeCap = errors.New("fee above the cap")

// FeeCap bounds the fee of a PSBT the coordinator builds. A zero field
// means its default (DefaultMaxFee, DefaultMaxFeeRate).
type FeeCap struct {
	Fee  int64   // sat
	Rate float64 // sat/vB
}

// check refuses fee over vsize above the cap.
func (fc FeeCap) check(fee int64, vsize int) error {
	maxFee, maxRate := fc.Fee, fc.Rate
	if maxFee <= 0 {
		maxFee = DefaultMaxFee
	}
	if !(maxRate > 0) {
		maxRate = DefaultMaxFeeRate
	}
	if fee > maxFee {
		return fmt.Errorf("%w: the fee would be %s, above the cap of %s", ErrFeeCap, wallet.FormatAmount(fee), wallet.FormatAmount(maxFee))
	}
	if rate := float64(fee) / float64(max(vsize, 1)); rate > maxRate {
		return fmt.Errorf("%w: the fee rate would be %.1f sat/vB, above the cap of %g sat/vB", ErrFeeCap, rate, maxRate)
	}
	return nil
}

// MaxFeeRate is the highest fee rate a spend may be built with.
const MaxFeeRate = 5000

// MaxHeight is the highest block height kinko takes as a birthday: nodes
// answer heights as 32-bit numbers.
const MaxHeight = 1<<31 - 1

// Spend builds an unsigned PSBT paying req from wallet name, opens a
// signing session for it, and reserves the coins it spends so that no
// other session picks them. The PSBT carries everything an independent
// signer needs: the previous transactions and witness UTXOs, scripts,
// every cosigner's BIP-32 derivation on inputs and change, and the
// wallet's xpubs.
func (c *Coordinator) Spend(ctx context.Context, name string, req SpendRequest) (*Session, error) {
	w, err := c.Wallet(ctx, name)
	if err != nil {
		return nil, err
	}
	d := w.Descriptor
	net := d.Network()
	switch {
	case req.SweepTo != "" && len(req.Payments) > 0:
		return nil, fmt.Errorf("a sweep pays one address: give payments or a sweep address, not both")
	case req.SweepTo != "" && len(req.Coins) == 0:
		return nil, fmt.Errorf("a sweep needs the coins it sweeps")
	case req.SweepTo == "" && len(req.Payments) == 0:
		return nil, fmt.Errorf("no payment given")
	}
	// Written so that NaN fails: NaN < 1 and NaN > MaxFeeRate are both false.
	if !(req.FeeRate >= 1 && req.FeeRate <= MaxFeeRate) {
		return nil, fmt.Errorf("fee rate %.2f sat/vB is outside 1..%d", req.FeeRate, MaxFeeRate)
	}
	minConf := req.MinConf
	if minConf <= 0 {
		minConf = 1
	}
	tx := &psbt.Tx{Version: 2, LockTime: req.LockTime}
	var target int64
	for k, p := range req.Payments {
		spk, err := wallet.ScriptFromAddress(p.Address, net)
		if err != nil {
			return nil, fmt.Errorf("payment %d: %w", k+1, err)
		}
		if d := wallet.DustThreshold(spk); p.Amount < d {
			return nil, fmt.Errorf("payment %d: amount %d sat is below the dust limit of %d sat for a %s output", k+1, p.Amount, d, wallet.OutputType(spk))
		}
		target += p.Amount
		if target > 21_000_000*100_000_000 {
			return nil, fmt.Errorf("payments add up to more than 21 million BTC")
		}
		tx.Outputs = append(tx.Outputs, &psbt.TxOut{Value: p.Amount, PkScript: spk})
	}
	var sweepScript []byte
	if req.SweepTo != "" {
		if sweepScript, err = wallet.ScriptFromAddress(req.SweepTo, net); err != nil {
			return nil, fmt.Errorf("sweep address: %w", err)
		}
	}
	var sess *Session
	err = c.tx(ctx, func(t *sql.Tx) error {
		var scanned int64
		if err := t.QueryRow(`SELECT scanned FROM wallets WHERE name = ?`, name).Scan(&scanned); err != nil {
			return err
		}
		coins, err := spendable(t, name, scanned-minConf+1)
		if err != nil {
			return err
		}
		if len(req.Coins) > 0 {
			if coins, err = onlyCoins(coins, req.Coins, name); err != nil {
				return err
			}
		}
		if len(req.Exclude) > 0 {
			if coins, err = excludeCoins(t, coins, req.Exclude, name); err != nil {
				return err
			}
		}
		var sel *Selection
		changeIdx := uint32(0)
		changePos := -1
		if sweepScript != nil {
			tx.Outputs = []*psbt.TxOut{{PkScript: sweepScript}}
			if sel, err = sweepAll(coins, tx, d, req.FeeRate); err != nil {
				return err
			}
			tx.Outputs[0].Value = sel.Change
			sel.Change = 0
		} else {
			if changeIdx, err = nextChange(t, name, d); err != nil {
				return err
			}
			changeDer, err := d.Derive(true, changeIdx)
			if err != nil {
				return err
			}
			params := SelectParams{
				Target: target, FeeRate: req.FeeRate,
				BaseWeight:  BaseWeight(tx, d),
				InputWeight: d.MaxInputWeight(),
				ChangeOut:   wallet.OutputWeight(changeDer.ScriptPubKey),
				Dust:        DustLimit,
			}
			if sel, err = SelectCoins(coins, params); err != nil {
				return err
			}
		}
		if sel.Change > 0 {
			changeDer, err := d.Derive(true, changeIdx)
			if err != nil {
				return err
			}
			changePos = randInt(len(tx.Outputs) + 1)
			out := &psbt.TxOut{Value: sel.Change, PkScript: changeDer.ScriptPubKey}
			tx.Outputs = append(tx.Outputs[:changePos], append([]*psbt.TxOut{out}, tx.Outputs[changePos:]...)...)
			if _, err := t.Exec(`UPDATE scripts SET used = 1 WHERE wallet = ? AND change = 1 AND idx = ?`, name, changeIdx); err != nil {
				return err
			}
		}
		if err := req.Cap.check(sel.Fee, (sel.Weight+3)/4); err != nil {
			return err
		}
		funded := make([]FundedCoin, len(sel.Coins))
		for k, coin := range sel.Coins {
			var raw []byte
			if err := t.QueryRow(`SELECT raw FROM txs WHERE txid = ?`, coin.OutPoint.Hash.String()).Scan(&raw); err != nil {
				return fmt.Errorf("previous transaction %s: %w", coin.OutPoint.Hash, err)
			}
			prev, err := psbt.ParseTx(raw)
			if err != nil {
				return fmt.Errorf("previous transaction %s: %w", coin.OutPoint.Hash, err)
			}
			funded[k] = FundedCoin{Coin: coin, Prev: prev}
		}
		p, err := BuildPSBT(d, funded, tx.Outputs, changePos, changeIdx, tx.LockTime)
		if err != nil {
			return err
		}
		if err := describeKnownOutputs(t, p, changePos); err != nil {
			return err
		}
		tx = p.UnsignedTx
		blob, err := p.Serialize()
		if err != nil {
			return err
		}
		id := newSessionID()
		for _, coin := range sel.Coins {
			res, err := t.Exec(`UPDATE utxos SET session = ? WHERE txid = ? AND vout = ? AND session IS NULL`, id, coin.OutPoint.Hash.String(), coin.OutPoint.Index)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("%s: %w", coin.OutPoint, ErrCoinsReserved)
			}
		}
		vsize := (sel.Weight + 3) / 4
		ts := now()
		if err := labelPayments(t, name, req.Payments); err != nil {
			return err
		}
		why := sel.Why
		if sweepScript != nil {
			why = fmt.Sprintf("sweep: all %d coins named, no change", len(sel.Coins))
		}
		if _, err := t.Exec(`INSERT INTO sessions (id, wallet, created, state, txid, psbt, fee, vsize, updated, selection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, name, ts, StateOpen, tx.TxID().String(), blob, sel.Fee, vsize, ts, why); err != nil {
			return err
		}
		sess = &Session{ID: id, Wallet: name, State: StateOpen, TxID: tx.TxID().String(), PSBT: blob, Fee: sel.Fee, VSize: vsize, Created: ts, Selection: why}
		return auditSessionOpened(ctx, t, sess, net)
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// SpendBatch is Spend for a batch of payments split into sessions of at
// most maxOutputs payments each (0: one session), in the order given.
// Either every session is opened or none is: if one cannot be, those
// opened before it are cancelled, releasing their coins.
func (c *Coordinator) SpendBatch(ctx context.Context, name string, req SpendRequest, maxOutputs int) ([]*Session, error) {
	if maxOutputs < 0 {
		return nil, fmt.Errorf("at most %d outputs per session: want a positive number", maxOutputs)
	}
	if maxOutputs == 0 || maxOutputs >= len(req.Payments) {
		s, err := c.Spend(ctx, name, req)
		if err != nil {
			return nil, err
		}
		return []*Session{s}, nil
	}
	if req.SweepTo != "" {
		return nil, fmt.Errorf("a sweep is one session: it cannot be split")
	}
	var out []*Session
	for i := 0; i < len(req.Payments); i += maxOutputs {
		part := req
		part.Payments = req.Payments[i:min(i+maxOutputs, len(req.Payments))]
		s, err := c.Spend(ctx, name, part)
		if err != nil {
			for _, o := range out {
				if cerr := c.Cancel(ctx, o.ID); cerr != nil {
					err = errors.Join(err, fmt.Errorf("cancel session %s: %w", o.ID, cerr))
				}
			}
			return nil, fmt.Errorf("session %d of %d: %w", len(out)+1, (len(req.Payments)+maxOutputs-1)/maxOutputs, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// onlyCoins keeps the coins named in want, refusing one that is not among
// the wallet's spendable coins.
func onlyCoins(coins []Coin, want []psbt.OutPoint, wallet string) ([]Coin, error) {
	have := make(map[psbt.OutPoint]Coin, len(coins))
	for _, c := range coins {
		have[c.OutPoint] = c
	}
	out := make([]Coin, 0, len(want))
	seen := make(map[psbt.OutPoint]bool, len(want))
	for _, op := range want {
		c, ok := have[op]
		if !ok {
			return nil, fmt.Errorf("coin %s is not a confirmed, unspent, unreserved, unfrozen coin of wallet %q: %w", op, wallet, ErrNoCoin)
		}
		if seen[op] {
			return nil, fmt.Errorf("coin %s is named twice", op)
		}
		seen[op] = true
		out = append(out, c)
	}
	return out, nil
}

// sweepAll spends every coin to tx's one output, less the fee at rate;
// the amount the output gets is returned as the selection's Change.
func sweepAll(coins []Coin, tx *psbt.Tx, d *wallet.Descriptor, rate float64) (*Selection, error) {
	if !(rate >= 1 && rate <= MaxFeeRate) {
		return nil, fmt.Errorf("fee rate %v sat/vB is outside 1..%d", rate, MaxFeeRate)
	}
	var sum int64
	for _, c := range coins {
		sum += c.Value
	}
	w := BaseWeight(tx, d) + len(coins)*d.MaxInputWeight()
	fee := FeeFor(w, rate)
	if sum-fee < DustLimit {
		return nil, fmt.Errorf("%w: %d coins hold %d sat, the fee at %.1f sat/vB is %d sat", ErrInsufficient, len(coins), sum, rate, fee)
	}
	return &Selection{Coins: coins, Change: sum - fee, Fee: fee, Weight: w}, nil
}

// describeKnownOutputs gives every output that pays another wallet of this
// store (the hot wallet of a top-up, the cold wallet of a sweep) its
// scripts and BIP-32 derivations, so that a signer that registered that
// wallet as a destination can re-derive the output and show it as that
// wallet's rather than as an unknown address.
func describeKnownOutputs(t *sql.Tx, p *psbt.Packet, changePos int) error {
	descs := map[string]*wallet.Descriptor{}
	for k, out := range p.UnsignedTx.Outputs {
		if k == changePos {
			continue
		}
		var name string
		var change bool
		var idx uint32
		err := t.QueryRow(`SELECT wallet, change, idx FROM scripts WHERE script = ?`, out.PkScript).Scan(&name, &change, &idx)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		d := descs[name]
		if d == nil {
			w, err := loadWallet(t.QueryRow(`SELECT name, descriptor, network, birthday, scanned, next_receive FROM wallets WHERE name = ?`, name), name)
			if err != nil {
				return err
			}
			d = w.Descriptor
			descs[name] = d
		}
		der, err := d.Derive(change, idx)
		if err != nil {
			return err
		}
		if string(der.ScriptPubKey) != string(out.PkScript) {
			return fmt.Errorf("output %d: wallet %q does not derive it at its stored index", k, name)
		}
		fillOutput(&p.Outputs[k], der)
	}
	return nil
}

// BaseWeight is the weight of tx without inputs: version, locktime, the
// input and output counts, segwit marker and flag, and the outputs.
func BaseWeight(tx *psbt.Tx, d *wallet.Descriptor) int {
	w := 4 * (4 + 4 + 3 + 3) // version, locktime, generous counts
	if d.ScriptType() != wallet.P2SH {
		w += 2
	}
	for _, out := range tx.Outputs {
		w += wallet.OutputWeight(out.PkScript)
	}
	return w
}

// spendable loads the wallet's unspent, unreserved, unfrozen coins
// confirmed at or below maxHeight.
func spendable(t *sql.Tx, name string, maxHeight int64) ([]Coin, error) {
	rows, err := t.Query(`SELECT txid, vout, value, change, idx, height FROM utxos
		WHERE wallet = ? AND spent_height IS NULL AND session IS NULL AND height > 0 AND height <= ?
		AND NOT EXISTS (SELECT 1 FROM frozen f WHERE f.txid = utxos.txid AND f.vout = utxos.vout)`, name, maxHeight)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var coins []Coin
	for rows.Next() {
		var c Coin
		var txid string
		if err := rows.Scan(&txid, &c.OutPoint.Index, &c.Value, &c.Change, &c.Index, &c.Height); err != nil {
			return nil, err
		}
		h, err := psbt.ParseHash(txid)
		if err != nil {
			return nil, err
		}
		c.OutPoint.Hash = h
		coins = append(coins, c)
	}
	return coins, rows.Err()
}

// nextChange returns the first change index never used nor reserved.
func nextChange(t *sql.Tx, name string, d *wallet.Descriptor) (uint32, error) {
	var idx sql.NullInt64
	if err := t.QueryRow(`SELECT min(idx) FROM scripts WHERE wallet = ? AND change = 1 AND used = 0`, name).Scan(&idx); err != nil {
		return 0, err
	}
	if idx.Valid {
		i := uint32(idx.Int64)
		return i, extendScripts(t, name, d, true, i+GapLimit)
	}
	var max int64
	if err := t.QueryRow(`SELECT coalesce(max(idx), -1) FROM scripts WHERE wallet = ? AND change = 1`, name).Scan(&max); err != nil {
		return 0, err
	}
	i := uint32(max + 1)
	return i, extendScripts(t, name, d, true, i+GapLimit)
}

// FundedCoin is a coin of a wallet with the transaction that created it.
type FundedCoin struct {
	Coin
	Prev *psbt.Tx
}

// BuildPSBT makes the unsigned PSBT spending coins of wallet d to outs
// (version 2, RBF sequences). When changePos is not -1, outs[changePos]
// is the wallet's change output at changeIndex. Every input carries its
// previous transaction, its witness UTXO when segwit, its scripts (none
// for wpkh, the redeem script for sh(wpkh)) and every cosigner's BIP-32
// derivation (the one key's for a single-key wallet); the change output
// carries its scripts and derivations; the wallet's xpubs go in the
// global map. For a tr() wallet an input carries no previous transaction
// (a coin's Prev may be nil): its witness UTXO, internal key, merkle root,
// leaf scripts with control blocks and taproot derivations (BIP-371);
// the change output its internal key, tree and derivations.
func BuildPSBT(d *wallet.Descriptor, coins []FundedCoin, outs []*psbt.TxOut, changePos int, changeIndex uint32, lockTime uint32) (*psbt.Packet, error) {
	tx := &psbt.Tx{Version: 2, LockTime: lockTime}
	taproot := d.ScriptType() == wallet.P2TR
	for _, c := range coins {
		if taproot && c.Prev == nil {
			// A taproot signature commits to every input's amount: the
			// witness_utxo serves, no previous transaction is needed.
			tx.Inputs = append(tx.Inputs, &psbt.TxIn{PrevOut: c.OutPoint, Sequence: 0xfffffffd})
			continue
		}
		if c.Prev == nil || c.Prev.TxID() != c.OutPoint.Hash || int(c.OutPoint.Index) >= len(c.Prev.Outputs) {
			return nil, fmt.Errorf("coin %s: previous transaction missing or wrong", c.OutPoint)
		}
		tx.Inputs = append(tx.Inputs, &psbt.TxIn{PrevOut: c.OutPoint, Sequence: 0xfffffffd})
	}
	for _, o := range outs {
		tx.Outputs = append(tx.Outputs, &psbt.TxOut{Value: o.Value, PkScript: o.PkScript})
	}
	p, err := psbt.New(tx)
	if err != nil {
		return nil, err
	}
	for k, c := range coins {
		der, err := d.Derive(c.Change, c.Index)
		if err != nil {
			return nil, err
		}
		in := &p.Inputs[k]
		if taproot {
			out := &psbt.TxOut{Value: c.Value, PkScript: der.ScriptPubKey}
			if c.Prev != nil {
				out = c.Prev.Outputs[c.OutPoint.Index]
			}
			if string(out.PkScript) != string(der.ScriptPubKey) {
				return nil, fmt.Errorf("coin %s: not the wallet's script at its index", c.OutPoint)
			}
			in.WitnessUTXO = &psbt.TxOut{Value: out.Value, PkScript: out.PkScript}
			fillTaprootInput(in, der)
			continue
		}
		out := c.Prev.Outputs[c.OutPoint.Index]
		if string(out.PkScript) != string(der.ScriptPubKey) {
			return nil, fmt.Errorf("coin %s: not the wallet's script at its index", c.OutPoint)
		}
		// The previous transaction proves the coin's amount by its txid,
		// which does not cover its witness: that is left out, often
		// half its bytes and all of them random, so that the PSBT takes
		// fewer QR frames.
		in.NonWitnessUTXO = c.Prev.WithoutWitness()
		if d.ScriptType() != wallet.P2SH {
			in.WitnessUTXO = &psbt.TxOut{Value: out.Value, PkScript: out.PkScript}
		}
		in.WitnessScript = der.WitnessScript
		in.RedeemScript = der.RedeemScript
		in.Bip32Derivation = derivations(der)
	}
	if changePos >= 0 {
		der, err := d.Derive(true, changeIndex)
		if err != nil {
			return nil, err
		}
		if string(tx.Outputs[changePos].PkScript) != string(der.ScriptPubKey) {
			return nil, fmt.Errorf("output %d is not the wallet's change script at index %d", changePos, changeIndex)
		}
		fillOutput(&p.Outputs[changePos], der)
	}
	for _, key := range d.Keys() {
		raw := key.Key.Serialize()
		p.XPubs = append(p.XPubs, psbt.XPub{ExtendedKey: raw[:], Fingerprint: key.Origin.Fingerprint, Path: key.Origin.Path})
	}
	return p, nil
}

func fillOutput(out *psbt.Output, der *wallet.Derived) {
	if der.Taproot != nil {
		fillTaprootOutput(out, der)
		return
	}
	out.WitnessScript = der.WitnessScript
	out.RedeemScript = der.RedeemScript
	out.Bip32Derivation = derivations(der)
}

func derivations(der *wallet.Derived) []psbt.Bip32Derivation {
	var ds []psbt.Bip32Derivation
	for _, k := range der.Keys {
		ds = append(ds, psbt.Bip32Derivation{PubKey: k.PubKey, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
	}
	return ds
}

func newSessionID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err)
	}
	return int(v.Int64())
}
