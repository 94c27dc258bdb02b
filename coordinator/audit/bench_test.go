package audit_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator/audit"
)

// BenchmarkAppend is one action's cost of auditing: a transaction holding
// one Append, committed durably (WAL, synchronous=FULL, as the
// coordinator opens its store).
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	db := openDB(b, filepath.Join(b.TempDir(), "kinko.db"), "immediate")
	detail := map[string]any{"txid": "ab", "fee_sat": 1234, "outputs": []string{"bcrt1q", "bcrt1p"}}
	n := 0
	for b.Loop() {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := audit.Append(ctx, tx, audit.SessionOpened, "0a1b2c3d4e5f", detail); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "appends/s")
}

const verifyEntries = 100_000

// fillFast appends n entries in one transaction.
func fillFast(b *testing.B, n int) *audit.Head {
	ctx := context.Background()
	db := openDB(b, filepath.Join(b.TempDir(), "kinko.db"), "immediate")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var last *audit.Entry
	for i := range n {
		last, err = audit.Append(ctx, tx, audit.AddressIssued, "vault", map[string]any{"index": i, "address": "bcrt1qgfpyysjzgfpyysjzgfpyysjzgfpyysjzuyhhvw"})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	benchDB = db
	return &audit.Head{Seq: last.Seq, Hash: last.Hash}
}

var benchDB audit.Queryer

// BenchmarkVerify walks a chain of 100,000 entries.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	want := fillFast(b, verifyEntries)
	runs := 0
	for b.Loop() {
		h, err := audit.Verify(ctx, benchDB)
		if err != nil || h != *want {
			b.Fatalf("head %v, %v", h, err)
		}
		runs++
	}
	perEntry := float64(b.Elapsed().Nanoseconds()) / float64(runs*verifyEntries)
	b.ReportMetric(perEntry, "ns/entry")
	b.ReportMetric(1e9/perEntry, "entries/s")
}

// BenchmarkExport writes 100,000 entries as JSON Lines.
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	fillFast(b, verifyEntries)
	runs := 0
	for b.Loop() {
		if n, err := audit.Export(ctx, benchDB, io.Discard, time.Time{}, audit.JSONL); err != nil || n != verifyEntries {
			b.Fatalf("%d, %v", n, err)
		}
		runs++
	}
	b.ReportMetric(float64(runs*verifyEntries)/b.Elapsed().Seconds(), "entries/s")
}
