// Package psbt is a self-contained codec for Bitcoin transactions and
// BIP-174 Partially Signed Bitcoin Transactions (version 0), with the legacy
// and BIP-143 signature hashes, a BIP-174 Combiner, and a Finalizer and
// Extractor for m-of-n CHECKMULTISIG inputs (P2WSH, P2SH-P2WSH and P2SH).
//
// The package deliberately depends only on the standard library,
// github.com/btcsuite/btcd/btcec/v2 and golang.org/x/crypto/ripemd160, so that
// an air-gapped signer can link it without pulling in any networking code
// (btcd's wire package imports net).
//
// # Canonical serialisation
//
// Parse accepts the key-value pairs of every map in any order. Serialize
// always writes the pairs of each map sorted by their full key bytes
// (<keytype><keydata>, compared as byte strings), as BIP-174 recommends; this
// includes the unknown pairs, which are not kept in their original position.
// This is the canonical form: for a PSBT in canonical form,
// Serialize(Parse(b)) == b. For any other valid PSBT, Serialize(Parse(b)) is
// the canonical form of b (the same pairs, reordered), and re-serialising it
// is stable.
//
// Key-value pairs that have no struct field (including proprietary 0xFC
// pairs, the Taproot and hash-preimage fields of later BIPs, and an explicit
// PSBT_GLOBAL_VERSION or PSBT_IN_SIGHASH_TYPE of 0) are kept in the Unknowns
// slices with their full key (type and key data) in Unknown.Key, so that
// they survive a round trip. Pairs of types that BIP-174, BIP-371 or BIP-370
// define are still checked for well-formedness when parsed, and PSBTv2-only
// fields are rejected (ErrExcludedField), as BIP-370 requires of version 0.
//
// Parse and Serialize apply the same checks, so a packet that serialises
// always parses back, and Combine only produces valid packets.
//
// Nil versus empty: a nil []byte (or [][]byte) field means "absent"; a
// non-nil empty one means the key is present with an empty value.
package psbt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Hash is a double-SHA256 hash (a txid) in internal byte order, i.e. the
// order in which it appears in serialised transactions.
type Hash [32]byte

// String returns the hash in the usual reversed-hex display order.
func (h Hash) String() string {
	var r [32]byte
	for i := range h {
		r[i] = h[31-i]
	}
	return hex.EncodeToString(r[:])
}

// ParseHash parses a hash in the usual reversed-hex display order (the form
// produced by String and shown by block explorers).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("psbt: parse hash: want 64 hex characters, have %d", len(s))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, fmt.Errorf("psbt: parse hash: %w", err)
	}
	for i := range b {
		h[i] = b[31-i]
	}
	return h, nil
}

// doubleSHA256 returns SHA256(SHA256(b)).
func doubleSHA256(b []byte) [32]byte {
	h := sha256.Sum256(b)
	return sha256.Sum256(h[:])
}

// OutPoint identifies a transaction output: the txid and the output index.
type OutPoint struct {
	Hash  Hash
	Index uint32
}

// String returns "txid:vout".
func (o OutPoint) String() string {
	return o.Hash.String() + ":" + strconv.FormatUint(uint64(o.Index), 10)
}

// TxIn is a transaction input.
type TxIn struct {
	PrevOut   OutPoint
	ScriptSig []byte
	Witness   [][]byte
	Sequence  uint32
}

// TxOut is a transaction output. Value is in satoshis.
type TxOut struct {
	Value    int64
	PkScript []byte
}

// Tx is a Bitcoin transaction.
type Tx struct {
	Version  int32
	Inputs   []*TxIn
	Outputs  []*TxOut
	LockTime uint32
}

// Errors returned by ParseTx and the other decoders of this package.
var (
	// ErrTruncated means the input ended before a complete structure was read.
	ErrTruncated = errors.New("unexpected end of data")
	// ErrTrailingBytes means bytes remained after a complete structure was read.
	ErrTrailingBytes = errors.New("trailing bytes after the end of the data")
	// ErrNonMinimalCompactSize means a compact-size integer was not minimally encoded.
	ErrNonMinimalCompactSize = errors.New("compact size not minimally encoded")
	// ErrCountTooLarge means an element count exceeds what the remaining bytes could hold.
	ErrCountTooLarge = errors.New("element count exceeds the remaining data")
)

// Minimum serialised sizes, used to cap counts before allocating.
const (
	minTxInSize  = 32 + 4 + 1 + 4 // outpoint, empty script, sequence
	minTxOutSize = 8 + 1          // value, empty script
)

// reader is a bounds-checked cursor over a byte slice.
type reader struct {
	b     []byte
	off   int
	pairs int // PSBT key-value pairs read so far
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, ErrTruncated
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) byte() (byte, error) {
	if r.remaining() < 1 {
		return 0, ErrTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) uint32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) uint64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// compactSize reads a minimally-encoded compact-size unsigned integer.
func (r *reader) compactSize() (uint64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	var v, min uint64
	switch c {
	case 0xfd:
		b, err := r.bytes(2)
		if err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint16(b)), 0xfd
	case 0xfe:
		b, err := r.bytes(4)
		if err != nil {
			return 0, err
		}
		v, min = uint64(binary.LittleEndian.Uint32(b)), 0x10000
	case 0xff:
		b, err := r.bytes(8)
		if err != nil {
			return 0, err
		}
		v, min = binary.LittleEndian.Uint64(b), 0x100000000
	default:
		return uint64(c), nil
	}
	if v < min {
		return 0, ErrNonMinimalCompactSize
	}
	return v, nil
}

// count reads a compact-size element count and checks that count elements
// of at least minSize bytes each fit in the remaining data.
func (r *reader) count(minSize int) (int, error) {
	n, err := r.compactSize()
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, fmt.Errorf("%w: %d", ErrCountTooLarge, n)
	}
	return int(n), nil
}

// varBytes reads a compact-size length followed by that many bytes.
func (r *reader) varBytes() ([]byte, error) {
	n, err := r.compactSize()
	if err != nil {
		return nil, err
	}
	if n > uint64(r.remaining()) {
		return nil, ErrTruncated
	}
	return r.bytes(int(n))
}

// appendCompactSize appends the minimal compact-size encoding of v.
func appendCompactSize(b []byte, v uint64) []byte {
	switch {
	case v < 0xfd:
		return append(b, byte(v))
	case v <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(v))
	case v <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(v))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xff), v)
	}
}

func compactSizeLen(v uint64) int {
	switch {
	case v < 0xfd:
		return 1
	case v <= 0xffff:
		return 3
	case v <= 0xffffffff:
		return 5
	default:
		return 9
	}
}

func appendVarBytes(b, v []byte) []byte {
	return append(appendCompactSize(b, uint64(len(v))), v...)
}

// ParseTx parses a transaction in network serialisation, with or without the
// BIP-144 witness marker and flag. It is strict: the whole input must be
// consumed, compact sizes must be minimal, element counts are checked
// against the remaining bytes before anything is allocated, unknown flag
// bits and a witness flag with no witness data are rejected (as Bitcoin Core
// does).
//
// As in Bitcoin Core, a transaction with no inputs serialised without
// witness data is ambiguous with the witness marker; use a PSBT (whose
// unsigned transaction is always decoded without witness) for such
// transactions.
func ParseTx(b []byte) (*Tx, error) {
	tx, err := parseTx(b, true)
	if err != nil {
		return nil, fmt.Errorf("psbt: parse tx: %w", err)
	}
	return tx, nil
}

// parseTx parses a whole transaction; allowWitness selects whether the
// extended (BIP-144) serialisation is recognised.
func parseTx(b []byte, allowWitness bool) (*Tx, error) {
	r := &reader{b: b}
	tx, err := readTx(r, allowWitness)
	if err != nil {
		return nil, err
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrTrailingBytes, r.remaining())
	}
	return tx, nil
}

func readTx(r *reader, allowWitness bool) (*Tx, error) {
	v, err := r.uint32()
	if err != nil {
		return nil, err
	}
	tx := &Tx{Version: int32(v)}
	if tx.Inputs, err = readInputs(r); err != nil {
		return nil, err
	}
	var flags byte
	if len(tx.Inputs) == 0 && allowWitness {
		// Either an empty input vector or the segwit marker.
		if flags, err = r.byte(); err != nil {
			return nil, err
		}
		if flags != 0 {
			if tx.Inputs, err = readInputs(r); err != nil {
				return nil, err
			}
			if tx.Outputs, err = readOutputs(r); err != nil {
				return nil, err
			}
		}
	} else {
		if tx.Outputs, err = readOutputs(r); err != nil {
			return nil, err
		}
	}
	if flags&1 != 0 {
		flags ^= 1
		for i, in := range tx.Inputs {
			if in.Witness, err = readWitness(r); err != nil {
				return nil, fmt.Errorf("witness of input %d: %w", i, err)
			}
		}
		if !tx.HasWitness() {
			return nil, errors.New("superfluous witness record")
		}
	}
	if flags != 0 {
		return nil, fmt.Errorf("unknown transaction optional data (flag 0x%02x)", flags)
	}
	if tx.LockTime, err = r.uint32(); err != nil {
		return nil, err
	}
	return tx, nil
}

func readInputs(r *reader) ([]*TxIn, error) {
	n, err := r.count(minTxInSize)
	if err != nil {
		return nil, fmt.Errorf("input count: %w", err)
	}
	ins := make([]*TxIn, n)
	for i := range ins {
		in := &TxIn{}
		h, err := r.bytes(32)
		if err != nil {
			return nil, err
		}
		copy(in.PrevOut.Hash[:], h)
		if in.PrevOut.Index, err = r.uint32(); err != nil {
			return nil, err
		}
		s, err := r.varBytes()
		if err != nil {
			return nil, fmt.Errorf("scriptSig of input %d: %w", i, err)
		}
		in.ScriptSig = bytes.Clone(s)
		if in.Sequence, err = r.uint32(); err != nil {
			return nil, err
		}
		ins[i] = in
	}
	return ins, nil
}

func readOutputs(r *reader) ([]*TxOut, error) {
	n, err := r.count(minTxOutSize)
	if err != nil {
		return nil, fmt.Errorf("output count: %w", err)
	}
	outs := make([]*TxOut, n)
	for i := range outs {
		o, err := readTxOut(r)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		outs[i] = o
	}
	return outs, nil
}

func readTxOut(r *reader) (*TxOut, error) {
	v, err := r.uint64()
	if err != nil {
		return nil, err
	}
	s, err := r.varBytes()
	if err != nil {
		return nil, err
	}
	return &TxOut{Value: int64(v), PkScript: bytes.Clone(s)}, nil
}

// readWitness reads a witness stack: a count followed by that many
// length-prefixed items. The returned stack is never nil.
func readWitness(r *reader) ([][]byte, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	w := make([][]byte, n)
	for i := range w {
		item, err := r.varBytes()
		if err != nil {
			return nil, err
		}
		w[i] = bytes.Clone(item)
	}
	return w, nil
}

func appendWitness(b []byte, w [][]byte) []byte {
	b = appendCompactSize(b, uint64(len(w)))
	for _, item := range w {
		b = appendVarBytes(b, item)
	}
	return b
}

func appendTxOut(b []byte, o *TxOut) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(o.Value))
	return appendVarBytes(b, o.PkScript)
}

func appendOutPoint(b []byte, o OutPoint) []byte {
	b = append(b, o.Hash[:]...)
	return binary.LittleEndian.AppendUint32(b, o.Index)
}

// HasWitness reports whether any input has a non-empty witness.
func (t *Tx) HasWitness() bool {
	for _, in := range t.Inputs {
		if len(in.Witness) != 0 {
			return true
		}
	}
	return false
}

func (t *Tx) appendTo(b []byte, witness bool) []byte {
	witness = witness && t.HasWitness()
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Version))
	if witness {
		b = append(b, 0x00, 0x01)
	}
	b = appendCompactSize(b, uint64(len(t.Inputs)))
	for _, in := range t.Inputs {
		b = appendOutPoint(b, in.PrevOut)
		b = appendVarBytes(b, in.ScriptSig)
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	}
	b = appendCompactSize(b, uint64(len(t.Outputs)))
	for _, o := range t.Outputs {
		b = appendTxOut(b, o)
	}
	if witness {
		for _, in := range t.Inputs {
			b = appendWitness(b, in.Witness)
		}
	}
	return binary.LittleEndian.AppendUint32(b, t.LockTime)
}

// Bytes returns the network serialisation of the transaction, in the
// BIP-144 extended format if any input has a witness.
func (t *Tx) Bytes() []byte { return t.appendTo(nil, true) }

// BytesNoWitness returns the serialisation without witness data (the form
// hashed for the txid).
func (t *Tx) BytesNoWitness() []byte { return t.appendTo(nil, false) }

// TxID returns the transaction id: the double SHA256 of BytesNoWitness.
func (t *Tx) TxID() Hash { return doubleSHA256(t.BytesNoWitness()) }

// WTxID returns the witness transaction id: the double SHA256 of Bytes.
func (t *Tx) WTxID() Hash { return doubleSHA256(t.Bytes()) }

// Weight returns the BIP-141 weight: 3*base size + total size.
func (t *Tx) Weight() int {
	return 3*len(t.BytesNoWitness()) + len(t.Bytes())
}

// VSize returns the virtual size, Weight divided by 4 and rounded up.
func (t *Tx) VSize() int { return (t.Weight() + 3) / 4 }

// WithoutWitness returns a deep copy of the transaction with every
// input's witness left out: the same txid, and the form a PSBT's
// non-witness UTXO needs, since only the txid and the outputs are read
// from it.
func (t *Tx) WithoutWitness() *Tx {
	c := t.Copy()
	if c != nil {
		for _, in := range c.Inputs {
			if in != nil {
				in.Witness = nil
			}
		}
	}
	return c
}

// Copy returns a deep copy of the transaction.
func (t *Tx) Copy() *Tx {
	if t == nil {
		return nil
	}
	c := &Tx{Version: t.Version, LockTime: t.LockTime}
	if t.Inputs != nil {
		c.Inputs = make([]*TxIn, len(t.Inputs))
		for i, in := range t.Inputs {
			if in == nil {
				continue
			}
			c.Inputs[i] = &TxIn{
				PrevOut:   in.PrevOut,
				ScriptSig: bytes.Clone(in.ScriptSig),
				Witness:   cloneStack(in.Witness),
				Sequence:  in.Sequence,
			}
		}
	}
	if t.Outputs != nil {
		c.Outputs = make([]*TxOut, len(t.Outputs))
		for i, o := range t.Outputs {
			c.Outputs[i] = o.copy()
		}
	}
	return c
}

func (o *TxOut) copy() *TxOut {
	if o == nil {
		return nil
	}
	return &TxOut{Value: o.Value, PkScript: bytes.Clone(o.PkScript)}
}

func cloneStack(w [][]byte) [][]byte {
	if w == nil {
		return nil
	}
	c := make([][]byte, len(w))
	for i, item := range w {
		c[i] = bytes.Clone(item)
	}
	return c
}

// checkTx reports nil inputs or outputs, which the serialisers cannot handle.
func (t *Tx) check() error {
	for i, in := range t.Inputs {
		if in == nil {
			return fmt.Errorf("input %d is nil", i)
		}
	}
	for i, o := range t.Outputs {
		if o == nil {
			return fmt.Errorf("output %d is nil", i)
		}
	}
	return nil
}
