package coordinator

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"

	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/psbt"
)

// The mempool is read incrementally. The store remembers every mempool
// transaction it examined (table mempool), whether it touched a wallet,
// and short hashes ("keys") of the scripts it pays and the outpoints it
// spends. A sync then reads only the transactions it has not seen, undoes
// what the ones that left did, and reads again only those seen ones whose
// keys match a script or coin added since the last sync (a gap extension,
// a new wallet, a coin found in a block).

// keyLen is the length of a mempool key: a truncated SHA-256. A collision
// costs one needless read of a transaction, nothing else.
const keyLen = 8

func scriptKey(spk []byte) [keyLen]byte {
	h := sha256.Sum256(spk)
	return [keyLen]byte(h[:keyLen])
}

func outpointKey(op psbt.OutPoint) [keyLen]byte {
	var b [36]byte
	copy(b[:], op.Hash[:])
	binary.LittleEndian.PutUint32(b[32:], op.Index)
	return scriptKey(b[:])
}

func txKeys(tx *psbt.Tx) []byte {
	keys := make([]byte, 0, keyLen*(len(tx.Outputs)+len(tx.Inputs)))
	for _, out := range tx.Outputs {
		k := scriptKey(out.PkScript)
		keys = append(keys, k[:]...)
	}
	for _, in := range tx.Inputs {
		k := outpointKey(in.PrevOut)
		keys = append(keys, k[:]...)
	}
	return keys
}

type seenTx struct {
	ours bool
	keys []byte
}

// syncMempool brings the store's view of unconfirmed coins and spends to
// the node's mempool as it is now, and returns how many of the wallets'
// coins are unconfirmed.
func (c *Coordinator) syncMempool(ctx context.Context, node *chain.Client, wallets []*Wallet) (unconfirmed, read int, err error) {
	ids, err := node.MempoolTxIDs()
	if err != nil {
		return 0, 0, err
	}
	// A pass can watch new scripts (a gap extension) that a transaction
	// seen before pays: the next pass reads those again.
	for pass := 0; pass < 5; pass++ {
		n, r, grew, err := c.mempoolPass(ctx, node, wallets, ids, pass == 0)
		if err != nil {
			return 0, 0, fmt.Errorf("mempool: %w", err)
		}
		unconfirmed, read = n, read+r
		if !grew {
			break
		}
	}
	return unconfirmed, read, nil
}

// mempoolPass reads the transactions of ids not examined before, and the
// examined ones that touch scripts or coins added since the last pass.
// first says whether to forget transactions no longer in ids. grew says
// whether the pass added scripts or coins.
func (c *Coordinator) mempoolPass(ctx context.Context, node *chain.Client, wallets []*Wallet, ids []string, first bool) (unconfirmed, read int, grew bool, err error) {
	seen, marks, err := c.loadSeen(ctx)
	if err != nil {
		return 0, 0, false, storeErr(err)
	}
	added, err := c.addedSince(ctx, marks)
	if err != nil {
		return 0, 0, false, storeErr(err)
	}
	now := make(map[string]bool, len(ids))
	var fetch []string
	for _, id := range ids {
		now[id] = true
		s, ok := seen[id]
		if (!ok && first) || (ok && len(added) > 0 && matches(s.keys, added)) {
			fetch = append(fetch, id)
		}
	}
	raws, err := node.RawTransactions(fetch)
	if err != nil {
		return 0, 0, false, err
	}
	var txs []*psbt.Tx
	var keep [][]byte
	var keepIDs []string
	for k, raw := range raws {
		if raw == nil {
			continue // left the mempool meanwhile
		}
		tx, err := psbt.ParseTx(raw)
		if err != nil {
			continue // the node gave us something we cannot read; it is not ours
		}
		txs, keep, keepIDs = append(txs, tx), append(keep, raw), append(keepIDs, fetch[k])
	}
	err = c.tx(ctx, func(t *sql.Tx) error {
		if first {
			for id, s := range seen {
				if now[id] {
					continue
				}
				if err := forgetMempoolTx(t, id, s.ours); err != nil {
					return err
				}
			}
			// Spends that only a spend's coin check saw (spender
			// unknown) are found again below if they are still there.
			if _, err := t.Exec(`UPDATE utxos SET spent_txid = NULL, spent_height = NULL WHERE spent_height = 0 AND spent_txid = ''`); err != nil {
				return err
			}
		}
		// Marks first: scripts this scan adds are new to the next pass.
		if err := setMarks(t); err != nil {
			return err
		}
		ws, err := loadWatch(ctx, t, wallets)
		if err != nil {
			return err
		}
		defer ws.close()
		_, ours, err := scanTxs(t, ws, txs, keep, 0, nil)
		if err != nil {
			return err
		}
		for k, tx := range txs {
			if _, err := t.Exec(`INSERT OR REPLACE INTO mempool (txid, ours, keys) VALUES (?, ?, ?)`, keepIDs[k], ours[k] || seen[keepIDs[k]].ours, txKeys(tx)); err != nil {
				return err
			}
		}
		var after int
		if err := t.QueryRow(`SELECT (SELECT coalesce(max(rowid), 0) FROM scripts) + (SELECT coalesce(max(rowid), 0) FROM utxos) != (SELECT sum(rowid) FROM mempool_marks)`).Scan(&after); err != nil {
			return err
		}
		grew = after != 0
		return t.QueryRow(`SELECT count(*) FROM utxos WHERE height = 0`).Scan(&unconfirmed)
	})
	return unconfirmed, len(fetch), grew, err
}

// forgetMempoolTx undoes what a transaction that left the mempool did to
// the store: coins it created that no block holds go (unless a session
// reserved them), coins it spent in the mempool are unspent again.
func forgetMempoolTx(t *sql.Tx, txid string, ours bool) error {
	if _, err := t.Exec(`DELETE FROM mempool WHERE txid = ?`, txid); err != nil {
		return err
	}
	if !ours {
		return nil
	}
	if _, err := t.Exec(`DELETE FROM utxos WHERE txid = ? AND height = 0 AND session IS NULL`, txid); err != nil {
		return err
	}
	_, err := t.Exec(`UPDATE utxos SET spent_txid = NULL, spent_height = NULL WHERE spent_txid = ? AND spent_height = 0`, txid)
	return err
}

func (c *Coordinator) loadSeen(ctx context.Context) (map[string]seenTx, map[string]int64, error) {
	seen := make(map[string]seenTx)
	rows, err := c.db.QueryContext(ctx, `SELECT txid, ours, keys FROM mempool`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var s seenTx
		if err := rows.Scan(&id, &s.ours, &s.keys); err != nil {
			return nil, nil, err
		}
		seen[id] = s
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	marks := make(map[string]int64)
	mrows, err := c.db.QueryContext(ctx, `SELECT name, rowid FROM mempool_marks`)
	if err != nil {
		return nil, nil, err
	}
	defer mrows.Close()
	for mrows.Next() {
		var name string
		var v int64
		if err := mrows.Scan(&name, &v); err != nil {
			return nil, nil, err
		}
		marks[name] = v
	}
	return seen, marks, mrows.Err()
}

// addedSince returns the keys of the scripts and coins added since the
// marks were set.
func (c *Coordinator) addedSince(ctx context.Context, marks map[string]int64) (map[[keyLen]byte]bool, error) {
	added := make(map[[keyLen]byte]bool)
	rows, err := c.db.QueryContext(ctx, `SELECT script FROM scripts WHERE rowid > ?`, marks["scripts"])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var spk []byte
		if err := rows.Scan(&spk); err != nil {
			return nil, err
		}
		added[scriptKey(spk)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	crows, err := c.db.QueryContext(ctx, `SELECT txid, vout FROM utxos WHERE rowid > ?`, marks["utxos"])
	if err != nil {
		return nil, err
	}
	return added, eachOutPoint(crows, func(op psbt.OutPoint) { added[outpointKey(op)] = true })
}

// eachOutPoint calls fn with the outpoint of each row of rows, which
// select txid and vout, and closes rows.
func eachOutPoint(rows *sql.Rows, fn func(psbt.OutPoint)) error {
	defer rows.Close()
	for rows.Next() {
		var txid string
		var op psbt.OutPoint
		if err := rows.Scan(&txid, &op.Index); err != nil {
			return err
		}
		h, err := psbt.ParseHash(txid)
		if err != nil {
			return err
		}
		op.Hash = h
		fn(op)
	}
	return rows.Err()
}

func matches(keys []byte, added map[[keyLen]byte]bool) bool {
	for i := 0; i+keyLen <= len(keys); i += keyLen {
		if added[[keyLen]byte(keys[i:i+keyLen])] {
			return true
		}
	}
	return false
}

func setMarks(t *sql.Tx) error {
	_, err := t.Exec(`INSERT OR REPLACE INTO mempool_marks (name, rowid) VALUES
		('scripts', (SELECT coalesce(max(rowid), 0) FROM scripts)),
		('utxos', (SELECT coalesce(max(rowid), 0) FROM utxos))`)
	return err
}

// forgetMempool makes the next sync examine the whole mempool again: after
// coins were deleted (a reorg), rowids may be reused, so the marks no
// longer tell what is new.
func forgetMempool(t *sql.Tx) error {
	_, err := t.Exec(`DELETE FROM mempool_marks`)
	return err
}

// CheckCoins asks the node whether the wallet's spendable coins (see
// [Coordinator.SpendableCoins]) are still unspent, with gettxout in
// batches, and marks the ones it says are gone as spent in the mempool so
// that a spend does not pick them; the next Sync finds their spender. It
// returns how many it marked. This is what a spend does instead of reading
// the whole mempool. Bitcoin Core reports a coin spent by a mempool
// transaction as gone; btcd reports only coins spent in blocks, so on
// btcd such a double spend is caught later, when the node refuses it at
// finalize or broadcast.
func (c *Coordinator) CheckCoins(ctx context.Context, node *chain.Client, name string, minConf int64) (int, error) {
	coins, err := c.SpendableCoins(ctx, name, minConf)
	if err != nil {
		return 0, storeErr(err)
	}
	ops := make([]chain.OutPoint, len(coins))
	for i, coin := range coins {
		ops[i] = chain.OutPoint{TxID: coin.OutPoint.Hash.String(), Vout: coin.OutPoint.Index}
	}
	unspent, err := node.Unspent(ops, true)
	if err != nil {
		return 0, err
	}
	gone := 0
	err = c.tx(ctx, func(t *sql.Tx) error {
		for i, ok := range unspent {
			if ok {
				continue
			}
			res, err := t.Exec(`UPDATE utxos SET spent_txid = '', spent_height = 0 WHERE txid = ? AND vout = ? AND spent_height IS NULL`, ops[i].TxID, ops[i].Vout)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				gone++
			}
		}
		return nil
	})
	return gone, err
}
