package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinko-project/kinko/coordinator/audit"
	_ "modernc.org/sqlite"
)

// openDB opens path as the coordinator does: WAL, synchronous=FULL, one
// connection, a busy timeout; txlock is "" (deferred) or "immediate".
func openDB(t testing.TB, path, txlock string) *sql.DB {
	t.Helper()
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	if txlock != "" {
		dsn += "&_txlock=" + txlock
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if err := audit.Init(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func newDB(t testing.TB) *sql.DB {
	return openDB(t, filepath.Join(t.TempDir(), "kinko.db"), "")
}

func appendOne(t testing.TB, db *sql.DB, kind audit.Kind, subject string, detail any) *audit.Entry {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := audit.Append(ctx, tx, kind, subject, detail)
	if err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return e
}

// fill appends n entries, with details of their own.
func fill(t testing.TB, db *sql.DB, n int) []*audit.Entry {
	var es []*audit.Entry
	for i := range n {
		es = append(es, appendOne(t, db, audit.SessionOpened, fmt.Sprintf("s%d", i), map[string]any{"n": i, "txid": strings.Repeat("ab", 32)}))
	}
	return es
}

// tamper runs SQL against the log, past its append-only triggers.
func tamper(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	all := append([]string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}, stmts...)
	for _, s := range all {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func wantChainError(t *testing.T, err error, seq int64, p audit.Problem) {
	t.Helper()
	var ce *audit.ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a ChainError", err)
	}
	if ce.Seq != seq || ce.Problem != p {
		t.Fatalf("got %v (entry %d, %s), want entry %d %s", err, ce.Seq, ce.Problem, seq, p)
	}
	if !errors.Is(err, audit.ErrTampered) {
		t.Fatalf("%v does not wrap ErrTampered", err)
	}
}

func TestAppendVerify(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	h, err := audit.Verify(ctx, db)
	if err != nil || h.Seq != 0 || h.Hash != [32]byte{} {
		t.Fatalf("empty log: head %v, %v", h, err)
	}
	es := fill(t, db, 5)
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if i == 0 && e.Prev != [32]byte{} {
			t.Fatal("first prev is not zero")
		}
		if i > 0 && e.Prev != es[i-1].Hash {
			t.Fatalf("entry %d: prev is not the hash of the one before", e.Seq)
		}
		if e.Sum() != e.Hash {
			t.Fatalf("entry %d: hash is not Sum()", e.Seq)
		}
		if _, err := time.Parse(audit.TimeLayout, e.Time); err != nil {
			t.Fatal(err)
		}
	}
	h, err = audit.Verify(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != 5 || h.Hash != es[4].Hash {
		t.Fatalf("head %v, want 5:%x", h, es[4].Hash)
	}
	if _, err := audit.VerifyHead(ctx, db, audit.Head{Seq: 3, Hash: es[2].Hash}); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyHead(ctx, db, h); err != nil {
		t.Fatal(err)
	}
	p, err := audit.ParseHead(h.String())
	if err != nil || p != h {
		t.Fatalf("ParseHead(%q) = %v, %v", h.String(), p, err)
	}
	// The stored detail is canonical JSON.
	if es[2].Detail != `{"n":2,"txid":"`+strings.Repeat("ab", 32)+`"}` {
		t.Fatalf("detail %s", es[2].Detail)
	}
}

// TestHashEncoding pins the hash to the encoding the package documents,
// built here byte by byte.
func TestHashEncoding(t *testing.T) {
	e := audit.Entry{Seq: 7, Time: "2026-11-30T11:00:00.000000Z", Kind: audit.Broadcast, Subject: "0a1b2c3d4e5f", Detail: `{"txid":"ff"}`}
	e.Prev[0], e.Prev[31] = 1, 2
	var b bytes.Buffer
	b.WriteString("kinko audit v1\n")
	binary.Write(&b, binary.BigEndian, uint64(7))
	for _, f := range []string{e.Time, string(e.Kind), e.Subject, e.Detail} {
		binary.Write(&b, binary.BigEndian, uint32(len(f)))
		b.WriteString(f)
	}
	b.Write(e.Prev[:])
	if got, want := e.Sum(), sha256.Sum256(b.Bytes()); got != want {
		t.Fatalf("Sum %x, want %x", got, want)
	}
	// A fixed vector, computed apart with Python's hashlib and struct, so
	// that the encoding never changes unnoticed.
	const vector = "5caf33919beee2303b571fbf17dbbb58a2429b63381c9bb8b1bc90b8da01f8df"
	if got := e.Sum(); hex.EncodeToString(got[:]) != vector {
		t.Fatalf("Sum %x, want %s", got, vector)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		sql     []string
		seq     int64
		problem audit.Problem
	}{
		{"edit one byte of a detail", []string{`UPDATE audit_log SET detail = replace(detail, '"n":3', '"n":8') WHERE seq = 4`}, 4, audit.Edited},
		{"edit a subject", []string{`UPDATE audit_log SET subject = 'x' WHERE seq = 2`}, 2, audit.Edited},
		{"edit a hash", []string{`UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 5`}, 5, audit.Edited},
		{"edit a time", []string{`UPDATE audit_log SET time = '2020-01-01T00:00:00.000000Z' WHERE seq = 1`}, 1, audit.Edited},
		{"delete a middle entry", []string{`DELETE FROM audit_log WHERE seq = 3`}, 3, audit.Removed},
		{"delete the first entry", []string{`DELETE FROM audit_log WHERE seq = 1`}, 1, audit.Removed},
		{"swap two entries' seq", []string{
			`UPDATE audit_log SET seq = -1 WHERE seq = 2`,
			`UPDATE audit_log SET seq = 2 WHERE seq = 5`,
			`UPDATE audit_log SET seq = 5 WHERE seq = -1`}, 2, audit.Reordered},
		{"swap neighbours", []string{
			`UPDATE audit_log SET seq = -1 WHERE seq = 3`,
			`UPDATE audit_log SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE seq = -1`}, 3, audit.Reordered},
		{"renumber after a delete", []string{
			`DELETE FROM audit_log WHERE seq = 3`,
			`UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`}, 3, audit.Edited},
		{"seq 0", []string{`UPDATE audit_log SET seq = 0 WHERE seq = 1`}, 0, audit.Edited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := newDB(t)
			fill(t, db, 6)
			tamper(t, db, tc.sql...)
			_, err := audit.Verify(ctx, db)
			wantChainError(t, err, tc.seq, tc.problem)
			t.Log(err)
		})
	}
}

func TestVerifyHead(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	es := fill(t, db, 6)
	head, err := audit.Verify(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// The last entry deleted: the chain alone still verifies, the
	// recorded head does not.
	tamper(t, db, `DELETE FROM audit_log WHERE seq = 6`)
	if h, err := audit.Verify(ctx, db); err != nil || h.Seq != 5 {
		t.Fatalf("Verify: %v, %v", h, err)
	}
	_, err = audit.VerifyHead(ctx, db, head)
	wantChainError(t, err, 6, audit.Truncated)
	// An older head is still there.
	if _, err := audit.VerifyHead(ctx, db, audit.Head{Seq: 4, Hash: es[3].Hash}); err != nil {
		t.Fatal(err)
	}
	// Appending after the truncation makes another entry 6.
	tail := appendOne(t, db, audit.Cancelled, "s5", nil)
	if tail.Seq != 6 {
		t.Fatalf("seq %d after truncation", tail.Seq)
	}
	_, err = audit.VerifyHead(ctx, db, head)
	wantChainError(t, err, 6, audit.Rewritten)
	// The tail from entry 4 on rewritten, every hash recomputed.
	db2 := newDB(t)
	for _, e := range es[:3] {
		if _, err := db2.Exec(`INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.Time, e.Kind, e.Subject, e.Detail, e.Prev[:], e.Hash[:]); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, db2, 3) // entries 4..6, other contents
	if _, err := audit.Verify(ctx, db2); err != nil {
		t.Fatal(err)
	}
	h, err := audit.VerifyHead(ctx, db2, head)
	wantChainError(t, err, 6, audit.Rewritten)
	if h.Seq != 5 {
		t.Fatalf("head of the verified part %v, want 5", h)
	}
	if _, err := audit.VerifyHead(ctx, db2, audit.Head{Seq: 3, Hash: es[2].Hash}); err != nil {
		t.Fatal(err)
	}
	// A head at 0 must have a zero hash.
	_, err = audit.VerifyHead(ctx, db2, audit.Head{Seq: 0, Hash: [32]byte{1}})
	wantChainError(t, err, 0, audit.Rewritten)
}

func TestParseHead(t *testing.T) {
	for _, s := range []string{"", "5", "x:" + strings.Repeat("00", 32), "-1:" + strings.Repeat("00", 32), "5:abc", "5:" + strings.Repeat("zz", 32), "5:" + strings.Repeat("00", 33)} {
		if _, err := audit.ParseHead(s); err == nil {
			t.Errorf("ParseHead(%q) accepted", s)
		}
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Append(ctx, tx, audit.WalletCreated, "vault", map[string]string{"descriptor": "wsh(...)"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d entries after rollback (%v)", n, err)
	}
	if e := appendOne(t, db, audit.WalletCreated, "vault", nil); e.Seq != 1 || e.Prev != [32]byte{} || e.Detail != "{}" {
		t.Fatalf("first entry after rollback: %+v", e)
	}
}

func TestAppendRefuses(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, c := range []struct {
		kind    audit.Kind
		subject string
		detail  any
	}{
		{"Bad Kind", "", nil},
		{"", "", nil},
		{audit.Synced, "a\x1b[2Jb", nil},
		{audit.Synced, "a\u009bb", nil},
		{audit.Synced, strings.Repeat("x", audit.MaxSubject+1), nil},
		{audit.Synced, "", map[string]string{"x": strings.Repeat("x", audit.MaxDetail)}},
		{audit.Synced, "", func() {}},
	} {
		if _, err := audit.Append(ctx, tx, c.kind, c.subject, c.detail); err == nil {
			t.Errorf("Append(%q, %q) accepted", c.kind, c.subject)
		}
	}
}

func TestAppendOnlyTriggers(t *testing.T) {
	db := newDB(t)
	fill(t, db, 2)
	for _, s := range []string{`UPDATE audit_log SET detail = '{}' WHERE seq = 1`, `DELETE FROM audit_log WHERE seq = 2`} {
		if _, err := db.Exec(s); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestCanonicalJSON(t *testing.T) {
	type s struct {
		Zeta  int    `json:"zeta"`
		Alpha string `json:"alpha"`
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, `{}`},
		{s{1, "a"}, `{"alpha":"a","zeta":1}`},
		{map[string]any{"b": 1.5, "a": []int{3, 2}}, `{"a":[3,2],"b":1.5}`},
		{map[string]any{"n": json.Number("12345678901234567890")}, `{"n":12345678901234567890}`},
		{"esc\x1b\u009b\x7f<", `"esc\u001b\u009b\u007f\u003c"`},
	} {
		got, err := audit.CanonicalJSON(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("CanonicalJSON(%#v) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// Appends from two processes (two connections to one file, each as the
// coordinator opens it) take turns: the chain stays one chain.
func TestConcurrentAppends(t *testing.T) {
	for _, lock := range []string{"", "immediate"} {
		t.Run("txlock="+lock, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "kinko.db")
			dbs := []*sql.DB{openDB(t, path, lock), openDB(t, path, lock)}
			const per = 40
			var wg sync.WaitGroup
			errs := make(chan error, 2*per)
			for k, db := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						tx, err := db.BeginTx(ctx, nil)
						if err != nil {
							errs <- err
							return
						}
						if _, err := audit.Append(ctx, tx, audit.Synced, "", map[string]int{"proc": k, "i": i}); err != nil {
							tx.Rollback()
							errs <- err
							return
						}
						if err := tx.Commit(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			h, err := audit.Verify(ctx, dbs[0])
			if err != nil {
				t.Fatal(err)
			}
			if h.Seq != 2*per {
				t.Fatalf("head %d, want %d", h.Seq, 2*per)
			}
		})
	}
}
