package coordinator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/psbt"
)

// SyncReport tells what a sync did.
type SyncReport struct {
	Tip     int64
	Scanned int // blocks scanned
	Reorged int // blocks rolled back
	Found   int // coins found in blocks
	Mempool int // wallet coins seen unconfirmed
	// MempoolRead is how many mempool transactions the sync read: those
	// it had not examined before, and those that touch scripts or coins
	// added since.
	MempoolRead int
	Wallets     int
	TipHash     string
	ForkedAt    int64 // height of the last common block after a reorg, -1 if none
}

type watched struct {
	wallet string
	change bool
	index  uint32
}

// Sync brings every wallet up to the node's tip: it rolls back blocks the
// node no longer has (a reorg takes its coins with it), scans new blocks
// from each wallet's birthday with a gap limit on both branches, and then
// takes the mempool's view of unconfirmed coins and spends, reading only
// the mempool transactions it has not examined before. It uses only RPCs
// that Bitcoin Core and btcd both answer.
func (c *Coordinator) Sync(ctx context.Context, node *chain.Client) (*SyncReport, error) {
	rep, wallets, err := c.syncBlocks(ctx, node)
	if err != nil || len(wallets) == 0 {
		return rep, err
	}
	n, read, err := c.syncMempool(ctx, node, wallets)
	if err != nil {
		return rep, err
	}
	rep.Mempool, rep.MempoolRead = n, read
	if err := c.settleReplacements(ctx); err != nil { // bump.go
		return rep, err
	}
	return rep, c.auditSync(ctx, rep)
}

// SyncBlocks is Sync without the mempool: what a spend needs before it
// checks its candidate coins with [Coordinator.CheckCoins].
func (c *Coordinator) SyncBlocks(ctx context.Context, node *chain.Client) (*SyncReport, error) {
	rep, wallets, err := c.syncBlocks(ctx, node)
	if err != nil || len(wallets) == 0 {
		return rep, err
	}
	if err := c.tx(ctx, func(t *sql.Tx) error {
		return t.QueryRow(`SELECT count(*) FROM utxos WHERE height = 0`).Scan(&rep.Mempool)
	}); err != nil {
		return rep, storeErr(err)
	}
	if err := c.settleReplacements(ctx); err != nil { // bump.go
		return rep, err
	}
	return rep, c.auditSync(ctx, rep)
}

func (c *Coordinator) syncBlocks(ctx context.Context, node *chain.Client) (*SyncReport, []*Wallet, error) {
	rep := &SyncReport{ForkedAt: -1}
	var wallets []*Wallet
	// A reorg while blocks are being scanned is noticed by the next
	// block's link to the stored one; the sync then starts over from the
	// rollback.
	for attempt := 0; ; attempt++ {
		tip, err := node.Height()
		if err != nil {
			return nil, nil, err
		}
		rep.Tip = tip
		if err := c.rollback(ctx, node, rep); err != nil {
			return nil, nil, err
		}
		if wallets, err = c.loadAll(ctx); err != nil {
			return nil, nil, storeErr(err)
		}
		rep.Wallets = len(wallets)
		if len(wallets) == 0 {
			return rep, nil, nil
		}
		relinked, err := c.scanBlocks(ctx, node, wallets, tip, rep)
		if err != nil {
			return rep, nil, err
		}
		if !relinked {
			return rep, wallets, nil
		}
		if attempt == maxSyncAttempts {
			return rep, nil, fmt.Errorf("the node's chain kept changing during %d syncs", maxSyncAttempts+1)
		}
	}
}

// maxSyncAttempts bounds how often a sync starts over because the node's
// chain changed under it.
const maxSyncAttempts = 4

// Blocks are read in batches, the next batch while the last is scanned,
// and committed every commitBlocks blocks or commitEvery, whichever comes
// first: a stop loses at most that much work, never consistency.
const (
	commitBlocks = 1000
	commitEvery  = 2 * time.Second
	// fetchBytes is about how many bytes of blocks one batch asks for.
	fetchBytes = 16 << 20
	maxFetch   = 256 // blocks in one batch
)

type fetched struct {
	blocks []*chain.Block
	err    error
}

// fetchBlocks reads the blocks from..to in batches, sized to about
// fetchBytes, into a channel, until done is closed.
func fetchBlocks(node *chain.Client, from, to int64, done <-chan struct{}) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		defer close(ch)
		per := int64(16)
		for h := from; h <= to; {
			end := min(h+per-1, to)
			hashes, err := node.BlockHashes(h, end)
			var blocks []*chain.Block
			if err == nil {
				blocks, err = node.Blocks(hashes, h)
			}
			select {
			case ch <- fetched{blocks, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
			size := 0
			for _, b := range blocks {
				size += b.Size
			}
			per = max(1, min(maxFetch, int64(fetchBytes/(size/len(blocks)+1))))
			h = end + 1
		}
	}()
	return ch
}

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
	if from > tip {
		return false, nil
	}
	ws, err := loadWatch(ctx, c.db, wallets)
	if err != nil {
		return false, storeErr(err)
	}
	defer ws.close()
	done := make(chan struct{})
	defer close(done)
	blocks := fetchBlocks(node, from, tip, done)

	var t *sql.Tx
	var began time.Time
	pending, last := 0, int64(0)
	// flush commits the blocks scanned so far, with each wallet's mark.
	flush := func() error {
		if t == nil {
			return nil
		}
		for _, w := range wallets {
			if w.Scanned >= last {
				continue
			}
			if _, err := t.Exec(`UPDATE wallets SET scanned = ? WHERE name = ?`, last, w.Name); err != nil {
				t.Rollback()
				t = nil
				return storeErr(fmt.Errorf("scan block %d: %w", last, err))
			}
		}
		err := t.Commit()
		t = nil
		if err != nil {
			return storeErr(fmt.Errorf("scan block %d: %w", last, err))
		}
		for _, w := range wallets {
			w.Scanned = max(w.Scanned, last)
		}
		pending = 0
		return nil
	}
	defer func() {
		if t != nil {
			t.Rollback()
		}
	}()
	prev := ""
	for f := range blocks {
		if f.err != nil {
			if ferr := flush(); ferr != nil {
				return false, ferr
			}
			return false, f.err
		}
		for _, blk := range f.blocks {
			h := blk.Height
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if t == nil {
				if t, err = c.db.BeginTx(ctx, nil); err != nil {
					return false, storeErr(err)
				}
				began = time.Now()
			}
			if prev == "" {
				err := t.QueryRow(`SELECT hash FROM blocks WHERE height = ?`, h-1).Scan(&prev)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return false, storeErr(err)
				}
			}
			var stored string
			err := t.QueryRow(`SELECT hash FROM blocks WHERE height = ?`, h).Scan(&stored)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return false, storeErr(err)
			}
			if (prev != "" && prev != blk.PrevHash) || (stored != "" && stored != blk.Hash) {
				return true, flush()
			}
			txs := make([]*psbt.Tx, len(blk.Txs))
			for k, raw := range blk.Txs {
				if txs[k], err = psbt.ParseTx(raw); err != nil {
					return false, fmt.Errorf("block %s tx %d: %w", blk.Hash, k, err)
				}
			}
			n, _, err := scanTxs(t, ws, txs, blk.Txs, h, func(name string) bool { return ws.wallets[name].Scanned < h })
			if err != nil {
				return false, storeErr(fmt.Errorf("scan block %d: %w", h, err))
			}
			rep.Found += n
			if _, err := t.Exec(`INSERT OR REPLACE INTO blocks (height, hash, time) VALUES (?, ?, ?)`, h, blk.Hash, blk.Time); err != nil {
				return false, storeErr(fmt.Errorf("scan block %d: %w", h, err))
			}
			prev, last = blk.Hash, h
			pending++
			rep.Scanned++
			rep.TipHash = blk.Hash
			if pending >= commitBlocks || time.Since(began) >= commitEvery {
				if err := flush(); err != nil {
					return false, err
				}
			}
		}
	}
	return false, flush()
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
		return storeErr(err)
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
			return storeErr(err)
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
		return forgetMempool(t)
	})
}
