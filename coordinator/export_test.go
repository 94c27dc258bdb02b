package coordinator

import "context"

// ForgetBlockHashForTest overwrites the hash the store remembers for its
// highest scanned block, which the next sync sees as a one-block reorg.
func ForgetBlockHashForTest(c *Coordinator, ctx context.Context) error {
	_, err := c.db.ExecContext(ctx, `UPDATE blocks SET hash = '00' WHERE height = (SELECT max(height) FROM blocks)`)
	return err
}
