package coordinator_test

import (
	"context"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/wallet"
)

// fundIndex pays v to the wallet's script at (change, index) without
// handing the address out, as a payer who got it elsewhere would.
func (f *fixture) fundIndex(change bool, index uint32, v int64) {
	f.t.Helper()
	der, err := f.desc.Derive(change, index)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.node.Fund(der.ScriptPubKey, v); err != nil {
		f.t.Fatal(err)
	}
}

// The coordinator watches GapLimit (20) unused scripts past the last used
// one on each branch, extends the window as coins arrive, and a rescan
// finds coins that were paid beyond the window before it moved.
func TestGapLimit(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3)
	ctx := context.Background()

	f.fundIndex(false, 25, 1_000_000) // beyond the window 0..19
	f.mine()
	if b := f.balance(); b.Coins != 0 {
		t.Fatalf("a coin beyond the gap limit was found: %+v", b)
	}

	// Index 10 and index 29 in one block: 10 moves the window to 30, and
	// the same block is looked at again, so 29 is found too.
	f.fundIndex(false, 10, 2_000_000)
	f.fundIndex(false, 29, 3_000_000)
	f.fundIndex(true, 19, 4_000_000) // the change branch has its own window
	f.mine()
	if b := f.balance(); b.Confirmed != 9_000_000 || b.Coins != 3 {
		t.Fatalf("balance: %+v, want the coins at receive 10 and 29 and change 19", b)
	}

	// The coin at 25 came before the window reached it: a rescan finds it.
	if err := f.coord.Rescan(ctx, f.name); err != nil {
		t.Fatal(err)
	}
	if _, err := f.coord.Sync(ctx, f.rpc); err != nil {
		t.Fatal(err)
	}
	if b := f.balance(); b.Confirmed != 10_000_000 || b.Coins != 4 {
		t.Fatalf("balance after the rescan: %+v", b)
	}

	// A handed-out address skips the ones that already received coins.
	addr, idx, err := f.coord.NextAddress(ctx, f.name)
	if err != nil {
		t.Fatal(err)
	}
	if idx != 0 {
		t.Errorf("first handed-out index %d, want 0", idx)
	}
	want, _ := f.desc.Derive(false, 0)
	if addr != want.Address {
		t.Errorf("address %s, want %s", addr, want.Address)
	}
	if err := f.coord.Rescan(ctx, "nope"); err == nil {
		t.Error("rescan of an unknown wallet succeeded")
	}
}

// A block that does not build on the stored one is not scanned: the chain
// changed under the sync, which starts over from the rollback.
func TestScanStopsAtABrokenLink(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 5_000_000)
	ctx := context.Background()
	if err := coordinator.ForgetBlockHashForTest(f.coord, ctx); err != nil {
		t.Fatal(err)
	}
	f.fundIndex(false, 1, 7_000_000)
	if _, err := f.node.Mine(1); err != nil {
		t.Fatal(err)
	}
	relinked, err := coordinator.ScanBlocksForTest(f.coord, ctx, f.rpc)
	if err != nil {
		t.Fatal(err)
	}
	if !relinked {
		t.Fatal("a block that does not build on the stored tip was scanned")
	}
	if b := f.balance(); b.Coins != 1 {
		t.Fatalf("balance after the refused scan: %+v", b)
	}
	rep, err := f.coord.Sync(ctx, f.rpc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reorged != 1 {
		t.Errorf("sync rolled back %d blocks, want 1", rep.Reorged)
	}
	if b := f.balance(); b.Confirmed != 12_000_000 || b.Coins != 2 {
		t.Fatalf("balance after the sync: %+v", b)
	}
}
