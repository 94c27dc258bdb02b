package psbt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// PSBT version 2 (BIP-370) carries the unsigned transaction as fields of
// the maps instead of PSBT_GLOBAL_UNSIGNED_TX: the global transaction
// version, fallback lock time and input and output counts; each input's
// previous txid, output index, sequence and required lock times; each
// output's amount and script. Parse reads a version 2 PSBT into the same
// Packet as version 0, its UnsignedTx built from those fields and its
// Version 2; Serialize writes a Packet of Version 2 in that form. Setting
// Version converts: every field the two versions share is kept, and the
// fields only version 2 has (the fallback lock time, PSBT_GLOBAL_TX_MODIFIABLE,
// the inputs' required lock times, whether a sequence was written) are
// kept in the packet while it is version 2 and dropped when it is written
// as version 0, which has no place for them.

// Key types of version 2 (BIP-370).
const (
	globalTxVersion        = 0x02
	globalFallbackLocktime = 0x03
	globalInputCount       = 0x04
	globalOutputCount      = 0x05
	globalTxModifiable     = 0x06
	inPreviousTxid         = 0x0e
	inOutputIndex          = 0x0f
	inSequence             = 0x10
	inRequiredTime         = 0x11
	inRequiredHeight       = 0x12
	outAmount              = 0x03
	outScript              = 0x04
)

// Errors of version 2.
var (
	// ErrMissingField means a field version 2 requires is absent.
	ErrMissingField = errors.New("missing field required in psbt version 2")
	// ErrExcludedFieldV2 means a version 2 PSBT holds PSBT_GLOBAL_UNSIGNED_TX.
	ErrExcludedFieldV2 = errors.New("field not allowed in psbt version 2")
	// ErrLockTime means the inputs' required lock times admit no lock time:
	// one input requires a height and another a time.
	ErrLockTime = errors.New("no lock time satisfies every input")
)

// lockTimeThreshold divides heights (below) from times (at or above).
const lockTimeThreshold = 500_000_000

// v2Fields holds what a version 2 PSBT has beyond version 0's fields.
type v2Fields struct {
	global []kv      // fallback lock time, tx modifiable: raw pairs
	inputs []v2Input // one per input
}

type v2Input struct {
	explicitSeq bool // PSBT_IN_SEQUENCE was written (it may be 0xffffffff)
	locktimes   []kv // required time and height lock times: raw pairs
}

func (v *v2Fields) copy() *v2Fields {
	if v == nil {
		return nil
	}
	c := &v2Fields{global: copyPairs(v.global), inputs: make([]v2Input, len(v.inputs))}
	for i, in := range v.inputs {
		c.inputs[i] = v2Input{explicitSeq: in.explicitSeq, locktimes: copyPairs(in.locktimes)}
	}
	return c
}

func copyPairs(ps []kv) []kv {
	out := make([]kv, len(ps))
	for i, p := range ps {
		out[i] = kv{bytes.Clone(p.key), bytes.Clone(p.value)}
	}
	return out
}

// globalVersionOf returns the version a global map declares (0 if none).
func globalVersionOf(pairs []kv) uint32 {
	for _, p := range pairs {
		if len(p.key) == 1 && p.key[0] == globalVersion && len(p.value) == 4 {
			return binary.LittleEndian.Uint32(p.value)
		}
	}
	return 0
}

func u32(v []byte, what string) (uint32, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: %s must be 4 bytes, have %d", ErrInvalidValue, what, len(v))
	}
	return binary.LittleEndian.Uint32(v), nil
}

func compactValue(v []byte) (uint64, error) {
	r := &reader{b: v}
	n, err := r.compactSize()
	if err == nil && r.remaining() != 0 {
		err = ErrTrailingBytes
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return n, nil
}

// parseV2 reads the rest of a version 2 PSBT whose global map is gpairs.
func parseV2(r *reader, gpairs []kv, opts ParseOptions) (*Packet, error) {
	const name = "global"
	tx := &Tx{}
	extra := &v2Fields{}
	var rest []kv
	var hasVersion, hasIn, hasOut bool
	var nIn, nOut uint64
	var fallback uint32
	for _, pair := range gpairs {
		t, data, _ := keyType(pair.key)
		if t > 0xff || t < globalTxVersion && t != globalUnsignedTx || t > globalTxModifiable && t != globalVersion {
			rest = append(rest, pair)
			continue
		}
		if t == globalUnsignedTx {
			return nil, fieldErr(name, t, ErrExcludedFieldV2)
		}
		if err := noKeyData(data); err != nil {
			return nil, fieldErr(name, t, err)
		}
		var err error
		switch t {
		case globalTxVersion:
			var v uint32
			v, err = u32(pair.value, "tx version")
			tx.Version, hasVersion = int32(v), true
		case globalFallbackLocktime:
			fallback, err = u32(pair.value, "fallback lock time")
			extra.global = append(extra.global, pair)
		case globalInputCount:
			nIn, err = compactValue(pair.value)
			hasIn = true
		case globalOutputCount:
			nOut, err = compactValue(pair.value)
			hasOut = true
		case globalTxModifiable:
			if len(pair.value) != 1 {
				err = fmt.Errorf("%w: tx modifiable must be 1 byte, have %d", ErrInvalidValue, len(pair.value))
			}
			extra.global = append(extra.global, pair)
		case globalVersion:
		}
		if err != nil {
			return nil, fieldErr(name, t, err)
		}
	}
	for _, m := range []struct {
		ok bool
		t  uint64
	}{{hasVersion, globalTxVersion}, {hasIn, globalInputCount}, {hasOut, globalOutputCount}} {
		if !m.ok {
			return nil, fieldErr(name, m.t, ErrMissingField)
		}
	}
	// Every map takes at least its separator byte.
	if nIn+nOut > uint64(r.remaining()) {
		return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: %d inputs and %d outputs declared, %d bytes left", ErrMissingMap, nIn, nOut, r.remaining())}
	}
	inPairs := make([][]kv, nIn)
	extra.inputs = make([]v2Input, nIn)
	for i := range inPairs {
		name := inputMap(i)
		if r.remaining() == 0 {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: %d inputs declared", ErrMissingMap, nIn)}
		}
		pairs, err := readMap(r, name)
		if err != nil {
			return nil, err
		}
		in, rest, err := v2InputFields(pairs, name, &extra.inputs[i])
		if err != nil {
			return nil, err
		}
		tx.Inputs = append(tx.Inputs, in)
		inPairs[i] = rest
	}
	outPairs := make([][]kv, nOut)
	for i := range outPairs {
		name := outputMap(i)
		if r.remaining() == 0 {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: %d outputs declared", ErrMissingMap, nOut)}
		}
		pairs, err := readMap(r, name)
		if err != nil {
			return nil, err
		}
		out, rest, err := v2OutputFields(pairs, name)
		if err != nil {
			return nil, err
		}
		tx.Outputs = append(tx.Outputs, out)
		outPairs[i] = rest
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("psbt: %w: %d bytes after the last output map", ErrTrailingBytes, r.remaining())
	}
	lt, err := lockTime(extra, fallback)
	if err != nil {
		return nil, err
	}
	tx.LockTime = lt
	// The rest is version 0's maps around the transaction just built.
	global := append([]kv{{[]byte{globalUnsignedTx}, tx.BytesNoWitness()}}, rest...)
	p := &Packet{}
	if err := p.decodeGlobal(global); err != nil {
		return nil, err
	}
	p.Inputs = make([]Input, len(inPairs))
	for i, pairs := range inPairs {
		if err := p.Inputs[i].decode(pairs, inputMap(i), tx.Inputs[i].PrevOut, opts); err != nil {
			return nil, err
		}
	}
	p.Outputs = make([]Output, len(outPairs))
	for i, pairs := range outPairs {
		if err := p.Outputs[i].decode(pairs, outputMap(i), opts.DerivationKeysAsBytes); err != nil {
			return nil, err
		}
	}
	p.Version = 2
	p.v2 = extra
	return p, nil
}

// v2InputFields takes the transaction fields out of a version 2 input map.
func v2InputFields(pairs []kv, name string, extra *v2Input) (*TxIn, []kv, error) {
	in := &TxIn{Sequence: 0xffffffff}
	var rest []kv
	var hasTxid, hasIndex bool
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if t < inPreviousTxid || t > inRequiredHeight {
			rest = append(rest, pair)
			continue
		}
		if err := noKeyData(data); err != nil {
			return nil, nil, fieldErr(name, t, err)
		}
		var err error
		switch t {
		case inPreviousTxid:
			if len(pair.value) != 32 {
				err = fmt.Errorf("%w: txid must be 32 bytes, have %d", ErrInvalidValue, len(pair.value))
			}
			copy(in.PrevOut.Hash[:], pair.value)
			hasTxid = true
		case inOutputIndex:
			in.PrevOut.Index, err = u32(pair.value, "output index")
			hasIndex = true
		case inSequence:
			in.Sequence, err = u32(pair.value, "sequence")
			extra.explicitSeq = true
		case inRequiredTime:
			var v uint32
			if v, err = u32(pair.value, "required time lock time"); err == nil && v < lockTimeThreshold {
				err = fmt.Errorf("%w: required time lock time %d is below %d (a height)", ErrInvalidValue, v, lockTimeThreshold)
			}
			extra.locktimes = append(extra.locktimes, pair)
		case inRequiredHeight:
			var v uint32
			if v, err = u32(pair.value, "required height lock time"); err == nil && (v == 0 || v >= lockTimeThreshold) {
				err = fmt.Errorf("%w: required height lock time %d must be from 1 to %d", ErrInvalidValue, v, lockTimeThreshold-1)
			}
			extra.locktimes = append(extra.locktimes, pair)
		}
		if err != nil {
			return nil, nil, fieldErr(name, t, err)
		}
	}
	if !hasTxid {
		return nil, nil, fieldErr(name, inPreviousTxid, ErrMissingField)
	}
	if !hasIndex {
		return nil, nil, fieldErr(name, inOutputIndex, ErrMissingField)
	}
	return in, rest, nil
}

// v2OutputFields takes the amount and script out of a version 2 output map.
func v2OutputFields(pairs []kv, name string) (*TxOut, []kv, error) {
	out := &TxOut{}
	var rest []kv
	var hasAmount, hasScript bool
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if t != outAmount && t != outScript {
			rest = append(rest, pair)
			continue
		}
		if err := noKeyData(data); err != nil {
			return nil, nil, fieldErr(name, t, err)
		}
		if t == outScript {
			out.PkScript, hasScript = bytes.Clone(pair.value), true
			continue
		}
		if len(pair.value) != 8 {
			return nil, nil, fieldErr(name, t, fmt.Errorf("%w: amount must be 8 bytes, have %d", ErrInvalidValue, len(pair.value)))
		}
		out.Value, hasAmount = int64(binary.LittleEndian.Uint64(pair.value)), true
		if out.Value < 0 || out.Value > MaxMoney {
			return nil, nil, fieldErr(name, t, fmt.Errorf("%w: %d", ErrInvalidAmount, out.Value))
		}
	}
	if !hasAmount {
		return nil, nil, fieldErr(name, outAmount, ErrMissingField)
	}
	if !hasScript {
		return nil, nil, fieldErr(name, outScript, ErrMissingField)
	}
	return out, rest, nil
}

// lockTime determines the transaction's lock time as BIP-370 says: the
// fallback if no input requires one; else the type every input that
// requires one accepts (height if both), at its largest value.
func lockTime(extra *v2Fields, fallback uint32) (uint32, error) {
	any, heightOK, timeOK := false, true, true
	var maxHeight, maxTime uint32
	for _, in := range extra.inputs {
		var h, t uint32
		var hasH, hasT bool
		for _, p := range in.locktimes {
			v := binary.LittleEndian.Uint32(p.value)
			if p.key[0] == inRequiredHeight {
				h, hasH = v, true
			} else {
				t, hasT = v, true
			}
		}
		if !hasH && !hasT {
			continue
		}
		any = true
		heightOK = heightOK && hasH
		timeOK = timeOK && hasT
		maxHeight, maxTime = max(maxHeight, h), max(maxTime, t)
	}
	switch {
	case !any:
		return fallback, nil
	case heightOK:
		return maxHeight, nil
	case timeOK:
		return maxTime, nil
	}
	return 0, fmt.Errorf("psbt: %w: one input requires a height, another a time", ErrLockTime)
}

// toV2 turns the canonical version 0 maps of p into version 2's.
func (p *Packet) toV2(global []kv, inputs, outputs [][]kv) (g2 []kv, in2, out2 [][]kv, err error) {
	tx := p.UnsignedTx
	for _, pair := range global {
		if pair.key[0] == globalUnsignedTx || len(pair.key) == 1 && pair.key[0] == globalVersion {
			continue
		}
		g2 = append(g2, pair)
	}
	g2 = append(g2,
		kv{[]byte{globalTxVersion}, binary.LittleEndian.AppendUint32(nil, uint32(tx.Version))},
		kv{[]byte{globalInputCount}, appendCompactSize(nil, uint64(len(tx.Inputs)))},
		kv{[]byte{globalOutputCount}, appendCompactSize(nil, uint64(len(tx.Outputs)))},
		kv{[]byte{globalVersion}, binary.LittleEndian.AppendUint32(nil, 2)},
	)
	extra := p.v2
	if extra != nil && len(extra.inputs) != len(tx.Inputs) {
		extra = nil // inputs were added or removed: nothing to keep per input
	}
	switch {
	case p.v2 != nil:
		g2 = append(g2, copyPairs(p.v2.global)...)
	case tx.LockTime != 0:
		g2 = append(g2, kv{[]byte{globalFallbackLocktime}, binary.LittleEndian.AppendUint32(nil, tx.LockTime)})
	}
	if err := canonical(g2, "global"); err != nil {
		return nil, nil, nil, err
	}
	in2 = make([][]kv, len(inputs))
	for i, pairs := range inputs {
		txin := tx.Inputs[i]
		m := slices.Clone(pairs)
		m = append(m,
			kv{[]byte{inPreviousTxid}, bytes.Clone(txin.PrevOut.Hash[:])},
			kv{[]byte{inOutputIndex}, binary.LittleEndian.AppendUint32(nil, txin.PrevOut.Index)},
		)
		if txin.Sequence != 0xffffffff || extra != nil && extra.inputs[i].explicitSeq {
			m = append(m, kv{[]byte{inSequence}, binary.LittleEndian.AppendUint32(nil, txin.Sequence)})
		}
		if extra != nil {
			m = append(m, copyPairs(extra.inputs[i].locktimes)...)
		}
		if err := canonical(m, inputMap(i)); err != nil {
			return nil, nil, nil, err
		}
		in2[i] = m
	}
	out2 = make([][]kv, len(outputs))
	for i, pairs := range outputs {
		o := tx.Outputs[i]
		m := slices.Clone(pairs)
		m = append(m,
			kv{[]byte{outAmount}, binary.LittleEndian.AppendUint64(nil, uint64(o.Value))},
			kv{[]byte{outScript}, bytes.Clone(o.PkScript)},
		)
		if err := canonical(m, outputMap(i)); err != nil {
			return nil, nil, nil, err
		}
		out2[i] = m
	}
	return g2, in2, out2, nil
}

// Convert returns the PSBT b (binary, version 0 or 2) written as version
// 0 or 2; see Packet.Version for what each keeps.
func Convert(b []byte, version uint32) ([]byte, error) {
	if version != 0 && version != 2 {
		return nil, fmt.Errorf("psbt: %w %d", ErrUnsupportedVersion, version)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, err
	}
	p.Version = version
	return p.Serialize()
}
