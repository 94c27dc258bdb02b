package psbt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SigHashType is a signature hash type. The low byte is appended to
// signatures; the full 32-bit value is committed to by the hash.
type SigHashType uint32

// Signature hash types.
const (
	// SigHashAll signs all inputs and outputs.
	SigHashAll SigHashType = 1
	// SigHashNone signs all inputs and no outputs.
	SigHashNone SigHashType = 2
	// SigHashSingle signs all inputs and the output with the input's index.
	SigHashSingle SigHashType = 3
	// SigHashAnyOneCanPay, or-ed with one of the above, signs only the
	// input being signed.
	SigHashAnyOneCanPay SigHashType = 0x80
)

// opCodeSeparator is OP_CODESEPARATOR.
const opCodeSeparator = 0xab

// ErrInputIndex means a signature hash was requested for an input the
// transaction does not have.
var ErrInputIndex = errors.New("input index out of range")

// nextOp advances past one script operation starting at pc, exactly like
// Bitcoin Core's GetScriptOp. It returns the opcode, the position after the
// operation and whether the operation was complete. On failure the returned
// position is where Core's iterator would be left (past the opcode and any
// length bytes that were present).
func nextOp(script []byte, pc int) (op byte, next int, ok bool) {
	if pc >= len(script) {
		return 0, pc, false
	}
	op = script[pc]
	pc++
	if op > 0x4e { // not a push
		return op, pc, true
	}
	var n int
	switch op {
	case 0x4c: // OP_PUSHDATA1
		if len(script)-pc < 1 {
			return op, pc, false
		}
		n = int(script[pc])
		pc++
	case 0x4d: // OP_PUSHDATA2
		if len(script)-pc < 2 {
			return op, pc, false
		}
		n = int(binary.LittleEndian.Uint16(script[pc:]))
		pc += 2
	case 0x4e: // OP_PUSHDATA4
		if len(script)-pc < 4 {
			return op, pc, false
		}
		n64 := uint64(binary.LittleEndian.Uint32(script[pc:]))
		pc += 4
		if n64 > uint64(len(script)-pc) {
			return op, pc, false
		}
		n = int(n64)
	default:
		n = int(op)
	}
	if n > len(script)-pc {
		return op, pc, false
	}
	return op, pc + n, true
}

// appendScriptCode appends the script code as Bitcoin Core's legacy
// signature serialiser does: the compact-size length (the script length less
// the number of OP_CODESEPARATORs) followed by the script with every
// OP_CODESEPARATOR operation removed. Pushed data is not touched. If the
// script ends in a malformed push, the bytes are cut where Core's parser
// stops, reproducing Core's (consensus) behaviour.
func appendScriptCode(b, script []byte) []byte {
	nSep := 0
	for pc := 0; ; {
		op, next, ok := nextOp(script, pc)
		if !ok {
			break
		}
		if op == opCodeSeparator {
			nSep++
		}
		pc = next
	}
	b = appendCompactSize(b, uint64(len(script)-nSep))
	begin, pc := 0, 0
	for {
		op, next, ok := nextOp(script, pc)
		pc = next
		if !ok {
			break
		}
		if op == opCodeSeparator {
			b = append(b, script[begin:pc-1]...)
			begin = pc
		}
	}
	if begin != len(script) {
		b = append(b, script[begin:pc]...)
	}
	return b
}

// LegacySigHash returns the original (pre-segwit) signature hash of input
// idx of tx, signing subScript (the scriptPubKey or redeemScript; its
// OP_CODESEPARATORs are removed as Bitcoin Core does) with hash type ht.
//
// It reproduces the consensus quirks: for SIGHASH_SINGLE with no output at
// idx the result is the value 1 (0x01 followed by 31 zero bytes), and the
// full 32-bit ht is appended to the preimage.
func LegacySigHash(tx *Tx, idx int, subScript []byte, ht SigHashType) ([32]byte, error) {
	var h [32]byte
	if idx < 0 || idx >= len(tx.Inputs) {
		return h, fmt.Errorf("psbt: legacy sighash: %w: %d of %d", ErrInputIndex, idx, len(tx.Inputs))
	}
	if err := tx.check(); err != nil {
		return h, fmt.Errorf("psbt: legacy sighash: %w", err)
	}
	base := ht & 0x1f
	anyoneCanPay := ht&SigHashAnyOneCanPay != 0
	if base == SigHashSingle && idx >= len(tx.Outputs) {
		h[0] = 1
		return h, nil
	}

	b := make([]byte, 0, 64+len(subScript)+len(tx.Inputs)*41+len(tx.Outputs)*34)
	b = binary.LittleEndian.AppendUint32(b, uint32(tx.Version))
	if anyoneCanPay {
		b = appendCompactSize(b, 1)
	} else {
		b = appendCompactSize(b, uint64(len(tx.Inputs)))
	}
	for i, in := range tx.Inputs {
		if anyoneCanPay && i != idx {
			continue
		}
		b = appendOutPoint(b, in.PrevOut)
		if i == idx {
			b = appendScriptCode(b, subScript)
		} else {
			b = append(b, 0)
		}
		if i != idx && (base == SigHashNone || base == SigHashSingle) {
			b = binary.LittleEndian.AppendUint32(b, 0)
		} else {
			b = binary.LittleEndian.AppendUint32(b, in.Sequence)
		}
	}
	switch base {
	case SigHashNone:
		b = appendCompactSize(b, 0)
	case SigHashSingle:
		b = appendCompactSize(b, uint64(idx+1))
		for i := 0; i < idx; i++ {
			// A "null" output: value -1, empty script.
			b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0)
		}
		b = appendTxOut(b, tx.Outputs[idx])
	default:
		b = appendCompactSize(b, uint64(len(tx.Outputs)))
		for _, o := range tx.Outputs {
			b = appendTxOut(b, o)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, tx.LockTime)
	b = binary.LittleEndian.AppendUint32(b, uint32(ht))
	return doubleSHA256(b), nil
}

// SigHashCache holds the BIP-143 intermediate hashes of a transaction
// (hashPrevouts, hashSequence, hashOutputs), so that signing or verifying
// every input costs linear rather than quadratic time. The transaction must
// not be modified while the cache is in use. A SigHashCache is safe for
// concurrent use.
type SigHashCache struct {
	tx           *Tx
	err          error // the transaction has nil inputs or outputs
	hashPrevouts [32]byte
	hashSequence [32]byte
	hashOutputs  [32]byte
}

// NewSigHashCache computes the BIP-143 intermediate hashes of tx.
func NewSigHashCache(tx *Tx) *SigHashCache {
	c := &SigHashCache{tx: tx}
	if c.err = tx.check(); c.err != nil {
		return c // WitnessV0 reports the error
	}
	b := make([]byte, 0, 36*len(tx.Inputs))
	for _, in := range tx.Inputs {
		b = appendOutPoint(b, in.PrevOut)
	}
	c.hashPrevouts = doubleSHA256(b)
	b = b[:0]
	for _, in := range tx.Inputs {
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	}
	c.hashSequence = doubleSHA256(b)
	b = b[:0]
	for _, o := range tx.Outputs {
		b = appendTxOut(b, o)
	}
	c.hashOutputs = doubleSHA256(b)
	return c
}

// WitnessV0 returns the BIP-143 signature hash of input idx spending an
// output of the given amount, with scriptCode (for P2WSH the witnessScript,
// for P2WPKH the equivalent P2PKH script) and hash type ht.
func (c *SigHashCache) WitnessV0(idx int, scriptCode []byte, amount int64, ht SigHashType) ([32]byte, error) {
	tx := c.tx
	if idx < 0 || idx >= len(tx.Inputs) {
		return [32]byte{}, fmt.Errorf("psbt: witness v0 sighash: %w: %d of %d", ErrInputIndex, idx, len(tx.Inputs))
	}
	if c.err != nil {
		return [32]byte{}, fmt.Errorf("psbt: witness v0 sighash: %w", c.err)
	}
	base := ht & 0x1f
	anyoneCanPay := ht&SigHashAnyOneCanPay != 0
	var zero, hashPrevouts, hashSequence, hashOutputs [32]byte
	if !anyoneCanPay {
		hashPrevouts = c.hashPrevouts
		if base != SigHashSingle && base != SigHashNone {
			hashSequence = c.hashSequence
		}
	}
	switch {
	case base != SigHashSingle && base != SigHashNone:
		hashOutputs = c.hashOutputs
	case base == SigHashSingle && idx < len(tx.Outputs):
		hashOutputs = doubleSHA256(appendTxOut(nil, tx.Outputs[idx]))
	default:
		hashOutputs = zero
	}
	in := tx.Inputs[idx]
	var buf [512]byte // enough for most script codes; append grows it otherwise
	b := buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(tx.Version))
	b = append(b, hashPrevouts[:]...)
	b = append(b, hashSequence[:]...)
	b = appendOutPoint(b, in.PrevOut)
	b = appendVarBytes(b, scriptCode)
	b = binary.LittleEndian.AppendUint64(b, uint64(amount))
	b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	b = append(b, hashOutputs[:]...)
	b = binary.LittleEndian.AppendUint32(b, tx.LockTime)
	b = binary.LittleEndian.AppendUint32(b, uint32(ht))
	return doubleSHA256(b), nil
}

// WitnessV0SigHash returns the BIP-143 signature hash of input idx. It
// hashes the whole transaction each time; to sign many inputs use
// NewSigHashCache and SigHashCache.WitnessV0.
func WitnessV0SigHash(tx *Tx, idx int, scriptCode []byte, amount int64, ht SigHashType) ([32]byte, error) {
	if idx < 0 || idx >= len(tx.Inputs) {
		return [32]byte{}, fmt.Errorf("psbt: witness v0 sighash: %w: %d of %d", ErrInputIndex, idx, len(tx.Inputs))
	}
	return NewSigHashCache(tx).WitnessV0(idx, scriptCode, amount, ht)
}
