package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/psbt"
)

// SyncReport tells what a sync did.
type SyncReport struct {
	Tip      int64
	Scanned  int // blocks scanned
	Reorged  int // blocks rolled back
	Found    int // coins found in blocks
	Mempool  int // wallet coins seen unconfirmed
	Wallets  int
	TipHash  string
	ForkedAt int64 // height of the last common block after a reorg, -1 if none
}

type watched struct {
	wallet string
	change bool
	index  uint32
}

// Sync brings every wallet up to the node's tip: it rolls back blocks the
// node no longer has (a reorg takes its coins with it), scans new blocks
// from each wallet's birthday with a gap limit on both branches, and then
// takes the mempool's view of unconfirmed coins and spends. It uses only
// RPCs that Bitcoin Core and btcd both answer.
func (c *Coordinator) Sync(ctx context.Context, node *chain.Client) (*SyncReport, error) {
	rep := &SyncReport{ForkedAt: -1}
	var wallets []*Wallet
	// A reorg while blocks are being scanned is noticed by the next
	// block's link to the stored one; the sync then starts over from the
	// rollback.
	for attempt := 0; ; attempt++ {
		tip, err := node.Height()
		if err != nil {
			return nil, err
		}
		rep.Tip = tip
		if err := c.rollback(ctx, node, rep); err != nil {
			return nil, err
		}
		if wallets, err = c.loadAll(ctx); err != nil {
			return nil, err
		}
		rep.Wallets = len(wallets)
		if len(wallets) == 0 {
			return rep, nil
		}
		relinked, err := c.scanBlocks(ctx, node, wallets, tip, rep)
		if err != nil {
			return rep, err
		}
		if !relinked {
			break
		}
		if attempt == maxSyncAttempts {
			return rep, fmt.Errorf("the node's chain kept changing during %d syncs", maxSyncAttempts+1)
		}
	}
	n, err := c.syncMempool(ctx, node, wallets)
	if err != nil {
		return rep, err
	}
	rep.Mempool = n
	if err := c.settleReplacements(ctx); err != nil { // bump.go
		return rep, err
	}
	return rep, c.auditSync(ctx, rep)
}

// maxSyncAttempts bounds how often a sync starts over because the node's
// chain changed under it.
const maxSyncAttempts = 4

// scanBlocks scans the blocks up to tip that some wallet has not seen. Each
// block must build on the one stored below it: if it does not, the node's
// chain changed since the rollback, and scanBlocks stops and reports it, so
// the store never holds blocks of two branches.
func (c *Coordinator) scanBlocks(ctx context.Context, node *chain.Client, wallets []*Wallet, tip int64, rep *SyncReport) (relinked bool, err error) {
	from := tip + 1
	for _, w := range wallets {
		if w.Scanned+1 < from {
			from = w.Scanned + 1
		}
	}
	for h := from; h <= tip; h++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		hash, err := node.BlockHash(h)
		if err != nil {
			return false, err
		}
		blk, err := node.Block(hash)
		if err != nil {
			return false, err
		}
		var below string
		err = c.db.QueryRowContext(ctx, `SELECT hash FROM blocks WHERE height = ?`, h-1).Scan(&below)
		if err == nil && below != blk.PrevHash {
			return true, nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		txs := make([]*psbt.Tx, len(blk.Txs))
		for k, raw := range blk.Txs {
			if txs[k], err = psbt.ParseTx(raw); err != nil {
				return false, fmt.Errorf("block %s tx %d: %w", hash, k, err)
			}
		}
		err = c.tx(ctx, func(t *sql.Tx) error {
			for _, w := range wallets {
				if w.Scanned >= h {
					continue
				}
				n, err := scanTxs(t, w, txs, blk.Txs, h)
				if err != nil {
					return err
				}
				rep.Found += n
				if _, err := t.Exec(`UPDATE wallets SET scanned = ? WHERE name = ?`, h, w.Name); err != nil {
					return err
				}
			}
			_, err := t.Exec(`INSERT OR REPLACE INTO blocks (height, hash, time) VALUES (?, ?, ?)`, h, hash, blk.Time)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("scan block %d: %w", h, err)
		}
		for _, w := range wallets {
			if w.Scanned < h {
				w.Scanned = h
			}
		}
		rep.Scanned++
		rep.TipHash = hash
	}
	return false, nil
}

func (c *Coordinator) loadAll(ctx context.Context) ([]*Wallet, error) {
	names, err := c.Wallets(ctx)
	if err != nil {
		return nil, err
	}
	var ws []*Wallet
	for _, n := range names {
		w, err := c.Wallet(ctx, n)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// rollback finds the last block the store and the node agree on, and
// forgets everything the store learned above it.
func (c *Coordinator) rollback(ctx context.Context, node *chain.Client, rep *SyncReport) error {
	var top sql.NullInt64
	if err := c.db.QueryRowContext(ctx, `SELECT max(height) FROM blocks`).Scan(&top); err != nil {
		return err
	}
	if !top.Valid {
		return nil
	}
	fork := top.Int64
	for fork >= 0 {
		var stored string
		err := c.db.QueryRowContext(ctx, `SELECT hash FROM blocks WHERE height = ?`, fork).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			break // below what was ever scanned
		}
		if err != nil {
			return err
		}
		if fork <= rep.Tip {
			h, err := node.BlockHash(fork)
			if err != nil {
				return err
			}
			if h == stored {
				break
			}
		}
		fork--
	}
	if fork == top.Int64 {
		return nil
	}
	rep.Reorged = int(top.Int64 - fork)
	rep.ForkedAt = fork
	return c.tx(ctx, func(t *sql.Tx) error {
		stmts := []struct {
			q    string
			args []any
		}{
			// A coin reserved by a session still open or finalized
			// keeps its row, and so its reservation, as unconfirmed:
			// the scan or the mempool below finds it again (and sets
			// its height), or, if its transaction is gone for good,
			// it stays unconfirmed and reserved, never spendable,
			// until the session is cancelled. Deleted, it would come
			// back unreserved, free for a second session.
			{`UPDATE utxos SET height = 0 WHERE height > ? AND session IN (SELECT id FROM sessions WHERE state IN (?, ?))`,
				[]any{fork, StateOpen, StateFinalized}},
			{`DELETE FROM utxos WHERE height > ?`, []any{fork}},
			{`UPDATE utxos SET spent_txid = NULL, spent_height = NULL WHERE spent_height > ?`, []any{fork}},
			{`DELETE FROM blocks WHERE height > ?`, []any{fork}},
			{`UPDATE wallets SET scanned = ? WHERE scanned > ?`, []any{fork, fork}},
		}
		for _, s := range stmts {
			if _, err := t.Exec(s.q, s.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanTxs records the wallet's coins created and spent by txs, at height
// (0 for the mempool). It returns how many coins it found.
func scanTxs(t *sql.Tx, w *Wallet, txs []*psbt.Tx, raws [][]byte, height int64) (int, error) {
	found := 0
	for {
		watch, err := loadWatched(t, w.Name)
		if err != nil {
			return 0, err
		}
		extended := false
		for k, tx := range txs {
			txid := tx.TxID().String()
			for vout, out := range tx.Outputs {
				ws, ok := watch[string(out.PkScript)]
				if !ok {
					continue
				}
				res, err := t.Exec(`INSERT INTO utxos (txid, vout, wallet, value, script, change, idx, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (txid, vout) DO UPDATE SET height = excluded.height`,
					txid, vout, w.Name, out.Value, out.PkScript, ws.change, ws.index, height)
				if err != nil {
					return 0, err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					found++
				}
				if _, err := t.Exec(`INSERT OR IGNORE INTO txs (txid, raw) VALUES (?, ?)`, txid, raws[k]); err != nil {
					return 0, err
				}
				if _, err := t.Exec(`UPDATE scripts SET used = 1 WHERE script = ?`, out.PkScript); err != nil {
					return 0, err
				}
				var max int64
				if err := t.QueryRow(`SELECT max(idx) FROM scripts WHERE wallet = ? AND change = ?`, w.Name, ws.change).Scan(&max); err != nil {
					return 0, err
				}
				if int64(ws.index)+GapLimit > max {
					if err := extendScripts(t, w.Name, w.Descriptor, ws.change, ws.index+GapLimit); err != nil {
						return 0, err
					}
					extended = true
				}
			}
			for _, in := range tx.Inputs {
				if _, err := t.Exec(`UPDATE utxos SET spent_txid = ?, spent_height = ? WHERE txid = ? AND vout = ? AND wallet = ?`,
					txid, height, in.PrevOut.Hash.String(), in.PrevOut.Index, w.Name); err != nil {
					return 0, err
				}
			}
		}
		if !extended {
			return found, nil
		}
		// New scripts are watched now: look at the same transactions
		// again, in case an earlier one paid one of them.
	}
}

func loadWatched(t *sql.Tx, name string) (map[string]watched, error) {
	rows, err := t.Query(`SELECT script, change, idx FROM scripts WHERE wallet = ?`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := make(map[string]watched)
	for rows.Next() {
		var spk []byte
		var ws watched
		if err := rows.Scan(&spk, &ws.change, &ws.index); err != nil {
			return nil, err
		}
		ws.wallet = name
		m[string(spk)] = ws
	}
	return m, rows.Err()
}

// syncMempool replaces the store's view of unconfirmed coins and spends
// with the node's mempool as it is now.
func (c *Coordinator) syncMempool(ctx context.Context, node *chain.Client, wallets []*Wallet) (int, error) {
	raws, err := node.Mempool()
	if err != nil {
		return 0, err
	}
	txs := make([]*psbt.Tx, 0, len(raws))
	keep := make([][]byte, 0, len(raws))
	for _, raw := range raws {
		tx, err := psbt.ParseTx(raw)
		if err != nil {
			continue // the node gave us something we cannot read; it is not ours
		}
		txs = append(txs, tx)
		keep = append(keep, raw)
	}
	found := 0
	err = c.tx(ctx, func(t *sql.Tx) error {
		if _, err := t.Exec(`DELETE FROM utxos WHERE height = 0 AND session IS NULL`); err != nil {
			return err
		}
		if _, err := t.Exec(`UPDATE utxos SET spent_txid = NULL, spent_height = NULL WHERE spent_height = 0`); err != nil {
			return err
		}
		for _, w := range wallets {
			n, err := scanTxs(t, w, txs, keep, 0)
			if err != nil {
				return err
			}
			found += n
		}
		return nil
	})
	return found, err
}
