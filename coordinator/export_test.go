package coordinator

import (
	"context"
	"database/sql"

	"github.com/kinko-project/kinko/coordinator/chain"
)

// ForgetBlockHashForTest overwrites the hash the store remembers for its
// highest scanned block, which the next sync sees as a one-block reorg.
func ForgetBlockHashForTest(c *Coordinator, ctx context.Context) error {
	_, err := c.db.ExecContext(ctx, `UPDATE blocks SET hash = '00' WHERE height = (SELECT max(height) FROM blocks)`)
	return err
}

// ScanBlocksForTest runs the block scan of Sync alone, without the
// rollback before it, as if the node's chain changed between the two.
func ScanBlocksForTest(c *Coordinator, ctx context.Context, node *chain.Client) (relinked bool, err error) {
	tip, err := node.Height()
	if err != nil {
		return false, err
	}
	ws, err := c.loadAll(ctx)
	if err != nil {
		return false, err
	}
	return c.scanBlocks(ctx, node, ws, tip, &SyncReport{})
}

// WatchForTest watches the wallet's receive scripts up to index upto, as
// if the addresses had been handed out.
func WatchForTest(c *Coordinator, name string, upto uint32) error {
	w, err := c.Wallet(context.Background(), name)
	if err != nil {
		return err
	}
	return c.tx(context.Background(), func(t *sql.Tx) error {
		return extendScripts(t, name, w.Descriptor, false, upto)
	})
}

// RandomWalletForTest is a 2-of-3 P2WSH regtest wallet of fresh random keys.
var RandomWalletForTest = randomWallet
