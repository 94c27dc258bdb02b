package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Queryer is what Verify and Export read through: a *sql.DB, *sql.Tx or
// *sql.Conn.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ErrTampered is wrapped by every [ChainError].
var ErrTampered = errors.New("the audit log has been tampered with")

// Problem is how the chain is broken at an entry.
type Problem int

// How an entry can break the chain.
const (
	// Edited: the entry's hash is not the hash of its fields.
	Edited Problem = iota + 1
	// Removed: the entry is missing (a gap in seq), or its prev is not
	// the hash of the entry before it.
	Removed
	// Reordered: the entry holds what belongs at another seq.
	Reordered
	// Truncated: the chain ends before a recorded head.
	Truncated
	// Rewritten: the entry at a recorded head's seq has another hash.
	Rewritten
)

func (p Problem) String() string {
	switch p {
	case Edited:
		return "edited"
	case Removed:
		return "removed"
	case Reordered:
		return "reordered"
	case Truncated:
		return "truncated"
	case Rewritten:
		return "rewritten"
	}
	return fmt.Sprintf("Problem(%d)", int(p))
}

// ChainError names the first entry, by seq, at which the audit log no
// longer verifies, and how.
type ChainError struct {
	Seq     int64
	Problem Problem
	Reason  string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit entry %d: %s: %s", e.Seq, e.Problem, e.Reason)
}

// Unwrap returns ErrTampered.
func (e *ChainError) Unwrap() error { return ErrTampered }

// Verify walks the whole audit log in db and checks that it is one
// unbroken chain from entry 1: seq without gaps, every hash the hash of
// its entry, every prev the hash of the entry before. It returns the head
// (the last entry; its Seq is the number of entries checked) or a
// *[ChainError] naming the first entry that fails, with the head of the
// entries before it, which verify. A chain cut short at its end, or rewritten from some
// entry on with every hash recomputed, still verifies: [VerifyHead]
// detects those.
func Verify(ctx context.Context, db Queryer) (Head, error) {
	return verify(ctx, db, nil)
}

// VerifyHead is [Verify], and also checks that the chain still holds
// recorded, a head returned by an earlier Verify and kept elsewhere: the
// entry at its seq must exist ([Truncated]) and have its hash
// ([Rewritten]).
func VerifyHead(ctx context.Context, db Queryer, recorded Head) (Head, error) {
	return verify(ctx, db, &recorded)
}

// row is one entry as stored, each field as its bytes.
type row struct {
	seq                                  int64
	tm, kind, subject, detail, prev, sum []byte
}

func verify(ctx context.Context, db Queryer, recorded *Head) (Head, error) {
	var head Head
	if recorded != nil && recorded.Seq == 0 && recorded.Hash != head.Hash {
		return head, &ChainError{Seq: 0, Problem: Rewritten, Reason: "a head at seq 0 has a zero hash"}
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, time, kind, subject, detail, prev, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return head, fmt.Errorf("read audit log: %w", err)
	}
	var bad *row
	var fail *ChainError
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.tm, &r.kind, &r.subject, &r.detail, &r.prev, &r.sum); err != nil {
			rows.Close()
			return head, fmt.Errorf("read audit entry after %d: %w", head.Seq, err)
		}
		want := head.Seq + 1
		if r.seq < want {
			fail = &ChainError{Seq: r.seq, Problem: Edited, Reason: "sequence numbers start at 1"}
			break
		}
		if r.seq > want {
			fail = &ChainError{Seq: want, Problem: Removed, Reason: fmt.Sprintf("the log goes from entry %d to entry %d", head.Seq, r.seq)}
			break
		}
		h := sum(r.seq, r.tm, r.kind, r.subject, r.detail, r.prev)
		if !bytes.Equal(r.prev, head.Hash[:]) || !bytes.Equal(r.sum, h[:]) {
			bad = &r
			break
		}
		if recorded != nil && recorded.Seq == r.seq && !bytes.Equal(recorded.Hash[:], r.sum) {
			fail = &ChainError{Seq: r.seq, Problem: Rewritten,
				Reason: fmt.Sprintf("its hash is %x, the recorded head says %x: the log was rewritten from this entry or before", r.sum, recorded.Hash)}
			break
		}
		head.Seq = r.seq
		copy(head.Hash[:], r.sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return head, fmt.Errorf("read audit log: %w", err)
	}
	if bad != nil {
		fail, err = classify(ctx, db, head, bad)
		if err != nil {
			return head, err
		}
	}
	if fail != nil {
		return head, fail
	}
	if recorded != nil && recorded.Seq > head.Seq {
		return head, &ChainError{Seq: head.Seq + 1, Problem: Truncated,
			Reason: fmt.Sprintf("the log ends at entry %d, before the recorded head %d: entries were removed from its end", head.Seq, recorded.Seq)}
	}
	return head, nil
}

// classify tells why entry r, which follows the verified chain up to
// head, does not verify.
func classify(ctx context.Context, db Queryer, head Head, r *row) (*ChainError, error) {
	h := sum(r.seq, r.tm, r.kind, r.subject, r.detail, r.prev)
	hashOK := bytes.Equal(r.sum, h[:])
	if hashOK {
		if head.Seq == 0 {
			return &ChainError{Seq: r.seq, Problem: Removed, Reason: "the first entry's prev is not zero: entries before it were removed"}, nil
		}
		return &ChainError{Seq: r.seq, Problem: Removed,
			Reason: fmt.Sprintf("its prev is not the hash of entry %d: an entry was removed before it, or entry %d rewritten", head.Seq, head.Seq)}, nil
	}
	if bytes.Equal(r.prev, head.Hash[:]) {
		return &ChainError{Seq: r.seq, Problem: Edited, Reason: "its hash does not match its contents"}, nil
	}
	// Neither hash nor prev fits here: is this another position's entry?
	if j, ok, err := lookup(ctx, db, `SELECT seq FROM audit_log WHERE hash = ? AND seq <> ? LIMIT 1`, r.prev, r.seq); err != nil {
		return nil, err
	} else if ok {
		return &ChainError{Seq: r.seq, Problem: Reordered, Reason: fmt.Sprintf("it was written after entry %d, not after entry %d", j, head.Seq)}, nil
	}
	if j, ok, err := lookup(ctx, db, `SELECT seq FROM audit_log WHERE prev = ? AND seq <> ? LIMIT 1`, head.Hash[:], r.seq); err != nil {
		return nil, err
	} else if ok {
		return &ChainError{Seq: r.seq, Problem: Reordered, Reason: fmt.Sprintf("entry %d is the one written after entry %d", j, head.Seq)}, nil
	}
	return &ChainError{Seq: r.seq, Problem: Edited, Reason: "neither its hash nor its prev matches: it was edited, or entries before it were removed and the rest renumbered"}, nil
}

func lookup(ctx context.Context, db Queryer, q string, args ...any) (int64, bool, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, false, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, false, rows.Err()
	}
	var seq int64
	if err := rows.Scan(&seq); err != nil {
		return 0, false, fmt.Errorf("read audit log: %w", err)
	}
	return seq, true, nil
}
