// Package audit keeps a tamper-evident, append-only record of every
// treasury action the coordinator takes, in the coordinator's own SQLite
// file, for auditors and regulators.
//
// # The log
//
// Each action appends one [Entry] to the table audit_log ([Schema]) with
// [Append], inside the SQL transaction of the action it records: the
// entry commits with the action or not at all. Entries are numbered
// 1, 2, 3… (seq) and each holds the hash of the one before it (prev; 32
// zero bytes for the first), so an entry edited, removed or moved breaks
// the chain where it happened. [Verify] walks the chain and names the
// first entry that breaks it ([ChainError]); the [Head] it returns
// (seq and hash of the last entry), recorded somewhere else, lets a later
// [VerifyHead] detect a log cut short or rewritten from some point on,
// which no chain can detect by itself. [Export] writes the log as JSON
// Lines or spreadsheet-safe CSV.
//
// # The hash
//
// An entry's hash is SHA-256 over this encoding of its fields, as stored
// (integers big-endian, each text field preceded by its length in bytes):
//
//	"kinko audit v1\n"                    15 bytes
//	seq                                   8 bytes, unsigned
//	len(time)    time                     4 bytes + UTF-8
//	len(kind)    kind                     4 bytes + UTF-8
//	len(subject) subject                  4 bytes + UTF-8
//	len(detail)  detail                   4 bytes + UTF-8
//	prev                                  32 bytes
//
// time is UTC in the layout of [TimeLayout]; detail is the canonical
// JSON of the caller's value ([CanonicalJSON]): object keys sorted, no
// insignificant white space, and every control character escaped. The
// hash covers the stored text, so a verifier needs only the exported
// columns and this description ([Entry.Sum]).
//
// # Concurrency
//
// Append takes SQLite's write lock before it reads the last entry, and seq
// is the table's primary key: two processes appending to one file take
// turns, and a fork of the chain cannot be committed.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind names what an entry records.
type Kind string

// The kinds of entries the coordinator and the treasury write.
const (
	WalletCreated     Kind = "wallet-created"     // subject: wallet
	WalletImported    Kind = "wallet-imported"    // subject: wallet
	AddressIssued     Kind = "address-issued"     // subject: wallet
	Synced            Kind = "sync"               // subject: ""
	SessionOpened     Kind = "session-opened"     // subject: session id
	PSBTWritten       Kind = "psbt-written"       // subject: session id
	SignatureImported Kind = "signature-imported" // subject: session id
	Finalized         Kind = "finalized"          // subject: session id
	Broadcast         Kind = "broadcast"          // subject: session id
	Cancelled         Kind = "cancelled"          // subject: session id
	Replaced          Kind = "replaced"           // subject: session id
	CoinsFrozen       Kind = "coins-frozen"       // subject: wallet
	CoinsUnfrozen     Kind = "coins-unfrozen"     // subject: wallet
	Bumped            Kind = "bumped"             // subject: the new session's id
	LabelsImported    Kind = "labels-imported"    // subject: wallet
	TreasurySet       Kind = "treasury-set"
	RebalanceProposed Kind = "rebalance-proposed"
	SweepProposed     Kind = "sweep-proposed"
)

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

// Valid reports whether k is a well-formed kind: lowercase letters,
// digits and '-', starting with a letter, at most 64 bytes.
func (k Kind) Valid() bool { return kindRE.MatchString(string(k)) }

// Limits of what one entry may hold.
const (
	MaxSubject = 256      // bytes
	MaxDetail  = 64 << 10 // bytes of canonical JSON
)

// TimeLayout is the layout of an entry's time, always UTC. It has a fixed
// width, so text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Schema creates the audit log's table and the triggers that refuse any
// UPDATE or DELETE on it through SQLite. It only adds, so running it on
// every open is harmless. (The triggers stop a slip, not an attacker, who
// can drop them: the chain is what detects that.)
const Schema = `
CREATE TABLE IF NOT EXISTS audit_log (
	seq INTEGER PRIMARY KEY,
	time TEXT NOT NULL,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev BLOB NOT NULL,
	hash BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`

// Init creates the audit log's table in db if it is not there ([Schema]).
func Init(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return fmt.Errorf("create audit log: %w", err)
	}
	return nil
}

// Entry is one record of the audit log.
type Entry struct {
	Seq     int64
	Time    string // UTC, TimeLayout
	Kind    Kind
	Subject string
	Detail  string // canonical JSON
	Prev    [32]byte
	Hash    [32]byte
}

const domain = "kinko audit v1\n"

// Sum computes the entry's hash from its other fields, as described in
// the package documentation.
func (e *Entry) Sum() [32]byte {
	return sum(e.Seq, []byte(e.Time), []byte(e.Kind), []byte(e.Subject), []byte(e.Detail), e.Prev[:])
}

func sum(seq int64, tm, kind, subject, detail, prev []byte) [32]byte {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte(domain))
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	for _, f := range [][]byte{tm, kind, subject, detail} {
		binary.BigEndian.PutUint32(n[:4], uint32(len(f)))
		h.Write(n[:4])
		h.Write(f)
	}
	h.Write(prev)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Head is the last entry of a chain: record it somewhere the coordinator
// cannot write, and [VerifyHead] proves later that the log still holds it.
// The head of an empty log is seq 0 with a zero hash.
type Head struct {
	Seq  int64
	Hash [32]byte
}

// String formats the head as SEQ:HASH, HASH in hex, as [ParseHead] reads it.
func (h Head) String() string {
	return strconv.FormatInt(h.Seq, 10) + ":" + hex.EncodeToString(h.Hash[:])
}

// ParseHead reads a head written as SEQ:HASH.
func ParseHead(s string) (Head, error) {
	seq, hx, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Head{}, fmt.Errorf("head %q: want SEQ:HASH", s)
	}
	var h Head
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 0 {
		return Head{}, fmt.Errorf("head %q: sequence number %q is not a number of 0 or more", s, seq)
	}
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != 32 {
		return Head{}, fmt.Errorf("head %q: hash %q is not 64 hex digits", s, hx)
	}
	h.Seq = n
	copy(h.Hash[:], b)
	return h, nil
}

// Append records an action in the audit log inside tx, the transaction
// of the action itself: the entry is committed with it, or not at all.
// detail is any value encoding/json can marshal (nil records {}); it is
// stored as canonical JSON ([CanonicalJSON]). subject names what the
// action was about (a wallet, a session) and may not hold control
// characters; free text goes in detail.
//
// Append takes the database's write lock before it reads the last entry,
// so appends from several processes take turns. If tx read the database
// before and another process wrote since, SQLite refuses the write
// (SQLITE_BUSY) and the caller's transaction must be retried; no fork of
// the chain is ever committed.
func Append(ctx context.Context, tx *sql.Tx, kind Kind, subject string, detail any) (*Entry, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("audit: kind %q: use lowercase letters, digits and '-' (at most 64)", kind)
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	d, err := CanonicalJSON(detail)
	if err != nil {
		return nil, fmt.Errorf("audit: %s detail: %w", kind, err)
	}
	if len(d) > MaxDetail {
		return nil, fmt.Errorf("audit: %s detail is %d bytes, more than the %d allowed", kind, len(d), MaxDetail)
	}
	// A write that changes nothing, so that SQLite's write lock is held
	// (or waited for) before the last entry is read.
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq < 0`); err != nil {
		return nil, fmt.Errorf("audit: lock the log: %w", err)
	}
	e := &Entry{Kind: kind, Subject: subject, Detail: string(d), Time: time.Now().UTC().Format(TimeLayout)}
	var last int64
	var prev []byte
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("audit: read the last entry: %w", err)
	case len(prev) != len(e.Prev):
		return nil, &ChainError{Seq: last, Problem: Edited, Reason: fmt.Sprintf("its hash is %d bytes, not 32", len(prev))}
	default:
		copy(e.Prev[:], prev)
	}
	e.Seq = last + 1
	e.Hash = e.Sum()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, time, kind, subject, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Time, string(e.Kind), e.Subject, e.Detail, e.Prev[:], e.Hash[:]); err != nil {
		return nil, fmt.Errorf("audit: append entry %d: %w", e.Seq, err)
	}
	return e, nil
}

func checkSubject(s string) error {
	if len(s) > MaxSubject {
		return fmt.Errorf("audit: subject is %d bytes, more than the %d allowed", len(s), MaxSubject)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("audit: subject %q is not UTF-8", s)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("audit: subject %q holds a control character", s)
	}
	return nil
}
