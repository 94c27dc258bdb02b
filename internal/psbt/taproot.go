package psbt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

// The taproot fields of BIP-371.

// TaprootScriptSig is a PSBT_IN_TAP_SCRIPT_SIG: a BIP-340 signature (64
// bytes, or 65 with a sighash byte other than DEFAULT) by an x-only key
// for the leaf of the given leaf hash.
type TaprootScriptSig struct {
	XOnlyPubKey []byte // 32 bytes
	LeafHash    []byte // 32 bytes
	Signature   []byte
}

// TaprootLeafScript is a PSBT_IN_TAP_LEAF_SCRIPT: a leaf script with its
// leaf version and the control block that proves it in the output key.
type TaprootLeafScript struct {
	ControlBlock []byte // 33 + 32·k bytes, k ≤ 128
	Script       []byte
	LeafVersion  byte
}

// TaprootBip32Derivation is a PSBT_IN_TAP_BIP32_DERIVATION or
// PSBT_OUT_TAP_BIP32_DERIVATION: an x-only key, the hashes of the leaves
// it is in (none for an internal key), and its origin.
type TaprootBip32Derivation struct {
	XOnlyPubKey []byte // 32 bytes
	LeafHashes  [][]byte
	Fingerprint [4]byte
	Path        []uint32
}

// TaprootTapLeaf is one leaf of a PSBT_OUT_TAP_TREE, in depth-first order.
type TaprootTapLeaf struct {
	Depth       byte
	LeafVersion byte
	Script      []byte
}

// checkXOnly checks a 32-byte x-only key: its length, and (unless lax)
// that it is the x coordinate of a point.
func checkXOnly(k []byte, lax bool, what error) error {
	if len(k) != 32 {
		return fmt.Errorf("%w: x-only public key must be 32 bytes, have %d", what, len(k))
	}
	if !lax {
		if _, err := schnorr.ParsePubKey(k); err != nil {
			return fmt.Errorf("%w: x-only public key is not on the curve", what)
		}
	}
	return nil
}

// checkSchnorrSig checks a BIP-340 signature as a PSBT carries it: 64
// bytes (SIGHASH_DEFAULT), or 65 whose last byte is a sighash type other
// than 0 (BIP-341 makes a 65-byte signature with type 0 invalid).
func checkSchnorrSig(v []byte) error {
	switch {
	case len(v) == 64:
	case len(v) == 65 && v[64] != 0:
	case len(v) == 65:
		return fmt.Errorf("%w: 65-byte schnorr signature with sighash type 0 (write DEFAULT as 64 bytes)", ErrInvalidValue)
	default:
		return fmt.Errorf("%w: schnorr signature must be 64 or 65 bytes, have %d", ErrInvalidValue, len(v))
	}
	return nil
}

// checkControlBlock checks the form of a control block: its length, an
// even leaf version, and (unless lax) its internal key.
func checkControlBlock(cb []byte, lax bool) error {
	if len(cb) < 33 || (len(cb)-33)%32 != 0 || len(cb) > 33+128*32 {
		return fmt.Errorf("%w: invalid control block length %d", ErrInvalidKey, len(cb))
	}
	return checkXOnly(cb[1:33], lax, ErrInvalidKey)
}

func decodeTapBip32(data, v []byte, lax bool) (TaprootBip32Derivation, error) {
	if err := checkXOnly(data, lax, ErrInvalidKey); err != nil {
		return TaprootBip32Derivation{}, err
	}
	r := &reader{b: v}
	n, err := r.count(32)
	if err != nil {
		return TaprootBip32Derivation{}, fmt.Errorf("%w: leaf hashes: %w", ErrInvalidValue, err)
	}
	d := TaprootBip32Derivation{XOnlyPubKey: bytes.Clone(data)}
	if n > 0 {
		d.LeafHashes = make([][]byte, n)
	}
	for i := range d.LeafHashes {
		h, err := r.bytes(32)
		if err != nil {
			return TaprootBip32Derivation{}, fmt.Errorf("%w: leaf hashes: %w", ErrInvalidValue, err)
		}
		d.LeafHashes[i] = bytes.Clone(h)
	}
	if d.Fingerprint, d.Path, err = decodeKeyOrigin(v[r.off:]); err != nil {
		return TaprootBip32Derivation{}, err
	}
	return d, nil
}

func appendTapBip32(d TaprootBip32Derivation) []byte {
	b := appendCompactSize(nil, uint64(len(d.LeafHashes)))
	for _, h := range d.LeafHashes {
		b = append(b, h...)
	}
	return appendKeyOrigin(b, d.Fingerprint, d.Path)
}

// decodeTaproot decodes an input pair of a BIP-371 type (0x13 to 0x18).
func (in *Input) decodeTaproot(t uint64, data, v []byte, lax bool) error {
	switch t {
	case inTapKeySig:
		if err := noKeyData(data); err != nil {
			return err
		}
		if err := checkSchnorrSig(v); err != nil {
			return err
		}
		in.TaprootKeySpendSig = bytes.Clone(v)
	case inTapScriptSig:
		if len(data) != 64 {
			return fmt.Errorf("%w: want x-only key and leaf hash (64 bytes), have %d", ErrInvalidKey, len(data))
		}
		if err := checkXOnly(data[:32], lax, ErrInvalidKey); err != nil {
			return err
		}
		if err := checkSchnorrSig(v); err != nil {
			return err
		}
		in.TaprootScriptSpendSig = append(in.TaprootScriptSpendSig, TaprootScriptSig{
			XOnlyPubKey: bytes.Clone(data[:32]), LeafHash: bytes.Clone(data[32:]), Signature: bytes.Clone(v)})
	case inTapLeafScript:
		if err := checkControlBlock(data, lax); err != nil {
			return err
		}
		if len(v) < 1 {
			return fmt.Errorf("%w: missing leaf version", ErrInvalidValue)
		}
		ver := v[len(v)-1]
		if ver != data[0]&0xfe {
			return fmt.Errorf("%w: leaf version 0x%02x, the control block says 0x%02x", ErrInvalidValue, ver, data[0]&0xfe)
		}
		in.TaprootLeafScript = append(in.TaprootLeafScript, TaprootLeafScript{
			ControlBlock: bytes.Clone(data), Script: bytes.Clone(v[:len(v)-1]), LeafVersion: ver})
	case inTapBip32:
		d, err := decodeTapBip32(data, v, lax)
		if err != nil {
			return err
		}
		in.TaprootBip32Derivation = append(in.TaprootBip32Derivation, d)
	case inTapInternalKey:
		if err := noKeyData(data); err != nil {
			return err
		}
		if err := checkXOnly(v, lax, ErrInvalidValue); err != nil {
			return err
		}
		in.TaprootInternalKey = bytes.Clone(v)
	case inTapMerkleRoot:
		if err := noKeyData(data); err != nil {
			return err
		}
		if len(v) != 32 {
			return fmt.Errorf("%w: merkle root must be 32 bytes, have %d", ErrInvalidValue, len(v))
		}
		in.TaprootMerkleRoot = bytes.Clone(v)
	}
	return nil
}

// taprootPairs returns the BIP-371 pairs of the input.
func (in *Input) taprootPairs(add func(t byte, data, v []byte)) {
	if in.TaprootKeySpendSig != nil {
		add(inTapKeySig, nil, in.TaprootKeySpendSig)
	}
	for _, s := range in.TaprootScriptSpendSig {
		add(inTapScriptSig, append(bytes.Clone(s.XOnlyPubKey), s.LeafHash...), s.Signature)
	}
	for _, l := range in.TaprootLeafScript {
		add(inTapLeafScript, l.ControlBlock, append(bytes.Clone(l.Script), l.LeafVersion))
	}
	for _, d := range in.TaprootBip32Derivation {
		add(inTapBip32, d.XOnlyPubKey, appendTapBip32(d))
	}
	if in.TaprootInternalKey != nil {
		add(inTapInternalKey, nil, in.TaprootInternalKey)
	}
	if in.TaprootMerkleRoot != nil {
		add(inTapMerkleRoot, nil, in.TaprootMerkleRoot)
	}
}

// decodeTaproot decodes an output pair of a BIP-371 type (0x05 to 0x07).
func (out *Output) decodeTaproot(t uint64, data, v []byte, lax bool) error {
	switch t {
	case outTapInternalKey:
		if err := noKeyData(data); err != nil {
			return err
		}
		if err := checkXOnly(v, lax, ErrInvalidValue); err != nil {
			return err
		}
		out.TaprootInternalKey = bytes.Clone(v)
	case outTapTree:
		if err := noKeyData(data); err != nil {
			return err
		}
		if err := checkTapTree(v); err != nil {
			return err
		}
		r := &reader{b: v}
		for r.remaining() > 0 {
			depth, _ := r.byte()
			ver, _ := r.byte()
			s, _ := r.varBytes()
			out.TaprootTapTree = append(out.TaprootTapTree, TaprootTapLeaf{Depth: depth, LeafVersion: ver, Script: bytes.Clone(s)})
		}
	case outTapBip32:
		d, err := decodeTapBip32(data, v, lax)
		if err != nil {
			return err
		}
		out.TaprootBip32Derivation = append(out.TaprootBip32Derivation, d)
	}
	return nil
}

func (out *Output) taprootPairs(add func(t byte, data, v []byte)) {
	if out.TaprootInternalKey != nil {
		add(outTapInternalKey, nil, out.TaprootInternalKey)
	}
	if out.TaprootTapTree != nil {
		var b []byte
		for _, l := range out.TaprootTapTree {
			b = append(b, l.Depth, l.LeafVersion)
			b = appendVarBytes(b, l.Script)
		}
		if b == nil {
			b = []byte{}
		}
		add(outTapTree, nil, b)
	}
	for _, d := range out.TaprootBip32Derivation {
		add(outTapBip32, d.XOnlyPubKey, appendTapBip32(d))
	}
}

func copyTapBip32(ds []TaprootBip32Derivation) []TaprootBip32Derivation {
	if ds == nil {
		return nil
	}
	c := make([]TaprootBip32Derivation, len(ds))
	for i, d := range ds {
		c[i] = TaprootBip32Derivation{XOnlyPubKey: bytes.Clone(d.XOnlyPubKey), Fingerprint: d.Fingerprint, Path: slices.Clone(d.Path)}
		if d.LeafHashes != nil {
			c[i].LeafHashes = make([][]byte, len(d.LeafHashes))
			for j, h := range d.LeafHashes {
				c[i].LeafHashes[j] = bytes.Clone(h)
			}
		}
	}
	return c
}

// copyTaproot copies the BIP-371 fields of in into c.
func (in *Input) copyTaproot(c *Input) {
	c.TaprootKeySpendSig = bytes.Clone(in.TaprootKeySpendSig)
	c.TaprootInternalKey = bytes.Clone(in.TaprootInternalKey)
	c.TaprootMerkleRoot = bytes.Clone(in.TaprootMerkleRoot)
	c.TaprootBip32Derivation = copyTapBip32(in.TaprootBip32Derivation)
	if in.TaprootScriptSpendSig != nil {
		c.TaprootScriptSpendSig = make([]TaprootScriptSig, len(in.TaprootScriptSpendSig))
		for i, s := range in.TaprootScriptSpendSig {
			c.TaprootScriptSpendSig[i] = TaprootScriptSig{XOnlyPubKey: bytes.Clone(s.XOnlyPubKey), LeafHash: bytes.Clone(s.LeafHash), Signature: bytes.Clone(s.Signature)}
		}
	}
	if in.TaprootLeafScript != nil {
		c.TaprootLeafScript = make([]TaprootLeafScript, len(in.TaprootLeafScript))
		for i, l := range in.TaprootLeafScript {
			c.TaprootLeafScript[i] = TaprootLeafScript{ControlBlock: bytes.Clone(l.ControlBlock), Script: bytes.Clone(l.Script), LeafVersion: l.LeafVersion}
		}
	}
}

func (out *Output) copyTaproot(c *Output) {
	c.TaprootInternalKey = bytes.Clone(out.TaprootInternalKey)
	c.TaprootBip32Derivation = copyTapBip32(out.TaprootBip32Derivation)
	if out.TaprootTapTree != nil {
		c.TaprootTapTree = make([]TaprootTapLeaf, len(out.TaprootTapTree))
		for i, l := range out.TaprootTapTree {
			c.TaprootTapTree[i] = TaprootTapLeaf{Depth: l.Depth, LeafVersion: l.LeafVersion, Script: bytes.Clone(l.Script)}
		}
	}
}

// clearTaproot removes the BIP-371 signing data of a finalized input.
func (in *Input) clearTaproot() {
	in.TaprootKeySpendSig = nil
	in.TaprootScriptSpendSig = nil
	in.TaprootLeafScript = nil
	in.TaprootBip32Derivation = nil
	in.TaprootInternalKey = nil
	in.TaprootMerkleRoot = nil
}
