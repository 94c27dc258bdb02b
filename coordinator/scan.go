package coordinator

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kinko-project/kinko/internal/psbt"
)

// watchSet is what a sync looks for, held in memory for the whole sync:
// every wallet's watched scripts and the coins that a transaction may
// still spend. Gap extensions add to it as they happen.
type watchSet struct {
	scripts map[string]watched
	coins   map[psbt.OutPoint]struct{} // unspent, or spent only in the mempool
	wallets map[string]*Wallet
	top     map[branch]uint32 // highest watched index of each wallet's branch
	ahead   map[branch]*lookahead

	// Statements prepared once for the transaction they were made in.
	stmtTx *sql.Tx
	stmts  *scanStmts
}

// close stops deriving scripts ahead.
func (ws *watchSet) close() {
	for _, la := range ws.ahead {
		la.halt()
	}
}

type scanStmts struct {
	coin, raw, used, spent *sql.Stmt
}

// prepared returns the scan's statements prepared in t.
func (ws *watchSet) prepared(t *sql.Tx) (*scanStmts, error) {
	if ws.stmtTx == t && ws.stmts != nil {
		return ws.stmts, nil
	}
	var st scanStmts
	for _, p := range []struct {
		s **sql.Stmt
		q string
	}{
		// A coin already held at this height is not found again.
		{&st.coin, `INSERT INTO utxos (txid, vout, wallet, value, script, change, idx, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (txid, vout) DO UPDATE SET height = excluded.height WHERE height != excluded.height`},
		{&st.raw, `INSERT OR IGNORE INTO txs (txid, raw) VALUES (?, ?)`},
		{&st.used, `UPDATE scripts SET used = 1 WHERE script = ? AND used = 0`},
		{&st.spent, `UPDATE utxos SET spent_txid = ?, spent_height = ? WHERE txid = ? AND vout = ?`},
	} {
		var err error
		if *p.s, err = t.Prepare(p.q); err != nil {
			return nil, err
		}
	}
	ws.stmtTx, ws.stmts = t, &st
	return &st, nil
}

// scanLookahead is the block of indexes a scan derives scripts in when a
// coin moves a wallet's gap window.
const scanLookahead = 256

type rowsQueryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type branch struct {
	wallet string
	change bool
}

// loadWatch reads the scripts of wallets and the coins not yet spent in a
// block.
func loadWatch(ctx context.Context, q rowsQueryer, wallets []*Wallet) (*watchSet, error) {
	ws := &watchSet{
		scripts: make(map[string]watched),
		coins:   make(map[psbt.OutPoint]struct{}),
		wallets: make(map[string]*Wallet, len(wallets)),
		top:     make(map[branch]uint32),
		ahead:   make(map[branch]*lookahead),
	}
	for _, w := range wallets {
		ws.wallets[w.Name] = w
	}
	rows, err := q.QueryContext(ctx, `SELECT script, wallet, change, idx FROM scripts`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var spk []byte
		var wd watched
		if err := rows.Scan(&spk, &wd.wallet, &wd.change, &wd.index); err != nil {
			return nil, err
		}
		if ws.wallets[wd.wallet] == nil {
			continue
		}
		ws.scripts[string(spk)] = wd
		if b := (branch{wd.wallet, wd.change}); wd.index >= ws.top[b] {
			ws.top[b] = wd.index
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	crows, err := q.QueryContext(ctx, `SELECT txid, vout FROM utxos WHERE spent_height IS NULL OR spent_height = 0`)
	if err != nil {
		return nil, err
	}
	return ws, eachOutPoint(crows, func(op psbt.OutPoint) { ws.coins[op] = struct{}{} })
}

// scanTxs records the watched wallets' coins created and spent by txs, at
// height (0 for the mempool). active says which wallets still need these
// transactions (nil: all). All outputs are looked at before any input, so
// the order of txs does not matter. When a coin moves a wallet's gap
// window, the new scripts are watched and only they are looked for again
// in the same transactions. It returns how many coins it recorded that
// the store did not hold at this height, and which transactions touched a
// wallet.
func scanTxs(t *sql.Tx, ws *watchSet, txs []*psbt.Tx, raws [][]byte, height int64, active func(string) bool) (found int, ours []bool, err error) {
	ours = make([]bool, len(txs))
	ids := make([]*psbt.Hash, len(txs))
	txid := func(k int) psbt.Hash {
		if ids[k] == nil {
			h := txs[k].TxID()
			ids[k] = &h
		}
		return *ids[k]
	}
	var st *scanStmts
	rawDone := make([]bool, len(txs))
	look := ws.scripts
	for len(look) > 0 {
		fresh := make(map[string]watched)
		for k, tx := range txs {
			for vout, out := range tx.Outputs {
				wd, ok := look[string(out.PkScript)]
				if !ok || (active != nil && !active(wd.wallet)) {
					continue
				}
				ours[k] = true
				id := txid(k)
				if st == nil {
					if st, err = ws.prepared(t); err != nil {
						return 0, nil, err
					}
				}
				res, err := st.coin.Exec(id.String(), vout, wd.wallet, out.Value, out.PkScript, wd.change, wd.index, height)
				if err != nil {
					return 0, nil, err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					found++
				}
				ws.coins[psbt.OutPoint{Hash: id, Index: uint32(vout)}] = struct{}{}
				if !rawDone[k] { // once per transaction, not per coin
					if _, err := st.raw.Exec(id.String(), raws[k]); err != nil {
						return 0, nil, err
					}
					rawDone[k] = true
				}
				if _, err := st.used.Exec(out.PkScript); err != nil {
					return 0, nil, err
				}
				if err := ws.extend(t, wd, fresh); err != nil {
					return 0, nil, err
				}
			}
		}
		// New scripts are watched now: look for them, and only them, in
		// the same transactions, in case an earlier one paid one.
		look = fresh
	}
	for k, tx := range txs {
		for _, in := range tx.Inputs {
			if _, ok := ws.coins[in.PrevOut]; !ok {
				continue
			}
			ours[k] = true
			if st == nil {
				if st, err = ws.prepared(t); err != nil {
					return 0, nil, err
				}
			}
			if _, err := st.spent.Exec(txid(k).String(), height, in.PrevOut.Hash.String(), in.PrevOut.Index); err != nil {
				return 0, nil, err
			}
			if height > 0 {
				delete(ws.coins, in.PrevOut)
			}
		}
	}
	return found, ours, nil
}

// extend keeps GapLimit unused scripts watched past wd on its branch,
// adding the scripts it derives to ws and to fresh.
func (ws *watchSet) extend(t *sql.Tx, wd watched, fresh map[string]watched) error {
	b := branch{wd.wallet, wd.change}
	upto := uint64(wd.index) + GapLimit
	if upto <= uint64(ws.top[b]) {
		return nil
	}
	// Derive ahead, to the end of a block of scanLookahead indexes, as
	// Bitcoin Core's keypool does: derivation in batches costs a
	// fraction per script of one at a time, and watching some more
	// unused scripts than the gap limit loses nothing.
	upto = min(upto|(scanLookahead-1), 1<<31-1)
	w := ws.wallets[wd.wallet]
	la := ws.ahead[b]
	if la == nil {
		la = &lookahead{d: w.Descriptor, change: wd.change}
		ws.ahead[b] = la
	}
	from, spks, err := extendWatched(t, w.Name, w.Descriptor, wd.change, uint32(upto), la.derive)
	if err != nil {
		return fmt.Errorf("wallet %q: %w", w.Name, err)
	}
	for k, spk := range spks {
		nw := watched{wallet: w.Name, change: wd.change, index: from + uint32(k)}
		ws.scripts[string(spk)] = nw
		fresh[string(spk)] = nw
	}
	ws.top[b] = uint32(upto)
	return nil
}
