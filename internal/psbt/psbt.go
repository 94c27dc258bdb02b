package psbt

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
