package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Flow is what one transaction did to one wallet: the wallet's coins it
// spent and the coins it paid to the wallet.
type Flow struct {
	TxID     string
	Height   int64     // 0 while unconfirmed
	Time     time.Time // the block's time; zero while unconfirmed
	Sent     int64     // the wallet's coins spent
	Received int64     // paid to the wallet (change included)
}

// Net is the flow's effect on the wallet's balance: negative when coins
// left it.
func (f Flow) Net() int64 { return f.Received - f.Sent }

// History returns every transaction known to have touched the wallet,
// oldest first, unconfirmed ones last. It is built from the coins the
// store holds, so it covers what the wallet's scans saw.
func (c *Coordinator) History(ctx context.Context, name string) ([]Flow, error) {
	if _, err := c.Wallet(ctx, name); err != nil {
		return nil, err
	}
	flows := map[string]*Flow{}
	get := func(txid string, height int64, t int64) *Flow {
		f := flows[txid]
		if f == nil {
			f = &Flow{TxID: txid}
			flows[txid] = f
		}
		f.Height = height
		if height > 0 && t > 0 {
			f.Time = time.Unix(t, 0).UTC()
		}
		return f
	}
	rows, err := c.db.QueryContext(ctx, `SELECT u.txid, u.height, coalesce(b.time, 0), sum(u.value) FROM utxos u
		LEFT JOIN blocks b ON b.height = u.height AND u.height > 0
		WHERE u.wallet = ? GROUP BY u.txid`, name)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var txid string
		var h, t, v int64
		if err := rows.Scan(&txid, &h, &t, &v); err != nil {
			rows.Close()
			return nil, err
		}
		get(txid, h, t).Received += v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = c.db.QueryContext(ctx, `SELECT u.spent_txid, u.spent_height, coalesce(b.time, 0), sum(u.value) FROM utxos u
		LEFT JOIN blocks b ON b.height = u.spent_height AND u.spent_height > 0
		WHERE u.wallet = ? AND u.spent_txid IS NOT NULL AND u.spent_height IS NOT NULL GROUP BY u.spent_txid`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var txid string
		var h, t, v int64
		if err := rows.Scan(&txid, &h, &t, &v); err != nil {
			return nil, err
		}
		get(txid, h, t).Sent += v
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Flow, 0, len(flows))
	for _, f := range flows {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		hi, hj := out[i].Height, out[j].Height
		if (hi == 0) != (hj == 0) {
			return hj == 0
		}
		if hi != hj {
			return hi < hj
		}
		return out[i].TxID < out[j].TxID
	})
	return out, nil
}

// Outflow is the total that left the wallet (spent minus what came back
// to it in the same transaction, as change) in transactions confirmed in
// blocks timed at or after since, plus those still unconfirmed. It is
// worked out in SQL: a hot wallet has many coins.
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
			WHERE wallet = ? AND txid IN (SELECT txid FROM sent) GROUP BY txid)
		SELECT coalesce(sum(max(sent.v - coalesce(back.v, 0), 0)), 0) FROM sent LEFT JOIN back USING (txid)`,
		name, since.Unix(), name).Scan(&out)
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
