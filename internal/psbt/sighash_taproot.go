package psbt

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// SigHashDefault is BIP-341's SIGHASH_DEFAULT: ALL, written as a 64-byte
// signature with no sighash byte.
const SigHashDefault SigHashType = 0

// ErrTaprootSigHash means a taproot signature hash cannot be computed: a
// hash type BIP-341 does not define, a spent output missing, or SINGLE
// without its output.
var ErrTaprootSigHash = errors.New("invalid taproot signature hash")

// TaprootSigHashCache holds the BIP-341 intermediate hashes of a
// transaction and the outputs its inputs spend (sha_prevouts,
// sha_amounts, sha_scriptpubkeys, sha_sequences, sha_outputs). The
// transaction and outputs must not be modified while it is in use; it is
// safe for concurrent use.
type TaprootSigHashCache struct {
	tx    *Tx
	spent []*TxOut

	prevouts, amounts, scripts, sequences, outputs [32]byte
}

// NewTaprootSigHashCache computes the intermediate hashes of tx spending
// spent (one output per input, in input order: a taproot signature
// commits to every input's amount and script, so all must be known).
func NewTaprootSigHashCache(tx *Tx, spent []*TxOut) (*TaprootSigHashCache, error) {
	if err := tx.check(); err != nil {
		return nil, fmt.Errorf("psbt: taproot sighash: %w", err)
	}
	if len(spent) != len(tx.Inputs) {
		return nil, fmt.Errorf("psbt: taproot sighash: %w: %d spent outputs for %d inputs", ErrTaprootSigHash, len(spent), len(tx.Inputs))
	}
	c := &TaprootSigHashCache{tx: tx, spent: spent}
	var b []byte
	for _, in := range tx.Inputs {
		b = appendOutPoint(b, in.PrevOut)
	}
	c.prevouts = sha256.Sum256(b)
	b = b[:0]
	for i, o := range spent {
		if o == nil {
			return nil, fmt.Errorf("psbt: taproot sighash: %w: no spent output for input %d", ErrTaprootSigHash, i)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(o.Value))
	}
	c.amounts = sha256.Sum256(b)
	b = b[:0]
	for _, o := range spent {
		b = appendVarBytes(b, o.PkScript)
	}
	c.scripts = sha256.Sum256(b)
	b = b[:0]
	for _, in := range tx.Inputs {
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	}
	c.sequences = sha256.Sum256(b)
	b = b[:0]
	for _, o := range tx.Outputs {
		b = appendTxOut(b, o)
	}
	c.outputs = sha256.Sum256(b)
	return c, nil
}

// validTaprootType reports whether ht is one of BIP-341's hash types.
func validTaprootType(ht SigHashType) bool {
	switch ht {
	case SigHashDefault, SigHashAll, SigHashNone, SigHashSingle,
		SigHashAll | SigHashAnyOneCanPay, SigHashNone | SigHashAnyOneCanPay, SigHashSingle | SigHashAnyOneCanPay:
		return true
	}
	return false
}

// sigMsg returns the epoch byte 0 and BIP-341's SigMsg(hash_type,
// ext_flag) of input idx, with
// the BIP-342 extension for a script path (leafHash not nil): the leaf
// hash, key version 0 and no OP_CODESEPARATOR executed. No annex.
func (c *TaprootSigHashCache) sigMsg(idx int, ht SigHashType, leafHash []byte) ([]byte, error) {
	tx := c.tx
	if idx < 0 || idx >= len(tx.Inputs) {
		return nil, fmt.Errorf("psbt: taproot sighash: %w: %d of %d", ErrInputIndex, idx, len(tx.Inputs))
	}
	if !validTaprootType(ht) {
		return nil, fmt.Errorf("psbt: taproot sighash: %w: hash type %#x", ErrTaprootSigHash, uint32(ht))
	}
	if leafHash != nil && len(leafHash) != 32 {
		return nil, fmt.Errorf("psbt: taproot sighash: %w: leaf hash of %d bytes", ErrTaprootSigHash, len(leafHash))
	}
	base := ht & 3
	acp := ht&SigHashAnyOneCanPay != 0
	if base == SigHashSingle && idx >= len(tx.Outputs) {
		return nil, fmt.Errorf("psbt: taproot sighash: %w: SINGLE for input %d without output %d", ErrTaprootSigHash, idx, idx)
	}
	b := make([]byte, 0, 256)
	b = append(b, 0x00, byte(ht)) // epoch 0, then SigMsg
	b = binary.LittleEndian.AppendUint32(b, uint32(tx.Version))
	b = binary.LittleEndian.AppendUint32(b, tx.LockTime)
	if !acp {
		b = append(b, c.prevouts[:]...)
		b = append(b, c.amounts[:]...)
		b = append(b, c.scripts[:]...)
		b = append(b, c.sequences[:]...)
	}
	if base != SigHashNone && base != SigHashSingle {
		b = append(b, c.outputs[:]...)
	}
	var spendType byte
	if leafHash != nil {
		spendType = 2
	}
	b = append(b, spendType)
	if acp {
		in := tx.Inputs[idx]
		b = appendOutPoint(b, in.PrevOut)
		b = binary.LittleEndian.AppendUint64(b, uint64(c.spent[idx].Value))
		b = appendVarBytes(b, c.spent[idx].PkScript)
		b = binary.LittleEndian.AppendUint32(b, in.Sequence)
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(idx))
	}
	if base == SigHashSingle {
		h := sha256.Sum256(appendTxOut(nil, tx.Outputs[idx]))
		b = append(b, h[:]...)
	}
	if leafHash != nil {
		b = append(b, leafHash...)
		b = append(b, 0x00)
		b = binary.LittleEndian.AppendUint32(b, 0xffffffff)
	}
	return b, nil
}

// SigHash returns the BIP-341 signature hash of input idx with hash type
// ht: a key-path spend if leafHash is nil, else (BIP-342) a script-path
// spend of the leaf with that 32-byte hash.
func (c *TaprootSigHashCache) SigHash(idx int, ht SigHashType, leafHash []byte) ([32]byte, error) {
	msg, err := c.sigMsg(idx, ht, leafHash)
	if err != nil {
		return [32]byte{}, err
	}
	tag := sha256.Sum256([]byte("TapSighash"))
	h := sha256.New()
	h.Write(tag[:])
	h.Write(tag[:])
	h.Write(msg)
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// TaprootSpentOutputs returns the output every input of p spends, from
// its witness UTXO (or its previous transaction, which must agree), as a
// taproot signature hash needs: an error names the first input whose
// output is unknown.
func (p *Packet) TaprootSpentOutputs() ([]*TxOut, error) {
	if p.UnsignedTx == nil {
		return nil, fmt.Errorf("psbt: %w", ErrMissingUnsignedTx)
	}
	out := make([]*TxOut, len(p.Inputs))
	for i := range p.Inputs {
		o, err := p.InputUTXO(i)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}
