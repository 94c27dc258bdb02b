package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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
