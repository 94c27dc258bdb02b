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
//	  3: { + uint => bstr },  ; input index => r || s, 32 bytes each, big
//	                          ; endian, s low; a 65th byte is the sighash
//	                          ; type when it is not SIGHASH_ALL
//	}
//
// An input takes 67 bytes (a partial PSBT about 150): ten take 714 bytes,
// one BBQr code of version MaxStillQRVersion. Taproot signatures have no
// place in it (they sign for a leaf and are Schnorr): a signer answers
// those with a PSBT.
type SigReply struct {
	TxID        [32]byte
	Fingerprint [4]byte
	Sigs        []ReplySig // in increasing input order, at least one
}

// ReplySig is one input's signature in a SigReply.
type ReplySig struct {
	Input   uint32
	RS      [64]byte // r || s, big endian, s in the lower half of the order
	SigHash byte     // the sighash type: SigHashAll unless the input asks for another
}

// SigHashAll is the sighash type a SigReply leaves out.
const SigHashAll = 0x01

// URTypeSigReply is the UR type a SigReply travels as; the body is the
// reply's CBOR itself.
const URTypeSigReply = "kinko-sigreply"

// sigReplyMagic is how every SigReply starts: a map of three pairs, key 1,
// a 32-byte string.
const sigReplyMagic = "\xa3\x01\x58\x20"

const sigReplyFormat = "signature reply"

// sigReplyEntryMin is the fewest bytes one input takes: a one-byte index
// and a 64-byte string with its two-byte head.
const sigReplyEntryMin = 67

// IsSigReply reports whether b looks like a SigReply (by its first bytes;
// DecodeSigReply checks the rest). No PSBT, text form or transaction
// kinko reads starts that way.
func IsSigReply(b []byte) bool { return bytes.HasPrefix(b, []byte(sigReplyMagic)) }

// Encode returns the reply's canonical CBOR. It fails on a reply
// DecodeSigReply would refuse.
func (r *SigReply) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 44+len(r.Sigs)*(sigReplyEntryMin+6))
	b = appendCBORHead(b, cborMap, 3)
	b = appendCBORHead(b, cborUint, 1)
	b = append(appendCBORHead(b, cborBytes, 32), r.TxID[:]...)
	b = appendCBORHead(b, cborUint, 2)
	b = append(appendCBORHead(b, cborBytes, 4), r.Fingerprint[:]...)
	b = appendCBORHead(b, cborUint, 3)
	b = appendCBORHead(b, cborMap, uint64(len(r.Sigs)))
	for _, s := range r.Sigs {
		b = appendCBORHead(b, cborUint, uint64(s.Input))
		if s.SigHash == SigHashAll {
			b = append(appendCBORHead(b, cborBytes, 64), s.RS[:]...)
		} else {
			b = append(append(appendCBORHead(b, cborBytes, 65), s.RS[:]...), s.SigHash)
		}
	}
	return b, nil
}

// check is what both Encode and DecodeSigReply demand of the values.
func (r *SigReply) check() error {
	if len(r.Sigs) == 0 {
		return formatErr(sigReplyFormat, "no signatures")
	}
	for k, s := range r.Sigs {
		if k > 0 && s.Input <= r.Sigs[k-1].Input {
			if s.Input == r.Sigs[k-1].Input {
				return formatErr(sigReplyFormat, fmt.Sprintf("input %d is signed twice", s.Input))
			}
			return formatErr(sigReplyFormat, fmt.Sprintf("input %d comes after input %d", s.Input, r.Sigs[k-1].Input))
		}
		if err := s.check(); err != nil {
			return err
		}
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
	if major != cborMap || n != 3 {
		return nil, bad("not a map of 3 fields (txid, fingerprint, signatures)")
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
	var key uint64
	if key, b, err = readCBORUint(b, math.MaxUint64); err != nil {
		return nil, bad("field 3 key: " + cborMsg(err))
	}
	if key != 3 {
		return nil, bad(fmt.Sprintf("field 3 has key %d, want 3 (signatures)", key))
	}
	if major, n, b, err = readCBORHead(b); err != nil {
		return nil, bad("signatures: " + cborMsg(err))
	}
	if major != cborMap {
		return nil, bad("signatures are not a map of input index to signature")
	}
	if n > uint64(len(b)/sigReplyEntryMin) {
		return nil, bad(fmt.Sprintf("%d signatures declared, the reply has room for %d", n, len(b)/sigReplyEntryMin))
	}
	r.Sigs = make([]ReplySig, n)
	for k := range r.Sigs {
		s := &r.Sigs[k]
		var idx uint64
		if idx, b, err = readCBORUint(b, math.MaxUint32); err != nil {
			return nil, bad(fmt.Sprintf("signature %d: input index: %s", k, cborMsg(err)))
		}
		s.Input = uint32(idx)
		var v []byte
		if v, b, err = readCBORBytes(b); err != nil {
			return nil, bad(fmt.Sprintf("input %d: signature: %s", idx, cborMsg(err)))
		}
		switch len(v) {
		case 64:
			s.SigHash = SigHashAll
		case 65:
			s.SigHash = v[64]
			if s.SigHash == SigHashAll {
				return nil, bad(fmt.Sprintf("input %d: sighash type ALL is written out (it is left out)", idx))
			}
		default:
			return nil, bad(fmt.Sprintf("input %d: signature of %d bytes, want 64 (r, s) or 65 (with a sighash type)", idx, len(v)))
		}
		copy(s.RS[:], v)
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
