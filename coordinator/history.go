package coordinator

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// Outflow is what the wallet paid to addresses that no wallet of this
// store watches (its coins spent, less what the same transactions paid
// back to it as change or to another of the store's wallets), in
// transactions confirmed in blocks timed at or after since, plus those
// still unconfirmed. For a hot wallet that is its customers' withdrawals:
// a sweep to the cold wallet is not one. It is worked out in SQL: a hot
// wallet has many coins.
func (c *Coordinator) Outflow(ctx context.Context, name string, since time.Time) (int64, error) {
	if _, err := c.Wallet(ctx, name); err != nil {
		return 0, err
	}
	var out int64
	err := c.db.QueryRowContext(ctx, `WITH sent AS MATERIALIZED (
			SELECT spent_txid AS txid, sum(value) AS v FROM utxos
			WHERE wallet = ? AND spent_txid IS NOT NULL AND spent_height IS NOT NULL
			AND (spent_height = 0 OR spent_height IN (SELECT height FROM blocks WHERE time >= ?))
			GROUP BY spent_txid),
		back AS MATERIALIZED (
			SELECT txid, sum(value) AS v FROM utxos
			WHERE txid IN (SELECT txid FROM sent) GROUP BY txid)
		SELECT coalesce(sum(max(sent.v - coalesce(back.v, 0), 0)), 0) FROM sent LEFT JOIN back USING (txid)`,
		name, since.Unix()).Scan(&out)
	return out, err
}

// Setting returns the value stored under key, or ErrNoSetting.
func (c *Coordinator) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := c.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%q: %w", key, ErrNoSetting)
	}
	return v, err
}

// SetSetting stores value under key, replacing what was there, and runs
// also (when not nil) in the same SQL transaction: an audit entry commits
// with the change it records, or neither does.
func (c *Coordinator) SetSetting(ctx context.Context, key string, value []byte, also func(*sql.Tx) error) error {
	return c.tx(ctx, func(t *sql.Tx) error {
		if _, err := t.Exec(`INSERT INTO settings (key, value, updated) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated`, key, value, now()); err != nil {
			return err
		}
		if also != nil {
			return also(t)
		}
		return nil
	})
}

// HistoryEntry is one transaction of a wallet, as accounting reads it.
type HistoryEntry struct {
	TxID          string
	Height        int64     // 0: unconfirmed
	Time          time.Time // of its block; zero while unconfirmed
	Confirmations int64
	// Received is what the transaction paid to the wallet when the
	// wallet spent nothing in it; Sent is what it paid to others when
	// the wallet spent (its own change not counted); Fee is the fee when
	// the wallet paid it.
	Received, Sent, Fee int64
	Labels              []string // the transaction's, its outputs' and their addresses'
	Session             string   // the session that broadcast it, if any
}

// History lists the transactions that paid wallet name or spent its
// coins, oldest first, those confirmed in blocks timed before since left
// out (unconfirmed ones always shown), as of the last sync.
func (c *Coordinator) History(ctx context.Context, name string, since time.Time) ([]HistoryEntry, error) {
	w, err := c.Wallet(ctx, name)
	if err != nil {
		return nil, err
	}
	net := w.Descriptor.Network()
	type txinfo struct {
		e       HistoryEntry
		back    int64 // paid to the wallet
		spent   int64 // the wallet's coins spent
		outs    []string
		inCount int
	}
	byID := map[string]*txinfo{}
	get := func(id string, h int64) *txinfo {
		x := byID[id]
		if x == nil {
			x = &txinfo{e: HistoryEntry{TxID: id, Height: h}}
			byID[id] = x
		}
		return x
	}
	labels := map[[2]string]string{}
	if err := queryRows(ctx, c.db, `SELECT type, ref, label FROM labels WHERE wallet = ?`, []any{name}, func(r *sql.Rows) error {
		var typ, ref, l string
		if err := r.Scan(&typ, &ref, &l); err != nil {
			return err
		}
		labels[[2]string{typ, ref}] = l
		return nil
	}); err != nil {
		return nil, err
	}
	if err := queryRows(ctx, c.db, `SELECT txid, vout, height, value, script FROM utxos WHERE wallet = ?`, []any{name}, func(r *sql.Rows) error {
		var txid string
		var vout, h, v int64
		var spk []byte
		if err := r.Scan(&txid, &vout, &h, &v, &spk); err != nil {
			return err
		}
		x := get(txid, h)
		x.back += v
		x.outs = append(x.outs, fmt.Sprintf("%s:%d", txid, vout))
		if addr, err := wallet.AddressFromScript(spk, net); err == nil {
			x.outs = append(x.outs, addr)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := queryRows(ctx, c.db, `SELECT spent_txid, spent_height, value FROM utxos WHERE wallet = ? AND spent_txid IS NOT NULL`, []any{name}, func(r *sql.Rows) error {
		var txid string
		var h, v int64
		if err := r.Scan(&txid, &h, &v); err != nil {
			return err
		}
		x := get(txid, h)
		x.spent += v
		x.inCount++
		return nil
	}); err != nil {
		return nil, err
	}
	if err := queryRows(ctx, c.db, `SELECT id, broadcast_txid, fee, psbt FROM sessions WHERE wallet = ? AND broadcast_txid IS NOT NULL`, []any{name}, func(r *sql.Rows) error {
		var id, txid string
		var fee int64
		var blob []byte
		if err := r.Scan(&id, &txid, &fee, &blob); err != nil {
			return err
		}
		x := byID[txid]
		if x == nil {
			return nil // replaced, never confirmed nor seen
		}
		x.e.Session, x.e.Fee = id, fee
		if p, err := psbt.Parse(blob); err == nil {
			for _, o := range p.UnsignedTx.Outputs {
				if addr, err := wallet.AddressFromScript(o.PkScript, net); err == nil {
					x.outs = append(x.outs, addr)
				}
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	times := map[int64]int64{}
	if err := queryRows(ctx, c.db, `SELECT height, time FROM blocks`, nil, func(r *sql.Rows) error {
		var h, t int64
		if err := r.Scan(&h, &t); err != nil {
			return err
		}
		times[h] = t
		return nil
	}); err != nil {
		return nil, err
	}
	var out []HistoryEntry
	for _, x := range byID {
		e := x.e
		if e.Height > 0 {
			e.Confirmations = max(w.Scanned-e.Height+1, 0)
			if t, ok := times[e.Height]; ok && t > 0 {
				e.Time = time.Unix(t, 0).UTC()
			}
			if e.Time.Before(since) {
				continue
			}
		}
		if x.spent > 0 {
			if e.Session == "" {
				e.Fee = c.feeIfAllOurs(ctx, e.TxID, x.spent, x.inCount)
			}
			e.Sent = max(x.spent-x.back-e.Fee, 0)
		} else {
			e.Received = x.back
		}
		seen := map[string]bool{}
		add := func(l string) {
			if l != "" && !seen[l] {
				seen[l] = true
				e.Labels = append(e.Labels, l)
			}
		}
		add(labels[[2]string{LabelTx, e.TxID}])
		for _, ref := range x.outs {
			add(labels[[2]string{LabelOutput, ref}])
			add(labels[[2]string{LabelAddr, ref}])
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b HistoryEntry) int {
		ah, bh := a.Height, b.Height
		if ah == 0 {
			ah = math.MaxInt64
		}
		if bh == 0 {
			bh = math.MaxInt64
		}
		if ah != bh {
			return cmp.Compare(ah, bh)
		}
		return strings.Compare(a.TxID, b.TxID)
	})
	return out, nil
}

// feeIfAllOurs is the fee of transaction txid when the store has it and
// every one of its inputs was the wallet's (spent of them, n inputs);
// else 0, as the fee is not the wallet's alone.
func (c *Coordinator) feeIfAllOurs(ctx context.Context, txid string, spent int64, n int) int64 {
	var raw []byte
	if err := c.db.QueryRowContext(ctx, `SELECT raw FROM txs WHERE txid = ?`, txid).Scan(&raw); err != nil {
		return 0
	}
	tx, err := psbt.ParseTx(raw)
	if err != nil || len(tx.Inputs) != n {
		return 0
	}
	var outs int64
	for _, o := range tx.Outputs {
		outs += o.Value
	}
	return max(spent-outs, 0)
}

func queryRows(ctx context.Context, db *sql.DB, q string, args []any, each func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
