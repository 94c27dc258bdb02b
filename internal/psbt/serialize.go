package psbt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

func appendKeyOrigin(b []byte, fp [4]byte, path []uint32) []byte {
	b = append(b, fp[:]...)
	for _, e := range path {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b
}

// globalPairs returns the pairs of the global map, unsorted.
func (p *Packet) globalPairs() ([]kv, error) {
	if p.UnsignedTx == nil {
		return nil, &FieldError{Map: "global", Err: ErrMissingUnsignedTx}
	}
	if err := p.UnsignedTx.check(); err != nil {
		return nil, fieldErr("global", globalUnsignedTx, err)
	}
	if p.Version != 0 && p.Version != 2 {
		return nil, fieldErr("global", globalVersion, fmt.Errorf("%w %d", ErrUnsupportedVersion, p.Version))
	}
	pairs := []kv{{[]byte{globalUnsignedTx}, p.UnsignedTx.BytesNoWitness()}}
	for _, x := range p.XPubs {
		pairs = append(pairs, kv{append([]byte{globalXPub}, x.ExtendedKey...), appendKeyOrigin(nil, x.Fingerprint, x.Path)})
	}
	for _, u := range p.Unknowns {
		pairs = append(pairs, kv{u.Key, u.Value})
	}
	return pairs, nil
}

// pairs returns the pairs of the input map, unsorted.
func (in *Input) pairs() []kv {
	var pairs []kv
	add := func(t byte, data, v []byte) {
		pairs = append(pairs, kv{append([]byte{t}, data...), v})
	}
	if in.NonWitnessUTXO != nil && in.NonWitnessUTXO.check() == nil {
		add(inNonWitnessUTXO, nil, in.NonWitnessUTXO.Bytes())
	}
	if in.WitnessUTXO != nil {
		add(inWitnessUTXO, nil, appendTxOut(nil, in.WitnessUTXO))
	}
	for _, s := range in.PartialSigs {
		add(inPartialSig, s.PubKey, s.Sig)
	}
	if in.SighashType != 0 {
		add(inSighashType, nil, binary.LittleEndian.AppendUint32(nil, uint32(in.SighashType)))
	}
	if in.RedeemScript != nil {
		add(inRedeemScript, nil, in.RedeemScript)
	}
	if in.WitnessScript != nil {
		add(inWitnessScript, nil, in.WitnessScript)
	}
	for _, d := range in.Bip32Derivation {
		add(inBip32Derivation, d.PubKey, appendKeyOrigin(nil, d.Fingerprint, d.Path))
	}
	if in.FinalScriptSig != nil {
		add(inFinalScriptSig, nil, in.FinalScriptSig)
	}
	if in.FinalScriptWitness != nil {
		add(inFinalWitness, nil, appendWitness(nil, in.FinalScriptWitness))
	}
	in.taprootPairs(add)
	for _, u := range in.Unknowns {
		pairs = append(pairs, kv{u.Key, u.Value})
	}
	return pairs
}

// pairs returns the pairs of the output map, unsorted.
func (out *Output) pairs() []kv {
	var pairs []kv
	add := func(t byte, data, v []byte) {
		pairs = append(pairs, kv{append([]byte{t}, data...), v})
	}
	if out.RedeemScript != nil {
		add(outRedeemScript, nil, out.RedeemScript)
	}
	if out.WitnessScript != nil {
		add(outWitnessScript, nil, out.WitnessScript)
	}
	for _, d := range out.Bip32Derivation {
		add(outBip32Derivation, d.PubKey, appendKeyOrigin(nil, d.Fingerprint, d.Path))
	}
	out.taprootPairs(add)
	for _, u := range out.Unknowns {
		pairs = append(pairs, kv{u.Key, u.Value})
	}
	return pairs
}

// canonical sorts pairs by key and checks that the keys are well-formed and
// distinct.
func canonical(pairs []kv, name string) error {
	for _, pair := range pairs {
		if len(pair.key) == 0 {
			return &FieldError{Map: name, Err: fmt.Errorf("%w: empty key", ErrInvalidKey)}
		}
		if _, _, err := keyType(pair.key); err != nil {
			return &FieldError{Map: name, Err: err}
		}
	}
	slices.SortStableFunc(pairs, func(a, b kv) int { return bytes.Compare(a.key, b.key) })
	return firstDuplicate(pairs, name)
}

// checkUnknowns rejects Unknowns that decode into struct fields, which
// would not survive a round trip.
func checkUnknowns(us []Unknown, name string, decode func(pair kv) (bool, error)) error {
	for _, u := range us {
		t, _, err := keyType(u.Key)
		if err != nil || len(u.Key) == 0 {
			return &FieldError{Map: name, Err: fmt.Errorf("%w: unknown entry key %x", ErrInvalidKey, u.Key)}
		}
		kept, err := decode(kv{u.Key, u.Value})
		if err != nil {
			return fieldErr(name, t, err)
		}
		if !kept {
			return fieldErr(name, t, ErrModeledKey)
		}
	}
	return nil
}

// maps returns the canonical (sorted, validated) pairs of every map of p.
func (p *Packet) maps() (global []kv, inputs, outputs [][]kv, err error) {
	if global, err = p.globalPairs(); err != nil {
		return nil, nil, nil, err
	}
	tx := p.UnsignedTx
	if len(p.Inputs) != len(tx.Inputs) {
		return nil, nil, nil, fmt.Errorf("psbt: %w: %d input maps for %d inputs", ErrMapCount, len(p.Inputs), len(tx.Inputs))
	}
	if len(p.Outputs) != len(tx.Outputs) {
		return nil, nil, nil, fmt.Errorf("psbt: %w: %d output maps for %d outputs", ErrMapCount, len(p.Outputs), len(tx.Outputs))
	}
	inputs = make([][]kv, len(p.Inputs))
	for i := range p.Inputs {
		inputs[i] = p.Inputs[i].pairs()
	}
	outputs = make([][]kv, len(p.Outputs))
	for i := range p.Outputs {
		outputs[i] = p.Outputs[i].pairs()
	}
	return global, inputs, outputs, nil
}

// validate checks the canonical pairs of every map by decoding them exactly
// as Parse does, and the Unknowns for keys that belong in struct fields. It
// returns the decoded packet.
func (p *Packet) validate(global []kv, inputs, outputs [][]kv, opts ParseOptions) (*Packet, error) {
	if err := canonical(global, "global"); err != nil {
		return nil, err
	}
	q := &Packet{}
	if err := q.decodeGlobal(global); err != nil {
		return nil, err
	}
	if err := checkUnknowns(p.Unknowns, "global", func(pair kv) (bool, error) {
		var s Packet
		t, data, _ := keyType(pair.key)
		err := s.decodeGlobalPair(t, data, pair)
		return len(s.Unknowns) == 1, err
	}); err != nil {
		return nil, err
	}
	tx := q.UnsignedTx
	if len(inputs) != len(tx.Inputs) || len(outputs) != len(tx.Outputs) {
		return nil, fmt.Errorf("psbt: %w", ErrMapCount)
	}
	q.Inputs = make([]Input, len(inputs))
	for i, pairs := range inputs {
		name := inputMap(i)
		if err := canonical(pairs, name); err != nil {
			return nil, err
		}
		if err := q.Inputs[i].decode(pairs, name, tx.Inputs[i].PrevOut, opts); err != nil {
			return nil, err
		}
		if i < len(p.Inputs) {
			if in := p.Inputs[i].NonWitnessUTXO; in != nil && in.check() != nil {
				return nil, fieldErr(name, inNonWitnessUTXO, in.check())
			}
			prev := tx.Inputs[i].PrevOut
			if err := checkUnknowns(p.Inputs[i].Unknowns, name, func(pair kv) (bool, error) {
				var s Input
				t, data, _ := keyType(pair.key)
				err := s.decodePair(t, data, pair, prev, opts)
				return len(s.Unknowns) == 1, err
			}); err != nil {
				return nil, err
			}
		}
	}
	q.Outputs = make([]Output, len(outputs))
	for i, pairs := range outputs {
		name := outputMap(i)
		if err := canonical(pairs, name); err != nil {
			return nil, err
		}
		if err := q.Outputs[i].decode(pairs, name, opts.DerivationKeysAsBytes); err != nil {
			return nil, err
		}
		if i < len(p.Outputs) {
			if err := checkUnknowns(p.Outputs[i].Unknowns, name, func(pair kv) (bool, error) {
				var s Output
				t, data, _ := keyType(pair.key)
				err := s.decodePair(t, data, pair, opts.DerivationKeysAsBytes)
				return len(s.Unknowns) == 1, err
			}); err != nil {
				return nil, err
			}
		}
	}
	return q, nil
}

// Serialize encodes the packet in canonical form: each map's pairs sorted
// by key bytes. It validates the packet exactly as Parse would (key and
// value formats, duplicate keys, map counts, UTXO txids) so that its output
// always parses back to an equivalent packet.
func (p *Packet) Serialize() ([]byte, error) { return p.SerializeWith(ParseOptions{}) }

// SerializeWith is Serialize, with what it writes checked to parse as
// ParseWith(opts) would parse it.
func (p *Packet) SerializeWith(opts ParseOptions) ([]byte, error) {
	global, inputs, outputs, err := p.maps()
	if err != nil {
		return nil, err
	}
	if _, err := p.validate(global, inputs, outputs, opts); err != nil {
		return nil, err
	}
	if p.Version == 2 {
		if global, inputs, outputs, err = p.toV2(global, inputs, outputs); err != nil {
			return nil, err
		}
	}
	b := appendMaps(nil, global, inputs, outputs)
	if len(b) > MaxSize {
		return nil, fmt.Errorf("psbt: %w: %d bytes", ErrTooLarge, len(b))
	}
	return b, nil
}

func appendMaps(b []byte, global []kv, inputs, outputs [][]kv) []byte {
	b = append(b, magic...)
	b = appendMap(b, global)
	for _, m := range inputs {
		b = appendMap(b, m)
	}
	for _, m := range outputs {
		b = appendMap(b, m)
	}
	return b
}

func appendMap(b []byte, pairs []kv) []byte {
	for _, pair := range pairs {
		b = appendVarBytes(b, pair.key)
		b = appendVarBytes(b, pair.value)
	}
	return append(b, 0x00)
}
