package psbt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/btcsuite/btcd/btcec/v2"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // HASH160 is consensus.
)

// MaxSize is the largest serialised PSBT that Parse accepts (16 MiB).
const MaxSize = 16 << 20

// magic is the 5-byte PSBT header: "psbt" followed by 0xff.
var magic = []byte{0x70, 0x73, 0x62, 0x74, 0xff}

// Errors returned by Parse and Serialize. Parse and Serialize wrap them in a
// *FieldError when the problem lies at a key of one of the maps.
var (
	// ErrTooLarge means the input exceeds MaxSize.
	ErrTooLarge = errors.New("psbt exceeds the maximum size")
	// ErrBadMagic means the input does not start with the PSBT magic bytes.
	ErrBadMagic = errors.New("missing psbt magic bytes")
	// ErrDuplicateKey means a key occurs twice in one map.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrInvalidKey means a key's data does not have the form its type requires.
	ErrInvalidKey = errors.New("invalid key data")
	// ErrInvalidValue means a value does not have the form its type requires.
	ErrInvalidValue = errors.New("invalid value")
	// ErrMissingUnsignedTx means the global map has no unsigned transaction.
	ErrMissingUnsignedTx = errors.New("missing unsigned transaction")
	// ErrUnsignedTxNotEmpty means the unsigned transaction has a scriptSig or witness.
	ErrUnsignedTxNotEmpty = errors.New("unsigned transaction has a scriptSig or witness")
	// ErrMissingMap means the PSBT ends before it has one map per input and output.
	ErrMissingMap = errors.New("missing map")
	// ErrMapCount means the number of input or output maps differs from the transaction's.
	ErrMapCount = errors.New("number of maps does not match the transaction")
	// ErrUTXOMismatch means a non-witness UTXO is not the transaction the input spends,
	// or disagrees with the witness UTXO.
	ErrUTXOMismatch = errors.New("utxo does not match the input's previous output")
	// ErrUnsupportedVersion means the PSBT version is neither 0 nor 2.
	ErrUnsupportedVersion = errors.New("unsupported psbt version")
	// ErrExcludedField means a field that PSBT version 0 must not contain (a PSBTv2 field).
	ErrExcludedField = errors.New("field not allowed in psbt version 0")
	// ErrModeledKey means an Unknown has a key type that must be set through a struct field.
	ErrModeledKey = errors.New("unknown entry uses a key type that has a struct field")
	// ErrMissingUTXO means an input has neither a non-witness nor a witness UTXO.
	ErrMissingUTXO = errors.New("input has no utxo")
	// ErrTooManyPairs means a map, or the whole PSBT, holds more key-value
	// pairs than MaxMapPairs or MaxPairs.
	ErrTooManyPairs = errors.New("too many key-value pairs")
)

// Caps on key-value pairs, so that a PSBT within MaxSize made of millions
// of tiny pairs is refused before it costs much memory. A 2-of-20 input
// with every field set holds under 50 pairs; 950 such inputs under 50,000.
const (
	MaxMapPairs = 1000
	MaxPairs    = 1 << 17
)

// FieldError reports an error located in one of the PSBT's maps.
type FieldError struct {
	// Map is "global", "input N" or "output N".
	Map string
	// KeyType is the type of the offending key, valid if HasKey.
	KeyType uint64
	// HasKey reports whether the error concerns a particular key.
	HasKey bool
	// Err is the underlying error (often one of the sentinels of this package).
	Err error
}

// Error returns "psbt: <map>: key type 0x<type> (<name>): <error>".
func (e *FieldError) Error() string {
	if !e.HasKey {
		return "psbt: " + e.Map + ": " + e.Err.Error()
	}
	return fmt.Sprintf("psbt: %s: key type 0x%02x (%s): %v", e.Map, e.KeyType, typeName(e.Map, e.KeyType), e.Err)
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Key types of the maps (BIP-174, BIP-370, BIP-371).
const (
	globalUnsignedTx   = 0x00
	globalXPub         = 0x01
	globalVersion      = 0xfb
	globalProprietary  = 0xfc
	inNonWitnessUTXO   = 0x00
	inWitnessUTXO      = 0x01
	inPartialSig       = 0x02
	inSighashType      = 0x03
	inRedeemScript     = 0x04
	inWitnessScript    = 0x05
	inBip32Derivation  = 0x06
	inFinalScriptSig   = 0x07
	inFinalWitness     = 0x08
	inRipemd160        = 0x0a
	inSHA256           = 0x0b
	inHash160          = 0x0c
	inHash256          = 0x0d
	inTapKeySig        = 0x13
	inTapScriptSig     = 0x14
	inTapLeafScript    = 0x15
	inTapBip32         = 0x16
	inTapInternalKey   = 0x17
	inTapMerkleRoot    = 0x18
	outRedeemScript    = 0x00
	outWitnessScript   = 0x01
	outBip32Derivation = 0x02
	outTapInternalKey  = 0x05
	outTapTree         = 0x06
	outTapBip32        = 0x07
	proprietary        = 0xfc
)

var (
	globalNames = map[uint64]string{0x00: "unsigned tx", 0x01: "xpub", 0x02: "tx version", 0x03: "fallback locktime",
		0x04: "input count", 0x05: "output count", 0x06: "tx modifiable", 0xfb: "version", 0xfc: "proprietary"}
	inputNames = map[uint64]string{0x00: "non-witness utxo", 0x01: "witness utxo", 0x02: "partial signature",
		0x03: "sighash type", 0x04: "redeem script", 0x05: "witness script", 0x06: "bip32 derivation",
		0x07: "final scriptSig", 0x08: "final scriptWitness", 0x09: "por commitment", 0x0a: "ripemd160 preimage",
		0x0b: "sha256 preimage", 0x0c: "hash160 preimage", 0x0d: "hash256 preimage", 0x0e: "previous txid",
		0x0f: "output index", 0x10: "sequence", 0x11: "required time locktime", 0x12: "required height locktime",
		0x13: "taproot key signature", 0x14: "taproot script signature", 0x15: "taproot leaf script",
		0x16: "taproot bip32 derivation", 0x17: "taproot internal key", 0x18: "taproot merkle root",
		0xfc: "proprietary"}
	outputNames = map[uint64]string{0x00: "redeem script", 0x01: "witness script", 0x02: "bip32 derivation",
		0x03: "amount", 0x04: "script", 0x05: "taproot internal key", 0x06: "taproot tree",
		0x07: "taproot bip32 derivation", 0xfc: "proprietary"}
)

func typeName(mapName string, t uint64) string {
	var names map[uint64]string
	switch {
	case mapName == "global":
		names = globalNames
	case len(mapName) > 6 && mapName[:6] == "input ":
		names = inputNames
	case len(mapName) > 7 && mapName[:7] == "output ":
		names = outputNames
	}
	if n, ok := names[t]; ok {
		return n
	}
	return "unknown"
}

func inputMap(i int) string  { return "input " + strconv.Itoa(i) }
func outputMap(i int) string { return "output " + strconv.Itoa(i) }

// Bip32Derivation is a BIP-32 key origin: the public key (33 or 65 bytes),
// the master key fingerprint and the derivation path.
type Bip32Derivation struct {
	PubKey      []byte
	Fingerprint [4]byte
	Path        []uint32
}

// PartialSig is a partial signature: the public key (33 or 65 bytes) and
// the signature as pushed on the stack (DER followed by the sighash byte).
type PartialSig struct {
	PubKey []byte
	Sig    []byte
}

// XPub is a global extended public key (PSBT_GLOBAL_XPUB).
type XPub struct {
	// ExtendedKey is the 78-byte BIP-32 serialisation.
	ExtendedKey []byte
	Fingerprint [4]byte
	// Path has as many elements as the depth byte of ExtendedKey.
	Path []uint32
}

// Unknown is a key-value pair that has no struct field. Key is the full key:
// the compact-size key type followed by the key data.
type Unknown struct {
	Key, Value []byte
}

// Input is a PSBT input map.
type Input struct {
	NonWitnessUTXO *Tx
	WitnessUTXO    *TxOut
	PartialSigs    []PartialSig
	// SighashType is the PSBT_IN_SIGHASH_TYPE; 0 means absent. (An explicit
	// sighash type 0 is kept as an Unknown so that it round-trips.)
	SighashType        SigHashType
	RedeemScript       []byte
	WitnessScript      []byte
	Bip32Derivation    []Bip32Derivation
	FinalScriptSig     []byte
	FinalScriptWitness [][]byte

	// The taproot fields of BIP-371 (see taproot.go).
	TaprootKeySpendSig     []byte
	TaprootScriptSpendSig  []TaprootScriptSig
	TaprootLeafScript      []TaprootLeafScript
	TaprootBip32Derivation []TaprootBip32Derivation
	TaprootInternalKey     []byte // 32 bytes
	TaprootMerkleRoot      []byte // 32 bytes

	Unknowns []Unknown
}

// Output is a PSBT output map.
type Output struct {
	RedeemScript    []byte
	WitnessScript   []byte
	Bip32Derivation []Bip32Derivation

	// The taproot fields of BIP-371 (see taproot.go).
	TaprootInternalKey     []byte // 32 bytes
	TaprootTapTree         []TaprootTapLeaf
	TaprootBip32Derivation []TaprootBip32Derivation

	Unknowns []Unknown
}

// Packet is a version 0 PSBT.
type Packet struct {
	// UnsignedTx is the transaction being signed; its scriptSigs and
	// witnesses are empty.
	UnsignedTx *Tx
	XPubs      []XPub
	// Version is the PSBT version, 0 (BIP-174) or 2 (BIP-370): Parse
	// reads both, and Serialize writes the one Version names, so that
	// setting it converts (see v2.go for what each keeps). An explicit
	// PSBT_GLOBAL_VERSION record of 0 is kept in Unknowns.
	Version  uint32
	Unknowns []Unknown
	// Inputs and Outputs have one entry per input and output of UnsignedTx.
	Inputs  []Input
	Outputs []Output

	v2 *v2Fields // what a version 2 PSBT holds beyond version 0's fields
}

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
		if err := p.Inputs[i].decode(pairs, name, tx.Inputs[i].PrevOut, opts.DerivationKeysAsBytes); err != nil {
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

func appendKeyOrigin(b []byte, fp [4]byte, path []uint32) []byte {
	b = append(b, fp[:]...)
	for _, e := range path {
		b = binary.LittleEndian.AppendUint32(b, e)
	}
	return b
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

func (in *Input) decode(pairs []kv, name string, prev OutPoint, lax bool) error {
	counts, others := countTypes(pairs, inNonWitnessUTXO, inWitnessUTXO, inPartialSig, inSighashType, inRedeemScript,
		inWitnessScript, inBip32Derivation, inFinalScriptSig, inFinalWitness)
	in.PartialSigs = slices.Grow(in.PartialSigs, counts[2])
	in.Bip32Derivation = slices.Grow(in.Bip32Derivation, counts[6])
	in.Unknowns = slices.Grow(in.Unknowns, others)
	for _, pair := range pairs {
		t, data, _ := keyType(pair.key)
		if err := in.decodePair(t, data, pair, prev, lax); err != nil {
			return fieldErr(name, t, err)
		}
	}
	return nil
}

func (in *Input) decodePair(t uint64, data []byte, pair kv, prev OutPoint, lax bool) error {
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
		if err := checkPubKey(data); err != nil {
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
	for i := 1; i < len(pairs); i++ {
		if bytes.Equal(pairs[i-1].key, pairs[i].key) {
			t, _, _ := keyType(pairs[i].key)
			return fieldErr(name, t, fmt.Errorf("%w %x", ErrDuplicateKey, pairs[i].key))
		}
	}
	return nil
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
func (p *Packet) validate(global []kv, inputs, outputs [][]kv) (*Packet, error) {
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
		if err := q.Inputs[i].decode(pairs, name, tx.Inputs[i].PrevOut, false); err != nil {
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
				err := s.decodePair(t, data, pair, prev, false)
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
		if err := q.Outputs[i].decode(pairs, name, false); err != nil {
			return nil, err
		}
		if i < len(p.Outputs) {
			if err := checkUnknowns(p.Outputs[i].Unknowns, name, func(pair kv) (bool, error) {
				var s Output
				t, data, _ := keyType(pair.key)
				err := s.decodePair(t, data, pair, false)
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
func (p *Packet) Serialize() ([]byte, error) {
	global, inputs, outputs, err := p.maps()
	if err != nil {
		return nil, err
	}
	if _, err := p.validate(global, inputs, outputs); err != nil {
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

// New returns a packet with empty maps for tx, which must have no
// scriptSigs or witnesses. The packet holds a copy of tx.
func New(tx *Tx) (*Packet, error) {
	if tx == nil {
		return nil, fmt.Errorf("psbt: new: %w", ErrMissingUnsignedTx)
	}
	if err := tx.check(); err != nil {
		return nil, fmt.Errorf("psbt: new: %w", err)
	}
	if err := checkUnsigned(tx); err != nil {
		return nil, fmt.Errorf("psbt: new: %w", err)
	}
	return &Packet{
		UnsignedTx: tx.Copy(),
		Inputs:     make([]Input, len(tx.Inputs)),
		Outputs:    make([]Output, len(tx.Outputs)),
	}, nil
}

// Copy returns a deep copy of the packet.
func (p *Packet) Copy() *Packet {
	if p == nil {
		return nil
	}
	c := &Packet{
		UnsignedTx: p.UnsignedTx.Copy(),
		Version:    p.Version,
		Unknowns:   copyUnknowns(p.Unknowns),
		v2:         p.v2.copy(),
	}
	if p.XPubs != nil {
		c.XPubs = make([]XPub, len(p.XPubs))
		for i, x := range p.XPubs {
			c.XPubs[i] = XPub{ExtendedKey: bytes.Clone(x.ExtendedKey), Fingerprint: x.Fingerprint, Path: slices.Clone(x.Path)}
		}
	}
	if p.Inputs != nil {
		c.Inputs = make([]Input, len(p.Inputs))
		for i := range p.Inputs {
			c.Inputs[i] = p.Inputs[i].copy()
		}
	}
	if p.Outputs != nil {
		c.Outputs = make([]Output, len(p.Outputs))
		for i, o := range p.Outputs {
			c.Outputs[i] = Output{
				RedeemScript:    bytes.Clone(o.RedeemScript),
				WitnessScript:   bytes.Clone(o.WitnessScript),
				Bip32Derivation: copyDerivations(o.Bip32Derivation),
				Unknowns:        copyUnknowns(o.Unknowns),
			}
			o.copyTaproot(&c.Outputs[i])
		}
	}
	return c
}

func (in *Input) copy() Input {
	c := Input{
		NonWitnessUTXO:     in.NonWitnessUTXO.Copy(),
		WitnessUTXO:        in.WitnessUTXO.copy(),
		SighashType:        in.SighashType,
		RedeemScript:       bytes.Clone(in.RedeemScript),
		WitnessScript:      bytes.Clone(in.WitnessScript),
		Bip32Derivation:    copyDerivations(in.Bip32Derivation),
		FinalScriptSig:     bytes.Clone(in.FinalScriptSig),
		FinalScriptWitness: cloneStack(in.FinalScriptWitness),
		Unknowns:           copyUnknowns(in.Unknowns),
	}
	in.copyTaproot(&c)
	if in.PartialSigs != nil {
		c.PartialSigs = make([]PartialSig, len(in.PartialSigs))
		for i, s := range in.PartialSigs {
			c.PartialSigs[i] = PartialSig{PubKey: bytes.Clone(s.PubKey), Sig: bytes.Clone(s.Sig)}
		}
	}
	return c
}

func copyDerivations(ds []Bip32Derivation) []Bip32Derivation {
	if ds == nil {
		return nil
	}
	c := make([]Bip32Derivation, len(ds))
	for i, d := range ds {
		c[i] = Bip32Derivation{PubKey: bytes.Clone(d.PubKey), Fingerprint: d.Fingerprint, Path: slices.Clone(d.Path)}
	}
	return c
}

func copyUnknowns(us []Unknown) []Unknown {
	if us == nil {
		return nil
	}
	c := make([]Unknown, len(us))
	for i, u := range us {
		c[i] = Unknown{Key: bytes.Clone(u.Key), Value: bytes.Clone(u.Value)}
	}
	return c
}

// IsFinalized reports whether the input has a final scriptSig or a final
// scriptWitness.
func (in *Input) IsFinalized() bool {
	return in.FinalScriptSig != nil || in.FinalScriptWitness != nil
}

// MaxMoney is the largest valid amount in satoshis (21 million BTC).
const MaxMoney = 21_000_000 * 100_000_000

// ErrInvalidAmount means an amount is negative or above MaxMoney, or the
// outputs spend more than the inputs.
var ErrInvalidAmount = errors.New("invalid amount")

// InputUTXO returns a copy of the output spent by input i. It is taken from
// the non-witness UTXO if present (whose txid must equal the input's
// previous txid, and whose output must equal the witness UTXO if that is
// also present; ErrUTXOMismatch otherwise), else from the witness UTXO;
// ErrMissingUTXO if there is neither.
func (p *Packet) InputUTXO(i int) (*TxOut, error) {
	if p.UnsignedTx == nil {
		return nil, fmt.Errorf("psbt: %w", ErrMissingUnsignedTx)
	}
	if i < 0 || i >= len(p.Inputs) || i >= len(p.UnsignedTx.Inputs) {
		return nil, fmt.Errorf("psbt: %w: %d", ErrInputIndex, i)
	}
	in := &p.Inputs[i]
	name := inputMap(i)
	prev := p.UnsignedTx.Inputs[i].PrevOut
	if prevTx := in.NonWitnessUTXO; prevTx != nil {
		if err := prevTx.check(); err != nil {
			return nil, fieldErr(name, inNonWitnessUTXO, err)
		}
		if id := prevTx.TxID(); id != prev.Hash {
			return nil, fieldErr(name, inNonWitnessUTXO, fmt.Errorf("%w: non-witness utxo txid %s, input spends %s", ErrUTXOMismatch, id, prev))
		}
		if int(prev.Index) >= len(prevTx.Outputs) {
			return nil, fieldErr(name, inNonWitnessUTXO, fmt.Errorf("%w: input spends %s, the non-witness utxo has %d outputs", ErrUTXOMismatch, prev, len(prevTx.Outputs)))
		}
		o := prevTx.Outputs[prev.Index]
		if w := in.WitnessUTXO; w != nil && (w.Value != o.Value || !bytes.Equal(w.PkScript, o.PkScript)) {
			return nil, fieldErr(name, inWitnessUTXO, fmt.Errorf("%w: witness utxo differs from the non-witness utxo's output", ErrUTXOMismatch))
		}
		return o.copy(), nil
	}
	if in.WitnessUTXO != nil {
		return in.WitnessUTXO.copy(), nil
	}
	return nil, &FieldError{Map: name, Err: ErrMissingUTXO}
}

// Fee returns the transaction fee: the sum of the spent outputs (from
// InputUTXO) less the sum of the outputs. Every amount must lie in
// [0, MaxMoney], as must both sums and the fee (ErrInvalidAmount).
func (p *Packet) Fee() (int64, error) {
	if p.UnsignedTx == nil {
		return 0, fmt.Errorf("psbt: fee: %w", ErrMissingUnsignedTx)
	}
	if len(p.Inputs) != len(p.UnsignedTx.Inputs) {
		return 0, fmt.Errorf("psbt: fee: %w", ErrMapCount)
	}
	var in, out int64
	for i := range p.Inputs {
		o, err := p.InputUTXO(i)
		if err != nil {
			return 0, fmt.Errorf("psbt: fee: %w", err)
		}
		if o.Value < 0 || o.Value > MaxMoney {
			return 0, fmt.Errorf("psbt: fee: input %d: %w: %d", i, ErrInvalidAmount, o.Value)
		}
		in += o.Value
		if in > MaxMoney {
			return 0, fmt.Errorf("psbt: fee: %w: inputs total more than 21 million BTC", ErrInvalidAmount)
		}
	}
	for i, o := range p.UnsignedTx.Outputs {
		if o == nil {
			return 0, fmt.Errorf("psbt: fee: output %d is nil", i)
		}
		if o.Value < 0 || o.Value > MaxMoney {
			return 0, fmt.Errorf("psbt: fee: output %d: %w: %d", i, ErrInvalidAmount, o.Value)
		}
		out += o.Value
		if out > MaxMoney {
			return 0, fmt.Errorf("psbt: fee: %w: outputs total more than 21 million BTC", ErrInvalidAmount)
		}
	}
	if out > in {
		return 0, fmt.Errorf("psbt: fee: %w: outputs (%d) exceed inputs (%d)", ErrInvalidAmount, out, in)
	}
	return in - out, nil
}
