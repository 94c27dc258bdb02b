package psbt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // HASH160 is consensus.
)

// kv is a raw key-value pair.
type kv struct {
	key, value []byte
}

// keyType splits a key into its type and data, checking minimal encoding.
func keyType(key []byte) (uint64, []byte, error) {
	r := &reader{b: key}
	t, err := r.compactSize()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: key type: %w", ErrInvalidKey, err)
	}
	return t, key[r.off:], nil
}

// readMap reads key-value pairs up to and including the 0x00 separator and
// rejects duplicate keys.
func readMap(r *reader, name string) ([]kv, error) {
	var pairs []kv
	for {
		if len(pairs) > MaxMapPairs {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: more than %d in one map", ErrTooManyPairs, MaxMapPairs)}
		}
		if r.pairs > MaxPairs {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: more than %d in the psbt", ErrTooManyPairs, MaxPairs)}
		}
		klen, err := r.compactSize()
		if err != nil {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("key length: %w", err)}
		}
		if klen == 0 {
			return pairs, checkDuplicates(pairs, name)
		}
		if klen > uint64(r.remaining()) {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("key: %w", ErrTruncated)}
		}
		key, _ := r.bytes(int(klen))
		t, _, err := keyType(key)
		if err != nil {
			return nil, &FieldError{Map: name, Err: err}
		}
		value, err := r.varBytes()
		if err != nil {
			return nil, &FieldError{Map: name, KeyType: t, HasKey: true, Err: fmt.Errorf("value: %w", err)}
		}
		pairs = append(pairs, kv{key, value})
		r.pairs++
	}
}

// checkDuplicates reports the first duplicate key (in key order) of pairs.
func checkDuplicates(pairs []kv, name string) error {
	if len(pairs) < 2 {
		return nil
	}
	sorted := slices.Clone(pairs)
	slices.SortFunc(sorted, func(a, b kv) int { return bytes.Compare(a.key, b.key) })
	return firstDuplicate(sorted, name)
}

// firstDuplicate reports the first key of sorted, pairs in key order,
// that the pair before it has too.
func firstDuplicate(sorted []kv, name string) error {
	for i := 1; i < len(sorted); i++ {
		if bytes.Equal(sorted[i-1].key, sorted[i].key) {
			t, _, _ := keyType(sorted[i].key)
			return fieldErr(name, t, fmt.Errorf("%w %x", ErrDuplicateKey, sorted[i].key))
		}
	}
	return nil
}

// countTypes returns how many pairs have each of the given single-byte key
// types, and how many have none of them.
func countTypes(pairs []kv, types ...byte) (counts []int, others int) {
	counts = make([]int, len(types))
pairs:
	for _, pair := range pairs {
		for i, t := range types {
			if pair.key[0] == t {
				counts[i]++
				continue pairs
			}
		}
		others++
	}
	return counts, others
}

// Parse decodes a binary (not base64) PSBT version 0. It is strict: see the
// package documentation and the error variables for what it rejects. The
// returned Packet does not alias b.
func Parse(b []byte) (*Packet, error) { return ParseWith(b, ParseOptions{}) }

// ParseOptions relax one check of Parse for a caller that makes it
// itself.
type ParseOptions struct {
	// DerivationKeysAsBytes takes the public key of every BIP-32
	// derivation (input and output) on its length and prefix alone,
	// without the square root that proves it a point on the curve: a
	// third of the cost of parsing a large PSBT. It is for a caller that
	// uses no such key before comparing its bytes with a key it derived
	// itself, which is a point: the signer.
	DerivationKeysAsBytes bool
	// PartialSigKeysAsBytes does the same for the key of every partial
	// signature: for a writer (SerializeWith) whose signatures are its
	// own, made with keys it derived.
	PartialSigKeysAsBytes bool
}

// ParseWith is Parse with opts.
func ParseWith(b []byte, opts ParseOptions) (*Packet, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("psbt: %w: %d bytes", ErrTooLarge, len(b))
	}
	if !bytes.HasPrefix(b, magic) {
		return nil, fmt.Errorf("psbt: %w", ErrBadMagic)
	}
	r := &reader{b: b, off: len(magic)}
	gpairs, err := readMap(r, "global")
	if err != nil {
		return nil, err
	}
	if globalVersionOf(gpairs) == 2 {
		return parseV2(r, gpairs, opts)
	}
	p := &Packet{}
	if err := p.decodeGlobal(gpairs); err != nil {
		return nil, err
	}
	tx := p.UnsignedTx
	p.Inputs = make([]Input, len(tx.Inputs))
	for i := range p.Inputs {
		name := inputMap(i)
		if r.remaining() == 0 {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: the transaction has %d inputs", ErrMissingMap, len(tx.Inputs))}
		}
		pairs, err := readMap(r, name)
		if err != nil {
			return nil, err
		}
		if err := p.Inputs[i].decode(pairs, name, tx.Inputs[i].PrevOut, opts); err != nil {
			return nil, err
		}
	}
	p.Outputs = make([]Output, len(tx.Outputs))
	for i := range p.Outputs {
		name := outputMap(i)
		if r.remaining() == 0 {
			return nil, &FieldError{Map: name, Err: fmt.Errorf("%w: the transaction has %d outputs", ErrMissingMap, len(tx.Outputs))}
		}
		pairs, err := readMap(r, name)
		if err != nil {
			return nil, err
		}
		if err := p.Outputs[i].decode(pairs, name, opts.DerivationKeysAsBytes); err != nil {
			return nil, err
		}
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("psbt: %w: %d bytes after the last output map", ErrTrailingBytes, r.remaining())
	}
	return p, nil
}

func fieldErr(name string, t uint64, err error) error {
	return &FieldError{Map: name, KeyType: t, HasKey: true, Err: err}
}

func noKeyData(data []byte) error {
	if len(data) != 0 {
		return fmt.Errorf("%w: want no key data, have %d bytes", ErrInvalidKey, len(data))
	}
	return nil
}

// decodeGlobal fills the global fields of p from the pairs of the global map.
func (p *Packet) decodeGlobal(pairs []kv) error {
	const name = "global"
	counts, others := countTypes(pairs, globalUnsignedTx, globalXPub)
	p.XPubs = slices.Grow(p.XPubs, counts[1])
	p.Unknowns = slices.Grow(p.Unknowns, others)
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if err := p.decodeGlobalPair(t, data, pair); err != nil {
			return fieldErr(name, t, err)
		}
	}
	if p.UnsignedTx == nil {
		return &FieldError{Map: name, Err: ErrMissingUnsignedTx}
	}
	return nil
}

func (p *Packet) decodeGlobalPair(t uint64, data []byte, pair kv) error {
	switch t {
	case globalUnsignedTx:
		if err := noKeyData(data); err != nil {
			return err
		}
		tx, err := parseTx(pair.value, false)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		if err := checkUnsigned(tx); err != nil {
			return err
		}
		p.UnsignedTx = tx
	case globalXPub:
		x, err := decodeXPub(data, pair.value)
		if err != nil {
			return err
		}
		p.XPubs = append(p.XPubs, x)
	case 0x02, 0x03, 0x04, 0x05, 0x06:
		return ErrExcludedField
	case globalVersion:
		if err := noKeyData(data); err != nil {
			return err
		}
		if len(pair.value) != 4 {
			return fmt.Errorf("%w: version must be 4 bytes, have %d", ErrInvalidValue, len(pair.value))
		}
		if v := binary.LittleEndian.Uint32(pair.value); v != 0 {
			return fmt.Errorf("%w %d", ErrUnsupportedVersion, v)
		}
		// An explicit version 0 is kept verbatim so that it round-trips.
		p.Unknowns = append(p.Unknowns, newUnknown(pair))
	case proprietary:
		if err := checkProprietary(data); err != nil {
			return err
		}
		p.Unknowns = append(p.Unknowns, newUnknown(pair))
	default:
		p.Unknowns = append(p.Unknowns, newUnknown(pair))
	}
	return nil
}

func newUnknown(pair kv) Unknown {
	return Unknown{Key: bytes.Clone(pair.key), Value: bytes.Clone(pair.value)}
}

func checkUnsigned(tx *Tx) error {
	for i, in := range tx.Inputs {
		if len(in.ScriptSig) != 0 || len(in.Witness) != 0 {
			return fmt.Errorf("%w (input %d)", ErrUnsignedTxNotEmpty, i)
		}
	}
	return nil
}

func decodeXPub(data, value []byte) (XPub, error) {
	if len(data) != 78 {
		return XPub{}, fmt.Errorf("%w: extended key must be 78 bytes, have %d", ErrInvalidKey, len(data))
	}
	fp, path, err := decodeKeyOrigin(value)
	if err != nil {
		return XPub{}, err
	}
	if err := checkPubKey(data[45:]); err != nil {
		return XPub{}, fmt.Errorf("extended key: %w", err)
	}
	if depth := int(data[4]); depth != len(path) {
		return XPub{}, fmt.Errorf("%w: derivation path has %d elements, extended key depth is %d", ErrInvalidValue, len(path), depth)
	}
	return XPub{ExtendedKey: bytes.Clone(data), Fingerprint: fp, Path: path}, nil
}

// decodeKeyOrigin decodes <4-byte fingerprint> <uint32le path element>*.
func decodeKeyOrigin(v []byte) ([4]byte, []uint32, error) {
	var fp [4]byte
	if len(v) < 4 || len(v)%4 != 0 {
		return fp, nil, fmt.Errorf("%w: key origin length %d is not a positive multiple of 4", ErrInvalidValue, len(v))
	}
	copy(fp[:], v)
	path := make([]uint32, len(v)/4-1)
	for i := range path {
		path[i] = binary.LittleEndian.Uint32(v[4+4*i:])
	}
	return fp, path, nil
}

// checkPubKey checks a 33- or 65-byte ECDSA public key.
func checkPubKey(k []byte) error {
	if len(k) != 33 && len(k) != 65 {
		return fmt.Errorf("%w: public key must be 33 or 65 bytes, have %d", ErrInvalidKey, len(k))
	}
	if _, err := btcec.ParsePubKey(k); err != nil {
		return fmt.Errorf("%w: invalid public key: %v", ErrInvalidKey, err)
	}
	return nil
}

// checkPubKeyForm checks the length and prefix of a public key only.
func checkPubKeyForm(k []byte) error {
	switch {
	case len(k) == 33 && (k[0] == 2 || k[0] == 3), len(k) == 65 && k[0] == 4:
		return nil
	case len(k) != 33 && len(k) != 65:
		return fmt.Errorf("%w: public key must be 33 or 65 bytes, have %d", ErrInvalidKey, len(k))
	}
	return fmt.Errorf("%w: public key prefix %#02x", ErrInvalidKey, k[0])
}

// checkProprietary checks <compact size id length> <id> <compact size subtype> <key data>.
func checkProprietary(data []byte) error {
	r := &reader{b: data}
	if _, err := r.varBytes(); err != nil {
		return fmt.Errorf("%w: proprietary identifier: %w", ErrInvalidKey, err)
	}
	if _, err := r.compactSize(); err != nil {
		return fmt.Errorf("%w: proprietary subtype: %w", ErrInvalidKey, err)
	}
	return nil
}

func (in *Input) decode(pairs []kv, name string, prev OutPoint, opts ParseOptions) error {
	counts, others := countTypes(pairs, inNonWitnessUTXO, inWitnessUTXO, inPartialSig, inSighashType, inRedeemScript,
		inWitnessScript, inBip32Derivation, inFinalScriptSig, inFinalWitness)
	in.PartialSigs = slices.Grow(in.PartialSigs, counts[2])
	in.Bip32Derivation = slices.Grow(in.Bip32Derivation, counts[6])
	in.Unknowns = slices.Grow(in.Unknowns, others)
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if err := in.decodePair(t, data, pair, prev, opts); err != nil {
			return fieldErr(name, t, err)
		}
	}
	return nil
}

func (in *Input) decodePair(t uint64, data []byte, pair kv, prev OutPoint, opts ParseOptions) error {
	lax := opts.DerivationKeysAsBytes
	v := pair.value
	switch t {
	case inNonWitnessUTXO:
		if err := noKeyData(data); err != nil {
			return err
		}
		tx, err := parseTx(v, true)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		if tx.TxID() != prev.Hash {
			return fmt.Errorf("%w: non-witness utxo txid %s, input spends %s", ErrUTXOMismatch, tx.TxID(), prev)
		}
		if int(prev.Index) >= len(tx.Outputs) {
			return fmt.Errorf("%w: input spends %s, the non-witness utxo has %d outputs", ErrUTXOMismatch, prev, len(tx.Outputs))
		}
		in.NonWitnessUTXO = tx
	case inWitnessUTXO:
		if err := noKeyData(data); err != nil {
			return err
		}
		r := &reader{b: v}
		o, err := readTxOut(r)
		if err == nil && r.remaining() != 0 {
			err = ErrTrailingBytes
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		in.WitnessUTXO = o
	case inPartialSig:
		check := checkPubKey
		if opts.PartialSigKeysAsBytes {
			check = checkPubKeyForm
		}
		if err := check(data); err != nil {
			return err
		}
		in.PartialSigs = append(in.PartialSigs, PartialSig{PubKey: bytes.Clone(data), Sig: bytes.Clone(v)})
	case inSighashType:
		if err := noKeyData(data); err != nil {
			return err
		}
		if len(v) != 4 {
			return fmt.Errorf("%w: sighash type must be 4 bytes, have %d", ErrInvalidValue, len(v))
		}
		if ht := SigHashType(binary.LittleEndian.Uint32(v)); ht != 0 {
			in.SighashType = ht
		} else {
			// Explicit 0 (Taproot SIGHASH_DEFAULT) is kept verbatim.
			in.Unknowns = append(in.Unknowns, newUnknown(pair))
		}
	case inRedeemScript:
		if err := noKeyData(data); err != nil {
			return err
		}
		in.RedeemScript = bytes.Clone(v)
	case inWitnessScript:
		if err := noKeyData(data); err != nil {
			return err
		}
		in.WitnessScript = bytes.Clone(v)
	case inBip32Derivation:
		d, err := decodeDerivation(data, v, lax)
		if err != nil {
			return err
		}
		in.Bip32Derivation = append(in.Bip32Derivation, d)
	case inFinalScriptSig:
		if err := noKeyData(data); err != nil {
			return err
		}
		in.FinalScriptSig = bytes.Clone(v)
	case inFinalWitness:
		if err := noKeyData(data); err != nil {
			return err
		}
		r := &reader{b: v}
		w, err := readWitness(r)
		if err == nil && r.remaining() != 0 {
			err = ErrTrailingBytes
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		in.FinalScriptWitness = w
	case inTapKeySig, inTapScriptSig, inTapLeafScript, inTapBip32, inTapInternalKey, inTapMerkleRoot:
		return in.decodeTaproot(t, data, v, lax)
	default:
		if err := checkOtherInputPair(t, data, v); err != nil {
			return err
		}
		in.Unknowns = append(in.Unknowns, newUnknown(pair))
	}
	return nil
}

func decodeDerivation(data, v []byte, lax bool) (Bip32Derivation, error) {
	check := checkPubKey
	if lax {
		check = checkPubKeyForm
	}
	if err := check(data); err != nil {
		return Bip32Derivation{}, err
	}
	fp, path, err := decodeKeyOrigin(v)
	if err != nil {
		return Bip32Derivation{}, err
	}
	return Bip32Derivation{PubKey: bytes.Clone(data), Fingerprint: fp, Path: path}, nil
}

func hash160(b []byte) []byte {
	h := sha256.Sum256(b)
	r := ripemd160.New()
	r.Write(h[:])
	return r.Sum(nil)
}

// checkOtherInputPair checks the input types that are kept as Unknowns.
func checkOtherInputPair(t uint64, data, v []byte) error {
	switch t {
	case 0x0e, 0x0f, 0x10, 0x11, 0x12:
		return ErrExcludedField
	case inRipemd160, inSHA256, inHash160, inHash256:
		var h []byte
		switch t {
		case inRipemd160:
			r := ripemd160.New()
			r.Write(v)
			h = r.Sum(nil)
		case inSHA256:
			s := sha256.Sum256(v)
			h = s[:]
		case inHash160:
			h = hash160(v)
		case inHash256:
			s := doubleSHA256(v)
			h = s[:]
		}
		if len(data) != len(h) {
			return fmt.Errorf("%w: hash must be %d bytes, have %d", ErrInvalidKey, len(h), len(data))
		}
		if !bytes.Equal(data, h) {
			return fmt.Errorf("%w: preimage does not match the hash", ErrInvalidValue)
		}
	case proprietary:
		return checkProprietary(data)
	}
	return nil
}

func (out *Output) decode(pairs []kv, name string, lax bool) error {
	counts, others := countTypes(pairs, outRedeemScript, outWitnessScript, outBip32Derivation)
	out.Bip32Derivation = slices.Grow(out.Bip32Derivation, counts[2])
	out.Unknowns = slices.Grow(out.Unknowns, others)
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if err := out.decodePair(t, data, pair, lax); err != nil {
			return fieldErr(name, t, err)
		}
	}
	return nil
}

func (out *Output) decodePair(t uint64, data []byte, pair kv, lax bool) error {
	v := pair.value
	switch t {
	case outRedeemScript:
		if err := noKeyData(data); err != nil {
			return err
		}
		out.RedeemScript = bytes.Clone(v)
	case outWitnessScript:
		if err := noKeyData(data); err != nil {
			return err
		}
		out.WitnessScript = bytes.Clone(v)
	case outBip32Derivation:
		d, err := decodeDerivation(data, v, lax)
		if err != nil {
			return err
		}
		out.Bip32Derivation = append(out.Bip32Derivation, d)
	case outTapInternalKey, outTapTree, outTapBip32:
		return out.decodeTaproot(t, data, v, lax)
	default:
		if err := checkOtherOutputPair(t, data, v); err != nil {
			return err
		}
		out.Unknowns = append(out.Unknowns, newUnknown(pair))
	}
	return nil
}

func checkOtherOutputPair(t uint64, data, v []byte) error {
	switch t {
	case 0x03, 0x04:
		return ErrExcludedField
	case proprietary:
		return checkProprietary(data)
	}
	return nil
}

// checkTapTree checks that v is a non-empty list of (depth, leaf version,
// script) tuples in depth-first order forming a complete binary tree.
func checkTapTree(v []byte) error {
	r := &reader{b: v}
	var stack []int
	for r.remaining() > 0 {
		depth, _ := r.byte()
		ver, err := r.byte()
		if err != nil {
			return fmt.Errorf("%w: taproot tree: %w", ErrInvalidValue, err)
		}
		if _, err := r.varBytes(); err != nil {
			return fmt.Errorf("%w: taproot tree: %w", ErrInvalidValue, err)
		}
		if depth > 128 || ver&1 != 0 {
			return fmt.Errorf("%w: taproot tree: invalid depth %d or leaf version 0x%02x", ErrInvalidValue, depth, ver)
		}
		if len(stack) == 1 && stack[0] == 0 {
			return fmt.Errorf("%w: taproot tree: leaves after a complete tree", ErrInvalidValue)
		}
		stack = append(stack, int(depth))
		for len(stack) >= 2 && stack[len(stack)-1] == stack[len(stack)-2] && stack[len(stack)-1] > 0 {
			d := stack[len(stack)-1]
			stack = append(stack[:len(stack)-2], d-1)
		}
	}
	if len(stack) != 1 || stack[0] != 0 {
		return fmt.Errorf("%w: taproot tree is empty or incomplete", ErrInvalidValue)
	}
	return nil
}
