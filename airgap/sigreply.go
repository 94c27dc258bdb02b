package airgap

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// SigReply is kinko's compact signing reply: what kinko-signer sends back
// to kinko instead of a partial PSBT when every input it signed is ECDSA
// (P2WSH, P2SH-P2WSH, P2SH multisig, single key). It carries only what
// the coordinator cannot work out from its own session: the transaction
// it signs, who signed, and the signatures. The coordinator finds each
// signature's key among the session PSBT's derivations with the
// fingerprint, and verifies it as any partial signature.
//
// It is kinko's own format, between kinko-signer and kinko only, in
// deterministic CBOR (RFC 8949 section 4.2.1: definite lengths, shortest
// heads, map keys in increasing order):
//
//	{
//	  1: bstr .size 32,       ; the unsigned transaction's id, in hashing
//	                          ; order (the reverse of how txids are shown)
//	  2: bstr .size 4,        ; the signer's master key fingerprint
//	  ? 3: { + uint => bstr }, ; ECDSA: input index => r || s, 32 bytes
//	                          ; each, big endian, s low; a 65th byte is
//	                          ; the sighash type when it is not ALL
//	  ? 4: { + uint => bstr }, ; BIP-340 Schnorr, for a taproot input's one
//	                          ; script leaf holding the signer's key:
//	                          ; input index => the 64-byte signature, a
//	                          ; 65th byte the sighash type when it is not
//	                          ; DEFAULT
//	}
//
// with 3, 4 or both present, and never empty. The coordinator works out
// which key and leaf each signature is for from its own session (the
// fingerprint's derivations) and verifies it there.
//
// An input takes 67 bytes (a partial PSBT about 150): ten take 714 bytes,
// one BBQr code of version MaxStillQRVersion. A taproot input whose
// signer's key is in several leaves (several signatures) or that is
// signed by its key path has no place in it: a signer answers those with
// a PSBT.
type SigReply struct {
	TxID        [32]byte
	Fingerprint [4]byte
	Sigs        []ReplySig // ECDSA, in increasing input order
	TapSigs     []ReplySig // Schnorr, in increasing input order; Sigs and TapSigs hold one at least
}

// ReplySig is one input's signature in a SigReply.
type ReplySig struct {
	Input uint32
	// RS is r || s, big endian: for ECDSA s in the lower half of the
	// order; for Schnorr the BIP-340 signature.
	RS [64]byte
	// SigHash is the sighash type: for ECDSA SigHashAll unless the input
	// asks for another, for Schnorr 0 (DEFAULT) unless it does.
	SigHash byte
}

// SigHashAll is the sighash type a SigReply leaves out.
const SigHashAll = 0x01

// URTypeSigReply is the UR type a SigReply travels as; the body is the
// reply's CBOR itself.
const URTypeSigReply = "kinko-sigreply"

// sigReplyMagic is how every SigReply starts, after its first byte (a
// map of three or four pairs): key 1, a 32-byte string.
const sigReplyMagic = "\x01\x58\x20"

const sigReplyFormat = "signature reply"

// sigReplyEntryMin is the fewest bytes one input takes: a one-byte index
// and a 64-byte string with its two-byte head.
const sigReplyEntryMin = 67

// IsSigReply reports whether b looks like a SigReply (by its first bytes;
// DecodeSigReply checks the rest). No PSBT, text form or transaction
// kinko reads starts that way.
func IsSigReply(b []byte) bool {
	return len(b) > 0 && (b[0] == 0xa3 || b[0] == 0xa4) && bytes.HasPrefix(b[1:], []byte(sigReplyMagic))
}

// Encode returns the reply's canonical CBOR. It fails on a reply
// DecodeSigReply would refuse.
func (r *SigReply) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return r.encodeUnchecked()
}

// encodeUnchecked is Encode without the checks: what a test needs to
// write a reply the decoder must refuse.
func (r *SigReply) encodeUnchecked() ([]byte, error) {
	b := make([]byte, 0, 44+(len(r.Sigs)+len(r.TapSigs))*(sigReplyEntryMin+6))
	pairs := uint64(2)
	for _, sigs := range [][]ReplySig{r.Sigs, r.TapSigs} {
		if len(sigs) > 0 {
			pairs++
		}
	}
	b = appendCBORHead(b, cborMap, pairs)
	b = appendCBORHead(b, cborUint, 1)
	b = append(appendCBORHead(b, cborBytes, 32), r.TxID[:]...)
	b = appendCBORHead(b, cborUint, 2)
	b = append(appendCBORHead(b, cborBytes, 4), r.Fingerprint[:]...)
	for k, sigs := range [][]ReplySig{r.Sigs, r.TapSigs} {
		if len(sigs) == 0 {
			continue
		}
		omitted := byte(SigHashAll) // the sighash type left out
		if k == 1 {
			omitted = sigHashDefault
		}
		b = appendCBORHead(b, cborUint, uint64(3+k))
		b = appendCBORHead(b, cborMap, uint64(len(sigs)))
		for _, s := range sigs {
			b = appendCBORHead(b, cborUint, uint64(s.Input))
			if s.SigHash == omitted {
				b = append(appendCBORHead(b, cborBytes, 64), s.RS[:]...)
			} else {
				b = append(append(appendCBORHead(b, cborBytes, 65), s.RS[:]...), s.SigHash)
			}
		}
	}
	return b, nil
}

// sigHashDefault is BIP-341's SIGHASH_DEFAULT, which a Schnorr signature
// of 64 bytes implies.
const sigHashDefault = 0x00

// check is what both Encode and DecodeSigReply demand of the values.
func (r *SigReply) check() error {
	if len(r.Sigs) == 0 && len(r.TapSigs) == 0 {
		return formatErr(sigReplyFormat, "no signatures")
	}
	for n, sigs := range [][]ReplySig{r.Sigs, r.TapSigs} {
		for k, s := range sigs {
			if k > 0 && s.Input <= sigs[k-1].Input {
				if s.Input == sigs[k-1].Input {
					return formatErr(sigReplyFormat, fmt.Sprintf("input %d is signed twice", s.Input))
				}
				return formatErr(sigReplyFormat, fmt.Sprintf("input %d comes after input %d", s.Input, sigs[k-1].Input))
			}
			check := s.check
			if n == 1 {
				check = s.checkSchnorr
			}
			if err := check(); err != nil {
				return err
			}
		}
	}
	// Both lists are in increasing order: walk them together.
	for i, j := 0, 0; i < len(r.Sigs) && j < len(r.TapSigs); {
		switch a, b := r.Sigs[i].Input, r.TapSigs[j].Input; {
		case a == b:
			return formatErr(sigReplyFormat, fmt.Sprintf("input %d is signed both as ECDSA and as Schnorr", a))
		case a < b:
			i++
		default:
			j++
		}
	}
	return nil
}

// checkSchnorr checks a taproot signature's form: r a field element, s
// below the curve order, an explicit sighash type one of BIP-341's.
func (s *ReplySig) checkSchnorr() error {
	bad := func(msg string) error {
		return formatErr(sigReplyFormat, fmt.Sprintf("input %d: %s", s.Input, msg))
	}
	switch s.SigHash {
	case sigHashDefault, SigHashAll, 0x02, 0x03, 0x81, 0x82, 0x83:
	default:
		return bad(fmt.Sprintf("taproot sighash type %#02x is not one of DEFAULT, ALL, NONE, SINGLE, with or without ANYONECANPAY", s.SigHash))
	}
	var r btcec.FieldVal
	if r.SetByteSlice(s.RS[:32]) {
		return bad("schnorr signature r is not below the field size")
	}
	var sc btcec.ModNScalar
	if sc.SetByteSlice(s.RS[32:]) {
		return bad("schnorr signature s is not below the curve order")
	}
	return nil
}

func (s *ReplySig) check() error {
	bad := func(msg string) error {
		return formatErr(sigReplyFormat, fmt.Sprintf("input %d: %s", s.Input, msg))
	}
	switch s.SigHash {
	case SigHashAll, 0x02, 0x03, 0x81, 0x82, 0x83:
	default:
		return bad(fmt.Sprintf("sighash type %#02x is not one of ALL, NONE, SINGLE, with or without ANYONECANPAY", s.SigHash))
	}
	var r, sc btcec.ModNScalar
	if r.SetByteSlice(s.RS[:32]) || r.IsZero() {
		return bad("signature r is zero or not below the curve order")
	}
	if sc.SetByteSlice(s.RS[32:]) || sc.IsZero() {
		return bad("signature s is zero or not below the curve order")
	}
	if sc.IsOverHalfOrder() {
		return bad("signature s is high (a signer makes low-S signatures)")
	}
	return nil
}

// DecodeSigReply parses a SigReply strictly: only the canonical encoding
// Encode writes is accepted, so one reply has exactly one form. Every
// error is a *FormatError naming what is wrong.
func DecodeSigReply(b []byte) (*SigReply, error) {
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("signature reply of %d bytes: %w", len(b), ErrTooLarge)
	}
	bad := func(msg string) error { return formatErr(sigReplyFormat, msg) }
	in := b
	major, n, b, err := readCBORHead(b)
	if err != nil {
		return nil, bad("header: " + cborMsg(err))
	}
	if major != cborMap || (n != 3 && n != 4) {
		return nil, bad("not a map of 3 or 4 fields (txid, fingerprint, signatures)")
	}
	r := &SigReply{}
	fields := []struct {
		name string
		dst  []byte
	}{{"txid", r.TxID[:]}, {"fingerprint", r.Fingerprint[:]}}
	for k, f := range fields {
		var key uint64
		if key, b, err = readCBORUint(b, math.MaxUint64); err != nil {
			return nil, bad(fmt.Sprintf("field %d key: %s", k+1, cborMsg(err)))
		}
		if key != uint64(k+1) {
			return nil, bad(fmt.Sprintf("field %d has key %d, want %d (%s)", k+1, key, k+1, f.name))
		}
		var v []byte
		if v, b, err = readCBORBytes(b); err != nil {
			return nil, bad(f.name + ": " + cborMsg(err))
		}
		if len(v) != len(f.dst) {
			return nil, bad(fmt.Sprintf("%s of %d bytes, want %d", f.name, len(v), len(f.dst)))
		}
		copy(f.dst, v)
	}
	last := uint64(2)
	for range n - 2 {
		var key uint64
		if key, b, err = readCBORUint(b, math.MaxUint64); err != nil {
			return nil, bad("signatures key: " + cborMsg(err))
		}
		if key != 3 && key != 4 || key <= last {
			return nil, bad(fmt.Sprintf("field key %d after %d, want 3 (ECDSA signatures) then 4 (Schnorr signatures)", key, last))
		}
		last = key
		sigs, rest, err := readReplySigs(b, key == 4)
		if err != nil {
			return nil, err
		}
		b = rest
		if key == 3 {
			r.Sigs = sigs
		} else {
			r.TapSigs = sigs
		}
	}
	if len(b) > 0 {
		return nil, bad(fmt.Sprintf("%d bytes after the reply", len(b)))
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	// The checks above take every field as it comes; what is left is the
	// form of the heads (a length or index not in its shortest form).
	if enc, err := r.Encode(); err != nil || !bytes.Equal(enc, in) {
		return nil, bad("not in canonical form (a length or index not written in its shortest form)")
	}
	return r, nil
}

// readReplySigs reads one map of input index => signature, ECDSA or
// (schnorr) BIP-340, and returns the rest of b. Values are checked by
// SigReply.check; what is read here is their form.
func readReplySigs(b []byte, schnorr bool) ([]ReplySig, []byte, error) {
	bad := func(msg string) error { return formatErr(sigReplyFormat, msg) }
	kind, omitted, name := "signatures", byte(SigHashAll), "ALL"
	if schnorr {
		kind, omitted, name = "schnorr signatures", sigHashDefault, "DEFAULT"
	}
	major, n, b, err := readCBORHead(b)
	if err != nil {
		return nil, nil, bad(kind + ": " + cborMsg(err))
	}
	if major != cborMap {
		return nil, nil, bad(kind + " are not a map of input index to signature")
	}
	if n == 0 {
		return nil, nil, bad(kind + ": an empty map (it is left out instead)")
	}
	if n > uint64(len(b)/sigReplyEntryMin) {
		return nil, nil, bad(fmt.Sprintf("%d %s declared, the reply has room for %d", n, kind, len(b)/sigReplyEntryMin))
	}
	sigs := make([]ReplySig, n)
	for k := range sigs {
		s := &sigs[k]
		var idx uint64
		if idx, b, err = readCBORUint(b, math.MaxUint32); err != nil {
			return nil, nil, bad(fmt.Sprintf("signature %d: input index: %s", k, cborMsg(err)))
		}
		s.Input = uint32(idx)
		var v []byte
		if v, b, err = readCBORBytes(b); err != nil {
			return nil, nil, bad(fmt.Sprintf("input %d: signature: %s", idx, cborMsg(err)))
		}
		switch len(v) {
		case 64:
			s.SigHash = omitted
		case 65:
			s.SigHash = v[64]
			if s.SigHash == omitted {
				return nil, nil, bad(fmt.Sprintf("input %d: sighash type %s is written out (it is left out)", idx, name))
			}
		default:
			return nil, nil, bad(fmt.Sprintf("input %d: signature of %d bytes, want 64 or 65 (with a sighash type)", idx, len(v)))
		}
		copy(s.RS[:], v)
	}
	return sigs, b, nil
}

// cborMsg is a CBOR helper's error message without its prefix.
func cborMsg(err error) string {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}

// NewReplySig takes input's signature as a partial PSBT holds it (DER
// and the sighash type byte) into a ReplySig.
func NewReplySig(input uint32, sig []byte) (ReplySig, error) {
	if len(sig) < 9 {
		return ReplySig{}, fmt.Errorf("input %d: signature of %d bytes is too short", input, len(sig))
	}
	der, ht := sig[:len(sig)-1], sig[len(sig)-1]
	parsed, err := ecdsa.ParseDERSignature(der)
	if err != nil {
		return ReplySig{}, fmt.Errorf("input %d: %w", input, err)
	}
	s := ReplySig{Input: input, SigHash: ht}
	rv, sv := parsed.R(), parsed.S()
	rv.PutBytesUnchecked(s.RS[:32])
	sv.PutBytesUnchecked(s.RS[32:])
	if err := s.check(); err != nil {
		return ReplySig{}, err
	}
	return s, nil
}

// PartialSig returns the signature as a partial PSBT holds it: DER, then
// the sighash type byte.
func (s *ReplySig) PartialSig() []byte {
	var r, sc btcec.ModNScalar
	r.SetByteSlice(s.RS[:32])
	sc.SetByteSlice(s.RS[32:])
	return append(ecdsa.NewSignature(&r, &sc).Serialize(), s.SigHash)
}
