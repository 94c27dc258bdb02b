package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// A minimal reader of the Bitcoin serialization: just enough to cut a block
// into its transactions and to compute txids, byte-exact, without a node
// library.

var errShort = errors.New("truncated")

type cursor struct {
	b   []byte
	off int
	err error
}

func (c *cursor) skip(n uint64) {
	if c.err != nil {
		return
	}
	if n > uint64(len(c.b)-c.off) {
		c.err = errShort
		return
	}
	c.off += int(n)
}

func (c *cursor) byteAt(i int) byte {
	if c.err != nil || c.off+i >= len(c.b) {
		c.err = errShort
		return 0
	}
	return c.b[c.off+i]
}

func (c *cursor) varint() uint64 {
	first := c.byteAt(0)
	if c.err != nil {
		return 0
	}
	var size int
	switch first {
	case 0xfd:
		size = 2
	case 0xfe:
		size = 4
	case 0xff:
		size = 8
	default:
		c.off++
		return uint64(first)
	}
	if len(c.b)-c.off < 1+size {
		c.err = errShort
		return 0
	}
	p := c.b[c.off+1 : c.off+1+size]
	c.off += 1 + size
	var v uint64
	switch size {
	case 2:
		v = uint64(binary.LittleEndian.Uint16(p))
		if v < 0xfd {
			c.err = errors.New("non-canonical varint")
		}
	case 4:
		v = uint64(binary.LittleEndian.Uint32(p))
		if v <= 0xffff {
			c.err = errors.New("non-canonical varint")
		}
	default:
		v = binary.LittleEndian.Uint64(p)
		if v <= 0xffffffff {
			c.err = errors.New("non-canonical varint")
		}
	}
	return v
}

// count reads a varint item count, rejecting counts that could not fit in
// the rest of the data (each item takes at least min bytes).
func (c *cursor) count(min uint64) uint64 {
	n := c.varint()
	if c.err == nil && n > uint64(len(c.b)-c.off)/min {
		c.err = errShort
	}
	return n
}

// txLayout describes one serialized transaction at the start of b.
type txLayout struct {
	size       int // bytes the transaction takes
	witnessOff int // where the witness data starts; 0 if none
}

func readTx(b []byte) (txLayout, error) {
	c := &cursor{b: b}
	c.skip(4) // version
	segwit := c.byteAt(0) == 0 && c.err == nil
	if segwit {
		if flag := c.byteAt(1); c.err == nil && flag != 1 {
			return txLayout{}, fmt.Errorf("unknown segwit flag %#x", flag)
		}
		c.skip(2)
	}
	nIn := c.count(41)
	if c.err == nil && segwit && nIn == 0 {
		return txLayout{}, errors.New("segwit transaction without inputs")
	}
	for i := uint64(0); i < nIn && c.err == nil; i++ {
		c.skip(36) // outpoint
		c.skip(c.varint())
		c.skip(4) // sequence
	}
	nOut := c.count(9)
	for i := uint64(0); i < nOut && c.err == nil; i++ {
		c.skip(8) // value
		c.skip(c.varint())
	}
	var l txLayout
	if segwit {
		l.witnessOff = c.off
		for i := uint64(0); i < nIn && c.err == nil; i++ {
			items := c.count(1)
			for j := uint64(0); j < items && c.err == nil; j++ {
				c.skip(c.varint())
			}
		}
	}
	c.skip(4) // lock time
	if c.err != nil {
		return txLayout{}, c.err
	}
	l.size = c.off
	return l, nil
}

func doubleSHA256(b ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range b {
		h.Write(p)
	}
	return sha256.Sum256(h.Sum(nil))
}

// hashString is the conventional display form: byte-reversed hex.
func hashString(h []byte) string {
	r := make([]byte, len(h))
	for i, c := range h {
		r[len(h)-1-i] = c
	}
	return hex.EncodeToString(r)
}

// TxID returns the txid of a raw transaction (its hash without witness data).
func TxID(rawTx []byte) (string, error) {
	l, err := readTx(rawTx)
	if err != nil {
		return "", fmt.Errorf("chain: txid: %w", err)
	}
	if l.size != len(rawTx) {
		return "", fmt.Errorf("chain: txid: %d trailing bytes", len(rawTx)-l.size)
	}
	var h [32]byte
	if l.witnessOff == 0 {
		h = doubleSHA256(rawTx)
	} else {
		// version, then inputs and outputs without marker and flag,
		// then lock time.
		h = doubleSHA256(rawTx[:4], rawTx[6:l.witnessOff], rawTx[len(rawTx)-4:])
	}
	return hashString(h[:]), nil
}

// parseBlock cuts a serialized block into header fields and raw
// transactions. Height is left at -1.
func parseBlock(raw []byte) (*Block, error) {
	if len(raw) < 81 {
		return nil, errors.New("block too short")
	}
	hash := doubleSHA256(raw[:80])
	b := &Block{
		Hash:     hashString(hash[:]),
		PrevHash: hashString(raw[4:36]),
		Height:   -1,
		Time:     int64(binary.LittleEndian.Uint32(raw[68:72])),
	}
	c := &cursor{b: raw, off: 80}
	n := c.count(60) // the smallest transaction is 60 bytes
	if c.err != nil {
		return nil, fmt.Errorf("transaction count: %w", c.err)
	}
	if n == 0 {
		return nil, errors.New("block without transactions")
	}
	off := c.off
	b.Txs = make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		l, err := readTx(raw[off:])
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		b.Txs = append(b.Txs, raw[off:off+l.size:off+l.size])
		off += l.size
	}
	if off != len(raw) {
		return nil, fmt.Errorf("%d trailing bytes after the transactions", len(raw)-off)
	}
	return b, nil
}
