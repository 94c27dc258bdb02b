package coordinator_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/coordinator/chain"
	"github.com/kinko-project/kinko/internal/regtest"
	"github.com/kinko-project/kinko/wallet"
)

func (f *fixture) sync() *coordinator.SyncReport {
	f.t.Helper()
	rep, err := f.coord.Sync(context.Background(), f.rpc)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// payOutside puts a transaction that pays none of the wallets in the
// mempool.
func (f *fixture) payOutside() {
	f.t.Helper()
	spk := make([]byte, 34)
	spk[0], spk[1] = 0x00, 0x20
	rand.Read(spk[2:])
	if _, err := f.node.Fund(spk, 20_000); err != nil {
		f.t.Fatal(err)
	}
}

// A sync reads only the mempool transactions it has not examined before,
// and reads an examined one again only when it may pay a script watched
// since (here: one the gap window reached because of a newer deposit).
func TestMempoolIncremental(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 5_000_000) // index 0, confirmed
	f.sync()
	for range 5 {
		f.payOutside()
	}
	f.fundIndex(false, 1, 1_000_000)
	rep := f.sync()
	if rep.MempoolRead != 6 || rep.Mempool != 1 {
		t.Fatalf("first sync read %d mempool transactions and saw %d unconfirmed coins; want 6 and 1", rep.MempoolRead, rep.Mempool)
	}
	if rep = f.sync(); rep.MempoolRead != 0 || rep.Mempool != 1 {
		t.Fatalf("second sync read %d mempool transactions (want 0), %d unconfirmed coins", rep.MempoolRead, rep.Mempool)
	}

	// The coin at 1 moved the window to 255 (a scan derives ahead in
	// blocks of 256). Index 300 is beyond it: examined, not ours.
	f.fundIndex(false, 300, 3_000_000)
	if rep = f.sync(); rep.MempoolRead != 1 || f.balance().Unconfirmed != 1_000_000 {
		t.Fatalf("read %d, balance %+v; want 1 read and only the coin at 1 unconfirmed", rep.MempoolRead, f.balance())
	}
	// Index 250 moves the window to 511: the transaction paying 300 is
	// read again in the same sync, and nothing else is.
	f.fundIndex(false, 250, 2_000_000)
	rep = f.sync()
	if b := f.balance(); b.Unconfirmed != 6_000_000 || rep.Mempool != 3 {
		t.Fatalf("balance %+v, %d unconfirmed coins; want 0.06 BTC in 3", b, rep.Mempool)
	}
	if rep.MempoolRead != 2 { // 250, new; 300 again after the window moved
		t.Errorf("read %d mempool transactions, want 2", rep.MempoolRead)
	}

	// Mined, they leave the mempool and are confirmed.
	f.node.Mine(1)
	rep = f.sync()
	if b := f.balance(); b.Confirmed != 11_000_000 || b.Unconfirmed != 0 || b.Coins != 4 || rep.Mempool != 0 || rep.MempoolRead != 0 {
		t.Fatalf("after mining: %+v, report %+v", b, rep)
	}
}

// Rediscovery: a wallet restored into a fresh data directory finds every
// coin once, however often the gap window moves inside one block, and
// says how many it found.
func TestRediscoveryCountsTrue(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3)
	for i := range uint32(45) {
		f.fundIndex(false, i, 100_000)
	}
	f.mine()
	if b := f.balance(); b.Coins != 45 {
		t.Fatalf("found %d coins, want 45", b.Coins)
	}

	ctx := context.Background()
	fresh, err := coordinator.Open(filepath.Join(t.TempDir(), "restored"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	w, err := f.coord.Wallet(ctx, f.name)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.CreateWallet(ctx, f.name, f.desc, w.Birthday); err != nil {
		t.Fatal(err)
	}
	rep, err := fresh.Sync(ctx, f.rpc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 45 {
		t.Errorf("the restored wallet reports %d coins found, want 45", rep.Found)
	}
	b, err := fresh.Balance(ctx, f.name)
	if err != nil || b.Coins != 45 || b.Confirmed != 4_500_000 {
		t.Fatalf("restored balance %+v, %v", b, err)
	}
	// Synced again, nothing more is found.
	if rep, err = fresh.Sync(ctx, f.rpc); err != nil || rep.Found != 0 {
		t.Fatalf("second sync found %d, %v", rep.Found, err)
	}
}

// CheckCoins marks a coin the node no longer has as spent, without a
// sync: a spend then does not pick it.
func TestCheckCoins(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 30_000_000, 40_000_000)
	ctx := context.Background()
	// A second coordinator, synced now, does not hear of the spend below.
	other, err := coordinator.Open(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	w, _ := f.coord.Wallet(ctx, f.name)
	if err := other.CreateWallet(ctx, f.name, f.desc, w.Birthday); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Sync(ctx, f.rpc); err != nil {
		t.Fatal(err)
	}
	if n, err := other.CheckCoins(ctx, f.rpc, f.name, 1); err != nil || n != 0 {
		t.Fatalf("CheckCoins with nothing spent = %d, %v", n, err)
	}

	s, _ := f.spend(60_000_000) // needs both coins
	f.importOK(s.ID, f.sign(s, 0))
	f.importOK(s.ID, f.sign(s, 1))
	f.finishAndConfirm(s, 70_000_000, 60_000_000)

	n, err := other.CheckCoins(ctx, f.rpc, f.name, 1)
	if err != nil || n != 2 {
		t.Fatalf("CheckCoins after both coins were spent = %d, %v; want 2", n, err)
	}
	if _, err := other.Spend(ctx, f.name, coordinator.SpendRequest{
		Payments: []coordinator.Payment{{Address: outside(t), Amount: 10_000}}, FeeRate: 2,
	}); err == nil {
		t.Fatal("a spend picked a coin the node says is gone")
	}
	// The next sync puts the spend in its place.
	if _, err := other.Sync(ctx, f.rpc); err != nil {
		t.Fatal(err)
	}
	b, err := other.Balance(ctx, f.name)
	if err != nil || b.Confirmed != f.balance().Confirmed {
		t.Fatalf("after a sync the other store says %+v, %v; the first %+v", b, err, f.balance())
	}
}

// An import that adds no signature is not kept: PSBTs that repeat what
// the session has do not grow the store.
func TestImportAddingNothingIsNotStored(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 40_000_000)
	ctx := context.Background()
	s, _ := f.spend(10_000_000)
	if r := f.importOK(s.ID, f.sign(s, 0)); r.Added == 0 {
		t.Fatalf("first import: %+v", r)
	}
	now, err := f.coord.Session(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The unsigned PSBT, and the session's own PSBT with the signature
	// it has: other bytes, nothing new.
	for _, raw := range [][]byte{s.PSBT, now.PSBT} {
		if r := f.importOK(s.ID, raw); r.Added != 0 || r.Duplicate {
			t.Fatalf("import adding nothing: %+v", r)
		}
	}
	if got, err := f.coord.Session(ctx, s.ID); err != nil || got.Parts != 1 {
		t.Fatalf("session keeps %d imported PSBTs, want 1 (%v)", got.Parts, err)
	}
}

// A store opened read-only still answers what reads need; whatever
// writes fails as a StoreError. Without root, a data directory that
// cannot be written is what makes Open fail and OpenReadOnly serve.
func TestOpenReadOnly(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 20_000_000)
	ctx := context.Background()
	s, _ := f.spend(1_000_000)
	f.coord.Close()
	if os.Geteuid() != 0 {
		if err := os.Chmod(f.dir, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(f.dir, 0o700)
		if c, err := coordinator.Open(f.dir); err == nil || !coordinator.IsStoreError(err) {
			t.Fatalf("Open of a read-only directory: %v", err)
			c.Close()
		}
	}
	ro, err := coordinator.OpenReadOnly(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.coord = ro
	defer ro.Close()
	if b := f.balance(); b.Confirmed != 20_000_000 || b.Reserved != 20_000_000 {
		t.Fatalf("balance read-only: %+v", b)
	}
	if names, err := ro.Wallets(ctx); err != nil || len(names) != 1 {
		t.Fatalf("wallets read-only: %v, %v", names, err)
	}
	if got, err := ro.Session(ctx, s.ID); err != nil || got.State != coordinator.StateOpen {
		t.Fatalf("session read-only: %v", err)
	}
	if _, _, err := ro.NextAddress(ctx, f.name); !coordinator.IsStoreError(err) {
		t.Fatalf("a write to a read-only store: %v; want a StoreError", err)
	}
	// A sync that cannot write is a storage error, not a node error.
	f.node.Mine(1)
	if _, err := ro.Sync(ctx, f.rpc); !coordinator.IsStoreError(err) {
		t.Fatalf("sync into a read-only store: %v; want a StoreError", err)
	}
	if _, err := coordinator.OpenReadOnly(t.TempDir()); !coordinator.IsStoreError(err) {
		t.Fatalf("OpenReadOnly without a store: %v", err)
	}
}

// A node restarted on another chain (here: another node) goes back past
// an open session's coins. Balance and session say so; the coins are not
// passed off as unconfirmed.
func TestChainWentBackPastASession(t *testing.T) {
	f := newWallet(t, wallet.P2WSH, 2, 3, 20_000_000)
	ctx := context.Background()
	s, _ := f.spend(1_000_000)

	other, err := regtest.Start(ctx, regtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	host, user, pass := other.RPC()
	rpc, err := chain.Dial(chain.Config{Host: host, User: user, Pass: pass})
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	rep, err := f.coord.Sync(ctx, rpc)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reorged == 0 {
		t.Fatalf("no rollback: %+v", rep)
	}
	b := f.balance()
	if b.RolledBack != 20_000_000 || b.Unconfirmed != 0 || b.Confirmed != 0 {
		t.Fatalf("balance after the chain went back: %+v; want the session's coin rolled back, not unconfirmed", b)
	}
	got, err := f.coord.Session(ctx, s.ID)
	if err != nil || got.RolledBack != 1 {
		t.Fatalf("session: %+v, %v; want 1 coin rolled back", got, err)
	}
	// Back on the first node, the coin is confirmed again.
	if _, err := f.coord.Sync(ctx, f.rpc); err != nil {
		t.Fatal(err)
	}
	if b := f.balance(); b.RolledBack != 0 || b.Confirmed != 20_000_000 {
		t.Fatalf("balance back on the first chain: %+v", b)
	}
}
