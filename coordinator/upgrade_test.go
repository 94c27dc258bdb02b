package coordinator_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/wallet"
)

// The store under testdata/v0-store was made by kinko before it had schema
// migrations (commit 2bdca57, the schema of CREATE TABLE IF NOT EXISTS
// statements plus the audit log's table), by running
//
//	KINKO_MAKE_V0_STORE=$PWD/testdata/v0-store go test -count=1 -run TestMakeV0Store ./coordinator/
//
// on that commit. manifest.json beside it is what that code read back
// from the store through the coordinator's API; the upgrade test opens a
// copy with today's code and must read back the same.

type manifest struct {
	Wallets  []manifestWallet  `json:"wallets"`
	Sessions []manifestSession `json:"sessions"`
	Audit    string            `json:"audit"` // the log's head, seq:hash
}

type manifestWallet struct {
	Name        string              `json:"name"`
	Descriptor  string              `json:"descriptor"`
	Birthday    int64               `json:"birthday"`
	Scanned     int64               `json:"scanned"`
	NextReceive uint32              `json:"next_receive"`
	Balance     coordinator.Balance `json:"balance"`
	Spendable   []manifestCoin      `json:"spendable"`
}

type manifestCoin struct {
	OutPoint string `json:"outpoint"`
	Value    int64  `json:"value"`
	Change   bool   `json:"change"`
	Index    uint32 `json:"index"`
	Height   int64  `json:"height"`
}

type manifestSession struct {
	ID, Wallet, State, TxID, Created, BroadcastTxID string
	Fee                                             int64
	VSize, Parts                                    int
	PSBT, FinalTx                                   []byte
}

func readManifest(t *testing.T, c *coordinator.Coordinator) *manifest {
	t.Helper()
	ctx := context.Background()
	var m manifest
	names, err := c.Wallets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		w, err := c.Wallet(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Balance(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		mw := manifestWallet{Name: n, Descriptor: w.Descriptor.String(), Birthday: w.Birthday, Scanned: w.Scanned, NextReceive: w.NextReceive, Balance: *b}
		coins, err := c.SpendableCoins(ctx, n, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range coins {
			mw.Spendable = append(mw.Spendable, manifestCoin{k.OutPoint.String(), k.Value, k.Change, k.Index, k.Height})
		}
		m.Wallets = append(m.Wallets, mw)
	}
	ss, err := c.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		m.Sessions = append(m.Sessions, manifestSession{s.ID, s.Wallet, s.State, s.TxID, s.Created, s.BroadcastTxID, s.Fee, s.VSize, s.Parts, s.PSBT, s.FinalTx})
	}
	head, err := c.VerifyAudit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Audit = head.String()
	return &m
}

// TestMakeV0Store makes testdata/v0-store (see above); it runs only when
// asked to.
func TestMakeV0Store(t *testing.T) {
	out := os.Getenv("KINKO_MAKE_V0_STORE")
	if out == "" {
		t.Skip("set KINKO_MAKE_V0_STORE=DIR to make a store with this code")
	}
	ctx := context.Background()
	f := newWallet(t, wallet.P2WSH, 2, 3, 1_000_000, 2_000_000, 3_000_000, 4_000_000)
	// A single-key wallet beside it, in the same store.
	_, rpc := node(t)
	h, _ := rpc.Height()
	hd := newParties(t, 1, wallet.Regtest, wallet.P2WPKH)[0]
	text := "wpkh([" + hd.rec.Origin.String() + "]" + hd.rec.Key.String() + "/<0;1>/*)"
	hotDesc, err := wallet.ParseDescriptor(text, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.coord.ImportWallet(ctx, "hot", hotDesc, h); err != nil {
		t.Fatal(err)
	}
	addr, _, err := f.coord.NextAddress(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	spk, _ := wallet.ScriptFromAddress(addr, wallet.Regtest)
	if _, err := f.node.Fund(spk, 500_000); err != nil {
		t.Fatal(err)
	}
	f.mine()
	// A session signed, broadcast and confirmed.
	done, _ := f.spend(700_000)
	f.importOK(done.ID, f.sign(done, 0))
	f.importOK(done.ID, f.sign(done, 2))
	f.finishAndConfirm(done, 10_000_000, 700_000)
	// One broadcast and still in the mempool.
	pending, _ := f.spend(300_000)
	f.importOK(pending.ID, f.sign(pending, 1))
	f.importOK(pending.ID, f.sign(pending, 2))
	if _, err := f.coord.Finalize(ctx, pending.ID, f.rpc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.coord.Broadcast(ctx, pending.ID, f.rpc); err != nil {
		t.Fatal(err)
	}
	// One open with a signature, one cancelled.
	open, _ := f.spend(200_000)
	f.importOK(open.ID, f.sign(open, 0))
	gone, _ := f.spend(100_000)
	if err := f.coord.Cancel(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	// A payment to the wallet still in the mempool.
	addr, _, err = f.coord.NextAddress(ctx, f.name)
	if err != nil {
		t.Fatal(err)
	}
	spk, _ = wallet.ScriptFromAddress(addr, wallet.Regtest)
	if _, err := f.node.Fund(spk, 123_456); err != nil {
		t.Fatal(err)
	}
	if _, err := f.coord.Sync(ctx, f.rpc); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, f.coord)
	if err := f.coord.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(f.dir, coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, coordinator.DBName), db, 0o644); err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(m, "", "\t")
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// v0Store copies testdata/v0-store's database into a new directory.
func v0Store(t *testing.T) string {
	t.Helper()
	db, err := os.ReadFile(filepath.Join("testdata", "v0-store", coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, coordinator.DBName), db, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantManifest(t *testing.T) *manifest {
	t.Helper()
	js, err := os.ReadFile(filepath.Join("testdata", "v0-store", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func sameManifest(t *testing.T, got, want *manifest) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("the upgraded store reads back\n%s\nthe old code read\n%s", g, w)
	}
	if len(want.Wallets) != 2 || len(want.Sessions) != 4 {
		t.Fatalf("manifest holds %d wallets and %d sessions, want 2 and 4", len(want.Wallets), len(want.Sessions))
	}
}

func schemaVersion(t *testing.T, dir string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int64
	if err := db.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpgradeFromV0(t *testing.T) {
	dir := v0Store(t)
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameManifest(t, readManifest(t, c), wantManifest(t))
	c.Close()
	v := schemaVersion(t, dir)
	if v < 3 {
		t.Fatalf("schema version %d after the upgrade", v)
	}
	// Opening again changes nothing.
	c, err = coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameManifest(t, readManifest(t, c), wantManifest(t))
	c.Close()
	if v2 := schemaVersion(t, dir); v2 != v {
		t.Errorf("schema version %d on the second open, %d on the first", v2, v)
	}
}

// A store made before blocks had a time column gets it from step 2.
func TestUpgradeAddsBlockTimes(t *testing.T) {
	dir := v0Store(t)
	db, err := sql.Open("sqlite", filepath.Join(dir, coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ALTER TABLE blocks DROP COLUMN time`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The wallets' outflow reads blocks.time.
	if _, err := c.Outflow(context.Background(), "vault", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestNewerStoreRefused(t *testing.T) {
	dir := t.TempDir()
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	v := schemaVersion(t, dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, v+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = coordinator.Open(dir)
	if !errors.Is(err, coordinator.ErrStoreTooNew) {
		t.Fatalf("opening a store of schema %d: %v, want ErrStoreTooNew", v+1, err)
	}
	want := fmt.Sprintf("its schema is version %d, this kinko knows up to %d", v+1, v)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// A read-only open cannot upgrade: it refuses a store of another schema
// version, older or newer, rather than read tables that are not there.
func TestReadOnlyNeedsTheSameVersion(t *testing.T) {
	dir := t.TempDir()
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	v := schemaVersion(t, dir)
	ro, err := coordinator.OpenReadOnly(dir)
	if err != nil {
		t.Fatalf("same version: %v", err)
	}
	ro.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, coordinator.DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		sql  string
		want error
	}{
		{`DELETE FROM goose_db_version WHERE version_id = ?`, coordinator.ErrStoreTooOld},
		{`INSERT INTO goose_db_version (version_id, is_applied) VALUES (? + 1, 1)`, coordinator.ErrStoreTooNew},
	} {
		if _, err := db.Exec(c.sql, v); err != nil {
			t.Fatal(err)
		}
		if _, err := coordinator.OpenReadOnly(dir); !errors.Is(err, c.want) {
			t.Errorf("after %q: %v, want %v", c.sql, err, c.want)
		}
	}
}
