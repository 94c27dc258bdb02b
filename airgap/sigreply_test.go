package airgap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

// testSigReply signs n messages with a fixed key and returns the reply
// holding the signatures for inputs 0, 2, 4, ...; the last one asks for
// SIGHASH_SINGLE|ANYONECANPAY when n > 1.
func testSigReply(t testing.TB, n int) *SigReply {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	r := &SigReply{Fingerprint: [4]byte{0xd3, 0x4d, 0xb3, 0x3f}}
	for i := range r.TxID {
		r.TxID[i] = byte(i)
	}
	for k := range n {
		ht := byte(SigHashAll)
		if n > 1 && k == n-1 {
			ht = 0x83
		}
		der := ecdsa.Sign(priv, bytes.Repeat([]byte{byte(k + 1)}, 32)).Serialize()
		s, err := NewReplySig(uint32(2*k), append(der, ht))
		if err != nil {
			t.Fatal(err)
		}
		r.Sigs = append(r.Sigs, s)
	}
	return r
}

func TestSigReplyRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 10, 30} {
		r := testSigReply(t, n)
		enc, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		// 44 bytes of header, 67 an input, one more for the sighash
		// type, one more for each index of 24 or more and for a map
		// of 24 or more.
		want := 44 + 67*n
		if n >= 24 {
			want++
		}
		if n > 1 {
			want++
		}
		for k := range n {
			if 2*k >= 24 {
				want++
			}
		}
		if len(enc) != want {
			t.Errorf("%d inputs: %d bytes, want %d", n, len(enc), want)
		}
		got, err := DecodeSigReply(enc)
		if err != nil {
			t.Fatalf("%d inputs: %v", n, err)
		}
		again, err := got.Encode()
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("%d inputs: re-encoding gives other bytes (%v)", n, err)
		}
		for k := range r.Sigs {
			if got.Sigs[k] != r.Sigs[k] {
				t.Errorf("%d inputs: signature %d changed", n, k)
			}
		}
	}
}

// TestSigReplyVector pins the encoding: one input, SIGHASH_ALL.
func TestSigReplyVector(t *testing.T) {
	r := &SigReply{TxID: [32]byte{0: 0xaa, 31: 0xbb}, Fingerprint: [4]byte{1, 2, 3, 4}}
	s := ReplySig{Input: 5, SigHash: SigHashAll}
	s.RS[31], s.RS[63] = 1, 2
	r.Sigs = []ReplySig{s}
	enc, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "a3" + "01" + "5820aa" + strings.Repeat("00", 30) + "bb" + "02" + "4401020304" + "03" + "a1" +
		"05" + "5840" + strings.Repeat("00", 31) + "01" + strings.Repeat("00", 31) + "02"
	if got := hex.EncodeToString(enc); got != want {
		t.Errorf("encoding\n got %s\nwant %s", got, want)
	}
}

// testTapSigs returns BIP-340 signatures, by a fixed key, for the given
// inputs; the last asks for SIGHASH_ALL explicitly when there are several.
func testTapSigs(t testing.TB, inputs ...uint32) []ReplySig {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{8}, 32))
	var out []ReplySig
	for k, in := range inputs {
		sig, err := schnorr.Sign(priv, bytes.Repeat([]byte{byte(in)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		s := ReplySig{Input: in}
		copy(s.RS[:], sig.Serialize())
		if len(inputs) > 1 && k == len(inputs)-1 {
			s.SigHash = SigHashAll
		}
		out = append(out, s)
	}
	return out
}

// TestSigReplyTaproot: Schnorr signatures (field 4) alone and beside
// ECDSA ones (field 3) round-trip to the same bytes, a 64-byte one is
// DEFAULT, and what a taproot signature may not be is refused.
func TestSigReplyTaproot(t *testing.T) {
	tapOnly := &SigReply{TxID: [32]byte{1}, Fingerprint: [4]byte{9, 9, 9, 9}, TapSigs: testTapSigs(t, 0, 1, 2)}
	mixed := testSigReply(t, 2) // ECDSA for inputs 0 and 2
	mixed.TapSigs = testTapSigs(t, 1, 3)
	for name, r := range map[string]*SigReply{"taproot only": tapOnly, "mixed": mixed} {
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !IsSigReply(enc) {
			t.Errorf("%s: not recognised as a reply", name)
		}
		got, err := DecodeSigReply(enc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := got.Encode()
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("%s: re-encoding gives other bytes (%v)", name, err)
		}
		if len(got.TapSigs) != len(r.TapSigs) || len(got.Sigs) != len(r.Sigs) {
			t.Fatalf("%s: %d and %d signatures back", name, len(got.Sigs), len(got.TapSigs))
		}
		for k := range r.TapSigs {
			if got.TapSigs[k] != r.TapSigs[k] {
				t.Errorf("%s: schnorr signature %d changed", name, k)
			}
		}
	}
	if got, _ := DecodeSigReply(mustEncode(t, tapOnly)); got.TapSigs[0].SigHash != sigHashDefault || got.TapSigs[2].SigHash != SigHashAll {
		t.Errorf("sighash types %#x %#x, want DEFAULT then ALL", got.TapSigs[0].SigHash, got.TapSigs[2].SigHash)
	}
	// A schnorr s may be high: only ECDSA signatures are low-S.
	high := *tapOnly
	high.TapSigs = append([]ReplySig(nil), tapOnly.TapSigs...)
	var sc btcec.ModNScalar
	sc.SetByteSlice(high.TapSigs[0].RS[32:])
	if !sc.IsOverHalfOrder() {
		sc.Negate()
	}
	sc.PutBytesUnchecked(high.TapSigs[0].RS[32:])
	if _, err := DecodeSigReply(mustEncode(t, &high)); err != nil {
		t.Errorf("a schnorr signature with a high s: %v", err)
	}

	good := mustEncode(t, tapOnly)
	// Offsets in good: 0 map(3), ..., 42 key 4, 43 map(3), 44 index 0,
	// 45-46 bstr(64) head, 47-110 the signature, 111 index 1, ...
	_, set, splice := editors(good)
	withHashType := func(ht byte) []byte {
		return splice(45, 66, append([]byte{0x58, 0x41}, append(bytes.Clone(good[47:111]), ht)...)...)
	}
	p, _ := hex.DecodeString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f")
	order, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	both := *mixed
	both.TapSigs = testTapSigs(t, 2)
	bothEnc, err := both.encodeUnchecked()
	if err != nil {
		t.Fatal(err)
	}
	mixedEnc := mustEncode(t, mixed)
	ecdsaLen := len(mustEncode(t, testSigReply(t, 2)))
	swapped := append([]byte{0xa4}, mixedEnc[1:42]...)
	swapped = append(swapped, 0x04)
	swapped = append(swapped, mixedEnc[ecdsaLen+1:]...)
	swapped = append(swapped, 0x03)
	swapped = append(swapped, mixedEnc[43:ecdsaLen]...)
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"DEFAULT written out", withHashType(0x00), "sighash type DEFAULT is written out"},
		{"sighash type 4", withHashType(0x04), "taproot sighash type 0x04"},
		{"r past the field", set(47, p...), "schnorr signature r is not below the field size"},
		{"s the order", set(79, order...), "schnorr signature s is not below the curve order"},
		{"empty", append(good[:43:43], 0xa0), "schnorr signatures: an empty map"},
		{"Schnorr before ECDSA", swapped, "field key 3 after 4"},
		{"one input both ways", bothEnc, "input 2 is signed both as ECDSA and as Schnorr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSigReply(c.in)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a format error containing %q", err, c.want)
			}
		})
	}
}

// editors returns functions that make altered copies of good: edit by
// a function, set bytes at an offset, splice del bytes at off for ins.
func editors(good []byte) (edit func(func([]byte) []byte) []byte, set func(int, ...byte) []byte, splice func(int, int, ...byte) []byte) {
	edit = func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	set = func(off int, v ...byte) []byte {
		return edit(func(b []byte) []byte { copy(b[off:], v); return b })
	}
	splice = func(off, del int, ins ...byte) []byte {
		return edit(func(b []byte) []byte {
			return append(append(b[:off:off], ins...), good[off+del:]...)
		})
	}
	return edit, set, splice
}

func mustEncode(t testing.TB, r *SigReply) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSigReplyPartialSig converts a partial PSBT signature to (r, s) and
// back to the same bytes, and the result verifies.
func TestSigReplyPartialSig(t *testing.T) {
	priv, pub := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	hash := bytes.Repeat([]byte{0x42}, 32)
	der := append(ecdsa.Sign(priv, hash).Serialize(), 0x01)
	s, err := NewReplySig(3, der)
	if err != nil {
		t.Fatal(err)
	}
	back := s.PartialSig()
	if !bytes.Equal(back, der) {
		t.Fatalf("round trip: %x, want %x", back, der)
	}
	sig, err := ecdsa.ParseDERSignature(back[:len(back)-1])
	if err != nil || !sig.Verify(hash, pub) {
		t.Fatalf("converted signature does not verify (%v)", err)
	}
	if _, err := NewReplySig(3, []byte{1, 2, 3}); err == nil {
		t.Error("a 3-byte signature was taken")
	}
	if _, err := NewReplySig(3, append(der[:len(der)-1], 0x04)); err == nil {
		t.Error("sighash type 4 was taken")
	}
}

func TestDecodeSigReplyRefuses(t *testing.T) {
	good, err := testSigReply(t, 3).Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Offsets in good: 0 map(3), 1 key 1, 2-3 bstr(32) head, 4-35 txid,
	// 36 key 2, 37 bstr(4), 38-41 fingerprint, 42 key 3, 43 map(3),
	// 44 index 0, 45-46 bstr(64) head, 47-110 r||s, 111 index 2, ...
	edit, set, splice := editors(good)
	highS := edit(func(b []byte) []byte {
		// s := n - s flips a low s high.
		var s btcec.ModNScalar
		s.SetByteSlice(b[79:111])
		s.Negate()
		s.PutBytesUnchecked(b[79:111])
		return b
	})
	order, _ := hex.DecodeString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "unexpected end of data"},
		{"not a map", set(0, 0x83), "not a map of 3 or 4 fields"},
		{"a map of 5", set(0, 0xa5), "not a map of 3 or 4 fields"},
		{"a fourth field missing", set(0, 0xa4), "signatures key: unexpected end of data"},
		{"fields out of order", set(1, 0x02), "field 1 has key 2, want 1"},
		{"duplicate field", set(36, 0x01), "field 2 has key 1, want 2"},
		{"unknown key", set(42, 0x07), "field key 7 after 2, want 3 (ECDSA signatures) then 4"},
		{"short txid", splice(2, 2, 0x58, 0x1f), "txid of 31 bytes, want 32"},
		{"txid of 33 bytes", splice(2, 2, 0x58, 0x21), "txid of 33 bytes, want 32"},
		{"fingerprint of 5 bytes", splice(37, 5, 0x45, 1, 2, 3, 4, 5), "fingerprint of 5 bytes, want 4"},
		{"fingerprint as a number", splice(37, 5, 0x1a, 1, 2, 3, 4), "fingerprint: expected byte string"},
		{"signatures as an array", set(43, 0x83), "signatures are not a map"},
		{"no signatures", append(good[:43:43], 0xa0), "signatures: an empty map (it is left out instead)"},
		{"too many declared", set(43, 0xb8, 0xff), "255 signatures declared"},
		{"index out of order", set(111, 0x00), "input 0 is signed twice"},
		{"index decreasing", set(44, 0x03), "input 2 comes after input 3"},
		{"index not a number", set(44, 0x40), "input index: expected unsigned integer"},
		{"index past 32 bits", splice(44, 1, 0x1b, 1, 0, 0, 0, 0, 0, 0, 0), "integer out of range"},
		{"signature of 63 bytes", splice(45, 2, 0x58, 0x3f), "input 0: signature of 63 bytes, want 64"},
		{"signature of 66 bytes", append(splice(45, 2, 0x58, 0x42), 0), "input 0: signature of 66 bytes"},
		{"sighash ALL written out", splice(45, 66, append([]byte{0x58, 0x41}, append(bytes.Clone(good[47:111]), 0x01)...)...), "sighash type ALL is written out"},
		{"sighash type 4", splice(45, 66, append([]byte{0x58, 0x41}, append(bytes.Clone(good[47:111]), 0x04)...)...), "sighash type 0x04"},
		{"r zero", set(47, make([]byte, 32)...), "input 0: signature r is zero"},
		{"r the order", set(47, order...), "signature r is zero or not below the curve order"},
		{"s the order", set(79, order...), "signature s is zero or not below the curve order"},
		{"high s", highS, "input 0: signature s is high"},
		{"trailing byte", append(bytes.Clone(good), 0), "1 bytes after the reply"},
		{"truncated", good[:len(good)-1], "byte string longer than input"},
		{"long-form index", splice(44, 1, 0x18, 0x00), "not in canonical form"},
		{"long-form length", splice(2, 2, 0x59, 0x00, 0x20), "not in canonical form"},
		{"indefinite map", set(0, 0xbf), "indefinite or reserved length"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSigReply(c.in)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a format error containing %q", err, c.want)
			}
		})
	}
}

// TestSigReplyDetected: DecodeBytes and Collector tell a reply from
// anything else, raw, as BBQr and as UR.
func TestSigReplyDetected(t *testing.T) {
	enc, err := testSigReply(t, 2).Encode()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := EncodeBBQr(enc, BBQrCBOR, BBQrOptions{Encoding: BBQrBase32})
	if err != nil {
		t.Fatal(err)
	}
	ue, err := NewUREncoder(URTypeSigReply, enc, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{
		"raw":  enc,
		"bbqr": []byte(strings.Join(bb, "\n")),
		"ur":   []byte(strings.Join(ue.Parts(ue.SeqLen()), "\n")),
	} {
		kind, payload, err := DecodeBytes(in)
		if err != nil || kind != KindSigReply || !bytes.Equal(payload, enc) {
			t.Errorf("%s: kind %q, %d bytes, %v; want %q and the reply", name, kind, len(payload), err, KindSigReply)
		}
	}
	// Other CBOR in BBQr C stays KindCBOR.
	other, err := EncodeBBQr([]byte{0xa1, 0x01, 0x02}, BBQrCBOR, BBQrOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kind, _, err := DecodeBytes([]byte(other[0])); err != nil || kind != KindCBOR {
		t.Errorf("other cbor: kind %q, %v", kind, err)
	}
}

func FuzzDecodeSigReply(f *testing.F) {
	for _, n := range []int{1, 3} {
		enc, err := testSigReply(f, n).Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	mixed := testSigReply(f, 2)
	mixed.TapSigs = testTapSigs(f, 1, 3)
	f.Add(mustEncode(f, mixed))
	f.Add(mustEncode(f, &SigReply{TapSigs: testTapSigs(f, 0)}))
	f.Add([]byte(sigReplyMagic))
	f.Add([]byte{0xa3, 0x01, 0x58, 0x20, 0xff})
	f.Add([]byte{0xa4, 0x01, 0x58, 0x20, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeSigReply(in)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("decoded reply does not encode: %v", err)
		}
		if !bytes.Equal(enc, in) {
			t.Fatalf("decoded reply re-encodes to other bytes")
		}
		for _, s := range r.Sigs {
			back, err := NewReplySig(s.Input, s.PartialSig())
			if err != nil || back != s {
				t.Fatalf("input %d: DER round trip: %v", s.Input, err)
			}
		}
	})
}
