package signer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrHistoryBroken is wrapped by a [HistoryError]: the signing history's
// hash chain does not hold.
var ErrHistoryBroken = errors.New("signing history is broken")

// HistoryHash is the SHA-256 of one history entry's canonical encoding
// (see [HistoryEntry.Sum]). It is written as 64 hex digits.
type HistoryHash [32]byte

func (h HistoryHash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes: the prev of the first entry.
func (h HistoryHash) IsZero() bool { return h == HistoryHash{} }

// MarshalText writes h as hex.
func (h HistoryHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads 64 hex digits.
func (h *HistoryHash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("history hash: want 64 hex digits, got %d characters", len(b))
	}
	_, err := hex.Decode(h[:], b)
	if err != nil {
		return fmt.Errorf("history hash: %w", err)
	}
	return nil
}

// HistoryEntry records one signed transaction, so that daily limits can
// be counted from the signer's own history and what was signed can be
// shown later. Entries form a hash chain: Prev is the Hash of the entry
// before (32 zero bytes for the first) and Hash is [HistoryEntry.Sum].
type HistoryEntry struct {
	Time   time.Time `json:"time"`
	Wallet string    `json:"wallet"`
	TxID   string    `json:"txid"`
	// Spent is the amount leaving the wallet: external outputs plus fee.
	Spent int64 `json:"spent"`
	// Outputs are the transaction's outputs as the review classified
	// them; entries written before the chain existed have none.
	Outputs []HistoryOutput `json:"outputs,omitempty"`
	Prev    HistoryHash     `json:"prev"`
	Hash    HistoryHash     `json:"hash"`
}

// HistoryOutput is one output of a signed transaction.
type HistoryOutput struct {
	Address string `json:"address"`
	Amount  int64  `json:"amount"`
	// Change is set for an output verified as the wallet's own change.
	Change bool `json:"change,omitempty"`
	// Destination names the registered destination the output was
	// verified to pay, if any.
	Destination string `json:"destination,omitempty"`
}

// historyTag starts every canonical encoding (domain separation).
const historyTag = "kinko-history-1"

// Sum returns the SHA-256 of the entry's canonical encoding, which is, in
// order (integers big-endian, a string as a uint32 byte length then its
// UTF-8 bytes):
//
//	"kinko-history-1"      15 bytes, no length
//	prev                   32 bytes
//	time                   int64 Unix seconds, uint32 nanoseconds
//	wallet, txid           strings
//	spent                  int64 satoshis
//	output count           uint32
//	each output            address (string), amount (int64 satoshis),
//	                       flags (1 byte: 1 = change, else 0),
//	                       destination (string, empty if none)
//
// The Hash field itself is not encoded.
func (e *HistoryEntry) Sum() HistoryHash {
	b := make([]byte, 0, 256)
	b = append(b, historyTag...)
	b = append(b, e.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Time.Nanosecond()))
	b = appendString(b, e.Wallet)
	b = appendString(b, e.TxID)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Spent))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Outputs)))
	for _, o := range e.Outputs {
		b = appendString(b, o.Address)
		b = binary.BigEndian.AppendUint64(b, uint64(o.Amount))
		var flags byte
		if o.Change {
			flags = 1
		}
		b = append(b, flags)
		b = appendString(b, o.Destination)
	}
	return sha256.Sum256(b)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// History is the signer's record of what it signed, oldest first.
type History []HistoryEntry

// HistoryError says where the history's hash chain breaks.
type HistoryError struct {
	Index  int // 0-based position of the first entry that does not hold
	TxID   string
	Reason string
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("signing history is broken at entry %d (txid %q): %s", e.Index, e.TxID, e.Reason)
}

func (e *HistoryError) Unwrap() error { return ErrHistoryBroken }

// Verify checks the hash chain and returns its head, the Hash of the last
// entry (zero for an empty history). An entry whose contents no longer
// give its Hash was edited; an entry whose Prev is not the Hash of the
// entry before it follows a removed entry or was moved. The first such
// entry is named in a [HistoryError].
//
// The chain lives inside the encrypted keystore, so only a holder of the
// password can write it, and such a holder could rebuild the chain from
// an edited entry on: an edit is certain to show only against a head
// recorded elsewhere earlier (kinko-signer history prints it).
func (h History) Verify() (HistoryHash, error) {
	var prev HistoryHash
	for i := range h {
		e := &h[i]
		if e.Hash.IsZero() {
			return prev, &HistoryError{Index: i, TxID: e.TxID, Reason: "it has no chain fields after chained entries (edited)"}
		}
		if e.Sum() != e.Hash {
			return prev, &HistoryError{Index: i, TxID: e.TxID, Reason: "its contents do not match its hash (edited)"}
		}
		if e.Prev != prev {
			return prev, &HistoryError{Index: i, TxID: e.TxID, Reason: "it does not follow the entry before it (an entry was removed or the entries reordered)"}
		}
		prev = e.Hash
	}
	return prev, nil
}

// Head returns the Hash of the last entry, zero for an empty history. It
// does not verify the chain.
func (h History) Head() HistoryHash {
	if len(h) == 0 {
		return HistoryHash{}
	}
	return h[len(h)-1].Hash
}

// appendEntry chains e onto h.
func (h History) appendEntry(e HistoryEntry) History {
	e.Time = e.Time.UTC()
	e.Prev = h.Head()
	e.Hash = e.Sum()
	return append(h, e)
}

// upgradeLegacy chains the leading entries written before the history was
// chained (they have no Hash), in place. Entries after the first chained
// one are left alone, so a chained entry stripped of its fields later in
// the history still fails Verify.
func (h History) upgradeLegacy() {
	var prev HistoryHash
	for i := range h {
		e := &h[i]
		if !e.Hash.IsZero() {
			return
		}
		e.Time = e.Time.UTC()
		e.Prev = prev
		e.Hash = e.Sum()
		prev = e.Hash
	}
}

// historyOutputs records the outputs as the review classified them.
func historyOutputs(r *Review) []HistoryOutput {
	outs := make([]HistoryOutput, len(r.Outputs))
	for i, o := range r.Outputs {
		outs[i] = HistoryOutput{Address: o.Address, Amount: o.Amount, Change: o.Change, Destination: o.Destination}
	}
	return outs
}
