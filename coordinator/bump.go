package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/kinko-project/kinko/coordinator/audit"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Fee bumping, after the rules of BIP-125 and Bitcoin Core's feebumper:
// a replacement (Bump) spends the same coins as the transaction it
// replaces, pays the same payments, and takes the higher fee from the
// change; a child (CPFP) spends a broadcast transaction's unconfirmed
// change back to the wallet with a fee that lifts both to the rate asked.
// Each is a new session, signed like any other.

// IncrementalRelayFee is how much, in sat/vB, a replacement must pay over
// the transaction it replaces, both in rate and, over its own size, in
// absolute fee: Bitcoin Core's default -incrementalrelayfee (1,000
// sat/kvB), which is also btcd's minimum relay fee.
const IncrementalRelayFee = 1

// ErrBumpTooLow means a fee bump's rate would not replace the
// transaction.
var ErrBumpTooLow = errors.New("fee rate too low to replace the transaction")

// vsizeOf is a transaction's virtual size.
func vsizeOf(tx *psbt.Tx) int {
	weight := 3*len(tx.BytesNoWitness()) + len(tx.Bytes())
	return (weight + 3) / 4
}

// feeState describes a broadcast session's transaction as a fee bump
// sees it.
type feeState struct {
	Fee   int64
	VSize int     // of the transaction broadcast
	Rate  float64 // Fee / VSize
	// MinRate is the lowest rate a replacement may have: Rate plus
	// IncrementalRelayFee.
	MinRate float64
}

func bumpInfo(s *Session) (*feeState, *psbt.Tx, error) {
	if s.State != StateBroadcast || len(s.FinalTx) == 0 {
		return nil, nil, fmt.Errorf("session %s is %s: only a broadcast transaction is bumped: %w", s.ID, s.State, ErrSessionState)
	}
	final, err := psbt.ParseTx(s.FinalTx)
	if err != nil {
		return nil, nil, err
	}
	bi := &feeState{Fee: s.Fee, VSize: vsizeOf(final)}
	bi.Rate = float64(bi.Fee) / float64(bi.VSize)
	bi.MinRate = bi.Rate + IncrementalRelayFee
	return bi, final, nil
}

// Bump opens a session for a replacement of broadcast session id's
// transaction at rate sat/vB (BIP-125): the same inputs and payments,
// the higher fee taken from the change (which is dropped if what is left
// would be dust); only when there is no change to take it from are the
// wallet's spendable coins added, largest first, with a change output for
// the rest. The rate must be at least the old transaction's plus
// IncrementalRelayFee (ErrBumpTooLow otherwise), and the absolute fee is
// at least the old one plus IncrementalRelayFee per vbyte of the
// replacement. The coins stay reserved by the old session until one of
// the two confirms; the sync then marks the other replaced.
func (c *Coordinator) Bump(ctx context.Context, id string, rate float64, fc FeeCap) (*Session, error) {
	old, err := c.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	bi, _, err := bumpInfo(old)
	if err != nil {
		return nil, err
	}
	if !(rate >= bi.MinRate-1e-9) {
		return nil, fmt.Errorf("%w: it pays %.2f sat/vB, a replacement needs at least %.2f (plus %d sat/vB, BIP-125)", ErrBumpTooLow, bi.Rate, bi.MinRate, IncrementalRelayFee)
	}
	if !(rate <= MaxFeeRate) {
		return nil, fmt.Errorf("fee rate %.2f sat/vB is outside 1..%d", rate, MaxFeeRate)
	}
	w, err := c.Wallet(ctx, old.Wallet)
	if err != nil {
		return nil, err
	}
	d := w.Descriptor
	p, err := psbt.Parse(old.PSBT)
	if err != nil {
		return nil, err
	}
	var sess *Session
	err = c.tx(ctx, func(t *sql.Tx) error {
		var other string
		err := t.QueryRow(`SELECT id FROM sessions WHERE replaces = ? AND state IN (?, ?, ?)`, id, StateOpen, StateFinalized, StateBroadcast).Scan(&other)
		if err == nil {
			return fmt.Errorf("session %s already replaces %s: bump that one, or cancel it: %w", other, id, ErrSessionState)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The same inputs, each still unconfirmed-spent.
		var funded []FundedCoin
		var sumIn int64
		for k, in := range p.UnsignedTx.Inputs {
			var coin Coin
			var spentHeight sql.NullInt64
			err := t.QueryRow(`SELECT value, change, idx, height, spent_height FROM utxos WHERE txid = ? AND vout = ? AND wallet = ?`,
				in.PrevOut.Hash.String(), in.PrevOut.Index, old.Wallet).Scan(&coin.Value, &coin.Change, &coin.Index, &coin.Height, &spentHeight)
			if err != nil {
				return fmt.Errorf("input %s: %w", in.PrevOut, err)
			}
			if spentHeight.Valid && spentHeight.Int64 > 0 {
				return fmt.Errorf("session %s's input %s is spent in block %d: nothing to bump: %w", id, in.PrevOut, spentHeight.Int64, ErrSessionState)
			}
			coin.OutPoint = in.PrevOut
			funded = append(funded, FundedCoin{Coin: coin, Prev: p.Inputs[k].NonWitnessUTXO})
			sumIn += coin.Value
		}
		// The same payments; the change found by its script.
		var outs []*psbt.TxOut
		var sumPay int64
		changePos, changeIdx := -1, uint32(0)
		for _, out := range p.UnsignedTx.Outputs {
			var idx uint32
			err := t.QueryRow(`SELECT idx FROM scripts WHERE wallet = ? AND change = 1 AND script = ?`, old.Wallet, out.PkScript).Scan(&idx)
			if err == nil && changePos < 0 {
				changePos, changeIdx = len(outs), idx
			} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			} else {
				sumPay += out.Value
			}
			outs = append(outs, &psbt.TxOut{Value: out.Value, PkScript: out.PkScript})
		}
		inW := d.MaxInputWeight()
		feeAt := func(weight int) int64 {
			vsize := (weight + 3) / 4
			return max(FeeFor(weight, rate), bi.Fee+int64(math.Ceil(IncrementalRelayFee*float64(vsize))))
		}
		var added []Coin
		note := ""
		if changePos >= 0 {
			changeW := wallet.OutputWeight(outs[changePos].PkScript)
			withChange := BaseWeight(&psbt.Tx{Outputs: outs}, d) + len(funded)*inW
			if ch := sumIn - sumPay - feeAt(withChange); ch >= DustLimit {
				outs[changePos].Value = ch
				note = "the change pays the higher fee"
			} else if sumIn-sumPay >= feeAt(withChange-changeW) {
				outs = append(outs[:changePos], outs[changePos+1:]...)
				changePos = -1
				note = "the change was too small for the higher fee: dropped, the rest goes to the fee"
			} else {
				outs = append(outs[:changePos], outs[changePos+1:]...)
				changePos = -1
			}
		}
		if note == "" {
			// No change to take the fee from: add coins, largest first,
			// and a change output for what they leave over.
			var scanned int64
			if err := t.QueryRow(`SELECT scanned FROM wallets WHERE name = ?`, old.Wallet).Scan(&scanned); err != nil {
				return err
			}
			coins, err := spendable(t, old.Wallet, scanned)
			if err != nil {
				return err
			}
			sort.Slice(coins, func(i, j int) bool { return coins[i].Value > coins[j].Value })
			if changeIdx, err = nextChange(t, old.Wallet, d); err != nil {
				return err
			}
			der, err := d.Derive(true, changeIdx)
			if err != nil {
				return err
			}
			changeOut := &psbt.TxOut{PkScript: der.ScriptPubKey}
			base := BaseWeight(&psbt.Tx{Outputs: append(append([]*psbt.TxOut{}, outs...), changeOut)}, d)
			ok := false
			for _, coin := range coins {
				added = append(added, coin)
				sumIn += coin.Value
				w := base + (len(funded)+len(added))*inW
				if ch := sumIn - sumPay - feeAt(w); ch >= DustLimit {
					changeOut.Value = ch
					changePos = randInt(len(outs) + 1)
					outs = append(outs[:changePos], append([]*psbt.TxOut{changeOut}, outs[changePos:]...)...)
					ok = true
					break
				}
			}
			if !ok {
				return fmt.Errorf("%w: the wallet's spendable coins cannot pay the higher fee", ErrInsufficient)
			}
			if _, err := t.Exec(`UPDATE scripts SET used = 1 WHERE wallet = ? AND change = 1 AND idx = ?`, old.Wallet, changeIdx); err != nil {
				return err
			}
			for _, coin := range added {
				var raw []byte
				if err := t.QueryRow(`SELECT raw FROM txs WHERE txid = ?`, coin.OutPoint.Hash.String()).Scan(&raw); err != nil {
					return fmt.Errorf("previous transaction %s: %w", coin.OutPoint.Hash, err)
				}
				prev, err := psbt.ParseTx(raw)
				if err != nil {
					return err
				}
				funded = append(funded, FundedCoin{Coin: coin, Prev: prev})
			}
			note = fmt.Sprintf("no change could pay the higher fee: %d coins added, with a change output", len(added))
		}
		var sumOut int64
		for _, o := range outs {
			sumOut += o.Value
		}
		fee := sumIn - sumOut
		weight := BaseWeight(&psbt.Tx{Outputs: outs}, d) + len(funded)*inW
		vsize := (weight + 3) / 4
		if err := fc.check(fee, vsize); err != nil {
			return err
		}
		np, err := BuildPSBT(d, funded, outs, changePos, changeIdx, p.UnsignedTx.LockTime)
		if err != nil {
			return err
		}
		if err := describeKnownOutputs(t, np, changePos); err != nil {
			return err
		}
		blob, err := np.Serialize()
		if err != nil {
			return err
		}
		nid := newSessionID()
		for _, coin := range added {
			res, err := t.Exec(`UPDATE utxos SET session = ? WHERE txid = ? AND vout = ? AND session IS NULL`, nid, coin.OutPoint.Hash.String(), coin.OutPoint.Index)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("%s: %w", coin.OutPoint, ErrCoinsReserved)
			}
		}
		txid := np.UnsignedTx.TxID().String()
		selection := fmt.Sprintf("fee bump of session %s (RBF, BIP-125): the same %d inputs; %s", id, len(p.UnsignedTx.Inputs), note)
		ts := now()
		if _, err := t.Exec(`INSERT INTO sessions (id, wallet, created, state, txid, psbt, fee, vsize, updated, replaces, selection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nid, old.Wallet, ts, StateOpen, txid, blob, fee, vsize, ts, id, selection); err != nil {
			return err
		}
		sess = &Session{ID: nid, Wallet: old.Wallet, State: StateOpen, TxID: txid, PSBT: blob, Fee: fee, VSize: vsize, Created: ts, Replaces: id, Selection: selection}
		if err := auditSessionOpened(ctx, t, sess, d.Network()); err != nil {
			return err
		}
		return auditTx(ctx, t, audit.Bumped, nid, bumpDetail{
			Replaces: id, OldFee: bi.Fee, OldRate: round2(bi.Rate), Fee: fee, Rate: round2(float64(fee) / float64(vsize)), AddedInputs: len(added),
		})
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

type bumpDetail struct {
	Replaces    string  `json:"replaces,omitempty"`
	Parent      string  `json:"parent,omitempty"`
	OldFee      int64   `json:"old_fee"`
	OldRate     float64 `json:"old_rate"`
	Fee         int64   `json:"fee"`
	Rate        float64 `json:"rate"`
	AddedInputs int     `json:"added_inputs,omitempty"`
	PackageRate float64 `json:"package_rate,omitempty"`
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// CPFP opens a session for a child of broadcast session id's unconfirmed
// transaction: it spends that transaction's change back to the wallet's
// next change address, with the fee that brings parent and child
// together (the package) to rate sat/vB. The parent's change must have
// been seen by a sync, unspent and unreserved; the child pays at least
// the minimum relay fee on its own size.
func (c *Coordinator) CPFP(ctx context.Context, id string, rate float64, fc FeeCap) (*Session, error) {
	parent, err := c.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	bi, final, err := bumpInfo(parent)
	if err != nil {
		return nil, err
	}
	if !(rate > bi.Rate && rate <= MaxFeeRate) {
		return nil, fmt.Errorf("%w: the transaction pays %.2f sat/vB already; a child must lift the package above that (and at most %d)", ErrBumpTooLow, bi.Rate, MaxFeeRate)
	}
	w, err := c.Wallet(ctx, parent.Wallet)
	if err != nil {
		return nil, err
	}
	d := w.Descriptor
	ptxid := final.TxID().String()
	var sess *Session
	err = c.tx(ctx, func(t *sql.Tx) error {
		// The parent's change: a coin of the wallet's change branch that
		// the parent created, unconfirmed.
		var coin Coin
		var height int64
		var session sql.NullString
		var spent sql.NullInt64
		err := t.QueryRow(`SELECT vout, value, change, idx, height, session, spent_height FROM utxos WHERE txid = ? AND wallet = ? AND change = 1 ORDER BY vout LIMIT 1`,
			ptxid, parent.Wallet).Scan(&coin.OutPoint.Index, &coin.Value, &coin.Change, &coin.Index, &height, &session, &spent)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s's transaction %s has no change of wallet %q known to the store (run kinko sync): %w", id, ptxid, parent.Wallet, ErrNoCoin)
		}
		if err != nil {
			return err
		}
		switch {
		case height > 0:
			return fmt.Errorf("session %s's transaction is confirmed at height %d: nothing to pay for: %w", id, height, ErrSessionState)
		case session.Valid:
			return fmt.Errorf("its change is reserved by session %s: %w", session.String, ErrCoinsReserved)
		case spent.Valid:
			return fmt.Errorf("its change is spent already: %w", ErrSessionState)
		}
		coin.OutPoint.Hash = final.TxID()
		changeIdx, err := nextChange(t, parent.Wallet, d)
		if err != nil {
			return err
		}
		der, err := d.Derive(true, changeIdx)
		if err != nil {
			return err
		}
		out := &psbt.TxOut{PkScript: der.ScriptPubKey}
		weight := BaseWeight(&psbt.Tx{Outputs: []*psbt.TxOut{out}}, d) + d.MaxInputWeight()
		vsize := (weight + 3) / 4
		fee := int64(math.Ceil(rate*float64(bi.VSize+vsize))) - bi.Fee
		fee = max(fee, int64(vsize)*IncrementalRelayFee)
		out.Value = coin.Value - fee
		if out.Value < DustLimit {
			return fmt.Errorf("%w: the change of %d sat cannot pay a child fee of %d sat", ErrInsufficient, coin.Value, fee)
		}
		if err := fc.check(fee, vsize); err != nil {
			return err
		}
		np, err := BuildPSBT(d, []FundedCoin{{Coin: coin, Prev: final}}, []*psbt.TxOut{out}, 0, changeIdx, 0)
		if err != nil {
			return err
		}
		if _, err := t.Exec(`UPDATE scripts SET used = 1 WHERE wallet = ? AND change = 1 AND idx = ?`, parent.Wallet, changeIdx); err != nil {
			return err
		}
		blob, err := np.Serialize()
		if err != nil {
			return err
		}
		nid := newSessionID()
		if _, err := t.Exec(`UPDATE utxos SET session = ? WHERE txid = ? AND vout = ? AND session IS NULL`, nid, ptxid, coin.OutPoint.Index); err != nil {
			return err
		}
		txid := np.UnsignedTx.TxID().String()
		pkg := float64(bi.Fee+fee) / float64(bi.VSize+vsize)
		selection := fmt.Sprintf("child pays for parent: spends session %s's change %s; package of %d vB at %.2f sat/vB", id, coin.OutPoint, bi.VSize+vsize, pkg)
		ts := now()
		if _, err := t.Exec(`INSERT INTO sessions (id, wallet, created, state, txid, psbt, fee, vsize, updated, parent, selection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nid, parent.Wallet, ts, StateOpen, txid, blob, fee, vsize, ts, id, selection); err != nil {
			return err
		}
		sess = &Session{ID: nid, Wallet: parent.Wallet, State: StateOpen, TxID: txid, PSBT: blob, Fee: fee, VSize: vsize, Created: ts, Parent: id, Selection: selection}
		if err := auditSessionOpened(ctx, t, sess, d.Network()); err != nil {
			return err
		}
		return auditTx(ctx, t, audit.Bumped, nid, bumpDetail{
			Parent: id, OldFee: bi.Fee, OldRate: round2(bi.Rate), Fee: fee, Rate: round2(float64(fee) / float64(vsize)), PackageRate: round2(pkg),
		})
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// settleReplacements marks replaced every session of a fee bump's family
// (one that replaces another, or is replaced) whose inputs a confirmed
// transaction other than its own spent, and frees the coins it alone
// reserved (the coins a replacement added). Sync calls it after a scan.
func (c *Coordinator) settleReplacements(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, `SELECT id, psbt, coalesce(broadcast_txid, '') FROM sessions
		WHERE state IN (?, ?, ?) AND (replaces IS NOT NULL OR id IN (SELECT replaces FROM sessions WHERE replaces IS NOT NULL))`,
		StateOpen, StateFinalized, StateBroadcast)
	if err != nil {
		return err
	}
	type cand struct {
		id, txid string
		blob     []byte
	}
	var cands []cand
	for rows.Next() {
		var k cand
		if err := rows.Scan(&k.id, &k.blob, &k.txid); err != nil {
			rows.Close()
			return err
		}
		cands = append(cands, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range cands {
		p, err := psbt.Parse(k.blob)
		if err != nil {
			return err
		}
		by := ""
		for _, in := range p.UnsignedTx.Inputs {
			var spentTxid sql.NullString
			var spentHeight sql.NullInt64
			err := c.db.QueryRowContext(ctx, `SELECT spent_txid, spent_height FROM utxos WHERE txid = ? AND vout = ?`, in.PrevOut.Hash.String(), in.PrevOut.Index).Scan(&spentTxid, &spentHeight)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if spentHeight.Valid && spentHeight.Int64 > 0 && spentTxid.String != k.txid {
				by = spentTxid.String
				break
			}
		}
		if by == "" {
			continue
		}
		err = c.tx(ctx, func(t *sql.Tx) error {
			var bySession string
			if err := t.QueryRow(`SELECT coalesce((SELECT id FROM sessions WHERE broadcast_txid = ?), '')`, by).Scan(&bySession); err != nil {
				return err
			}
			if _, err := t.Exec(`UPDATE sessions SET state = ?, updated = ? WHERE id = ?`, StateReplaced, now(), k.id); err != nil {
				return err
			}
			if _, err := t.Exec(`UPDATE utxos SET session = NULL WHERE session = ? AND spent_height IS NULL`, k.id); err != nil {
				return err
			}
			return auditTx(ctx, t, audit.Replaced, k.id, struct {
				ByTxID    string `json:"by_txid"`
				BySession string `json:"by_session,omitempty"`
			}{by, bySession})
		})
		if err != nil {
			return err
		}
	}
	return nil
}
