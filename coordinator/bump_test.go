package coordinator_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// broadcastAt opens a session paying amount at rate, has two signers sign
// it, finalizes and broadcasts it, and syncs.
func (f *fixture) broadcastAt(req coordinator.SpendRequest) (*coordinator.Session, string) {
	f.t.Helper()
	ctx := context.Background()
	s, err := f.coord.Spend(ctx, f.name, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.signAndBroadcast(s)
}

func (f *fixture) signAndBroadcast(s *coordinator.Session) (*coordinator.Session, string) {
	f.t.Helper()
	ctx := context.Background()
	f.importOK(s.ID, f.sign(s, 0))
	if len(f.parties) > 1 {
		f.importOK(s.ID, f.sign(s, 2))
	}
	if _, err := f.coord.Finalize(ctx, s.ID, f.rpc); err != nil {
		f.t.Fatal(err)
	}
	txid, err := f.coord.Broadcast(ctx, s.ID, f.rpc)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.coord.Sync(ctx, f.rpc); err != nil {
		f.t.Fatal(err)
	}
	s, err = f.coord.Session(ctx, s.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return s, txid
}

func finalVSize(t *testing.T, s *coordinator.Session) int {
	t.Helper()
	tx, err := psbt.ParseTx(s.FinalTx)
	if err != nil {
		t.Fatal(err)
	}
	return (3*len(tx.BytesNoWitness()) + len(tx.Bytes()) + 3) / 4
}

// A session broadcast at 1 sat/vB is bumped to 5 sat/vB: the node takes
// the replacement (btcd applies BIP-125), the replacement confirms, and
// the old session shows as replaced.
func TestBumpReplacementConfirms(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 2_000_000)
	ctx := context.Background()
	to := outside(t)
	old, oldTxid := f.broadcastAt(coordinator.SpendRequest{Payments: []coordinator.Payment{{Address: to, Amount: 500_000}}, FeeRate: 1})
	oldRate := float64(old.Fee) / float64(finalVSize(t, old))
	if _, err := f.coord.Bump(ctx, old.ID, oldRate+0.5, coordinator.FeeCap{}); !errors.Is(err, coordinator.ErrBumpTooLow) {
		t.Errorf("bump by half a sat/vB: %v", err)
	}
	if _, err := f.coord.Bump(ctx, old.ID, 5, coordinator.FeeCap{Fee: 500}); !errors.Is(err, coordinator.ErrFeeCap) {
		t.Errorf("bump above a fee cap of 500 sat: %v", err)
	}
	nb, err := f.coord.Bump(ctx, old.ID, 5, coordinator.FeeCap{})
	if err != nil {
		t.Fatal(err)
	}
	if nb.Replaces != old.ID || nb.State != coordinator.StateOpen {
		t.Errorf("replacement %+v", nb)
	}
	if !slices.Equal(inputsOf(t, nb), inputsOf(t, old)) {
		t.Errorf("replacement spends %v, the old %v", inputsOf(t, nb), inputsOf(t, old))
	}
	if nb.Fee <= old.Fee || nb.Fee < old.Fee+int64(nb.VSize) || float64(nb.Fee)/float64(nb.VSize) < 5 {
		t.Errorf("replacement fee %d over %d vB; the old paid %d", nb.Fee, nb.VSize, old.Fee)
	}
	if _, err := f.coord.Bump(ctx, old.ID, 6, coordinator.FeeCap{}); !errors.Is(err, coordinator.ErrSessionState) {
		t.Errorf("a second bump of the same session: %v", err)
	}
	nb, newTxid := f.signAndBroadcast(nb)
	if rate := float64(nb.Fee) / float64(finalVSize(t, nb)); rate < 5 {
		t.Errorf("replacement broadcast at %.2f sat/vB", rate)
	}
	hashes := f.mine()
	if !blockHas(t, f.rpc, hashes[0], newTxid) || blockHas(t, f.rpc, hashes[0], oldTxid) {
		t.Fatalf("block %s: replacement %s in it: %v, old %s: %v", hashes[0], newTxid, blockHas(t, f.rpc, hashes[0], newTxid), oldTxid, blockHas(t, f.rpc, hashes[0], oldTxid))
	}
	got, _ := f.coord.Session(ctx, old.ID)
	if got.State != coordinator.StateReplaced {
		t.Errorf("old session is %s", got.State)
	}
	got, _ = f.coord.Session(ctx, nb.ID)
	if got.State != coordinator.StateBroadcast {
		t.Errorf("replacement is %s", got.State)
	}
	if b := f.balance(); b.Confirmed != 2_000_000-500_000-nb.Fee || b.Unconfirmed != 0 || b.Reserved != 0 {
		t.Errorf("balance %+v after the replacement paid %d", b, nb.Fee)
	}
	ks := kinds(auditEntries(t, f.coord))
	if !slices.Contains(ks, "bumped") || !slices.Contains(ks, "replaced") {
		t.Errorf("audit kinds %v", ks)
	}
}

// A sweep has no change: its bump adds a coin and a change output. When
// the old transaction confirms first, the replacement is marked replaced
// and the coin it added is free again.
func TestBumpAddsCoinAndOldConfirms(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 1_000_000, 3_000_000)
	ctx := context.Background()
	a, b := coinOf(t, f, 1_000_000), coinOf(t, f, 3_000_000)
	old, oldTxid := f.broadcastAt(coordinator.SpendRequest{SweepTo: outside(t), Coins: []psbt.OutPoint{a.OutPoint}, FeeRate: 1})
	nb, err := f.coord.Bump(ctx, old.ID, 5, coordinator.FeeCap{})
	if err != nil {
		t.Fatal(err)
	}
	ins := inputsOf(t, nb)
	if len(ins) != 2 || ins[0] != a.OutPoint || ins[1] != b.OutPoint {
		t.Errorf("replacement inputs %v", ins)
	}
	p := mustParse(t, nb.PSBT)
	if len(p.UnsignedTx.Outputs) != 2 {
		t.Errorf("replacement has %d outputs, want the sweep's and a change", len(p.UnsignedTx.Outputs))
	}
	if got := coinOf(t, f, 3_000_000).Session; got != nb.ID {
		t.Errorf("added coin reserved by %q", got)
	}
	hashes := f.mine()
	if !blockHas(t, f.rpc, hashes[0], oldTxid) {
		t.Fatal("old transaction not mined")
	}
	got, _ := f.coord.Session(ctx, nb.ID)
	if got.State != coordinator.StateReplaced {
		t.Errorf("the unbroadcast replacement is %s after the old confirmed", got.State)
	}
	if got := coinOf(t, f, 3_000_000); got.Session != "" {
		t.Errorf("added coin still reserved by %q", got.Session)
	}
	if _, err := f.coord.Bump(ctx, old.ID, 10, coordinator.FeeCap{}); !errors.Is(err, coordinator.ErrSessionState) {
		t.Errorf("bumping a confirmed transaction: %v", err)
	}
}

// A CPFP child spends the parent's unconfirmed change and both are mined
// in the same block. (On regtest btcd mines every transaction of its
// mempool, so what this shows is that the child is valid, accepted with
// its parent unconfirmed, and lifts the package to the rate asked.)
func TestCPFP(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 2_000_000)
	ctx := context.Background()
	parent, ptxid := f.broadcastAt(coordinator.SpendRequest{Payments: []coordinator.Payment{{Address: outside(t), Amount: 500_000}}, FeeRate: 1})
	child, err := f.coord.CPFP(ctx, parent.ID, 10, coordinator.FeeCap{})
	if err != nil {
		t.Fatal(err)
	}
	if child.Parent != parent.ID {
		t.Errorf("child %+v", child)
	}
	if ins := inputsOf(t, child); len(ins) != 1 || ins[0].Hash.String() != ptxid {
		t.Errorf("child spends %v, not the parent %s", ins, ptxid)
	}
	pkg := float64(parent.Fee+child.Fee) / float64(finalVSize(t, parent)+child.VSize)
	if pkg < 10 || pkg > 10.5 {
		t.Errorf("package rate %.2f, want 10", pkg)
	}
	if _, err := f.coord.CPFP(ctx, parent.ID, 10, coordinator.FeeCap{}); !errors.Is(err, coordinator.ErrCoinsReserved) {
		t.Errorf("a second child of the same change: %v", err)
	}
	child, ctxid := f.signAndBroadcast(child)
	hashes := f.mine()
	if !blockHas(t, f.rpc, hashes[0], ptxid) || !blockHas(t, f.rpc, hashes[0], ctxid) {
		t.Fatal("parent and child not in the same block")
	}
	if b := f.balance(); b.Confirmed != 2_000_000-500_000-parent.Fee-child.Fee || b.Unconfirmed != 0 || b.Coins != 1 {
		t.Errorf("balance %+v", b)
	}
}
