package psbt

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type bip370Vectors struct {
	Source  string `json:"source"`
	Invalid []struct {
		Case   string `json:"case"`
		Base64 string `json:"base64"`
	} `json:"invalid"`
	Valid []struct {
		Case   string `json:"case"`
		Base64 string `json:"base64"`
	} `json:"valid"`
}

func loadBIP370(t testing.TB) *bip370Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/bip370_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v bip370Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Invalid) != 24 || len(v.Valid) != 23 {
		t.Fatalf("%d invalid and %d valid vectors", len(v.Invalid), len(v.Valid))
	}
	return &v
}

// TestBIP370Invalid parses every PSBT BIP-370 lists as invalid, each
// refused for its own reason.
func TestBIP370Invalid(t *testing.T) {
	for _, c := range loadBIP370(t).Invalid {
		t.Run(c.Case, func(t *testing.T) {
			_, err := Parse(b64(t, c.Base64))
			var want error
			switch {
			case strings.HasPrefix(c.Case, "PSBTv0 but with PSBT_GLOBAL_VERSION set to 2"),
				strings.HasPrefix(c.Case, "PSBTv2 but with PSBT_GLOBAL_UNSIGNED_TX"):
				want = ErrExcludedFieldV2
			case strings.HasPrefix(c.Case, "PSBTv0 but with"):
				want = ErrExcludedField
			case strings.HasPrefix(c.Case, "PSBTv2 missing"):
				want = ErrMissingField
			default:
				want = ErrInvalidValue
			}
			if !errors.Is(err, want) {
				t.Fatalf("error %v, want %v", err, want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !fe.HasKey {
				t.Fatalf("error %v names no field", err)
			}
		})
	}
}

// wantLockTime is the lock time BIP-370's rules give each locktime case.
var wantLockTime = map[string]uint32{
	"No locktimes specified": 0,
	"Fallback locktime of 0": 0,
	"Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000, Input 2 has no locktime fields":                                                                                                                         10000,
	"Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000, Input 2 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 9000":                                                                                                   10000,
	"Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000, Input 2 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 9000 and PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048460":                                                  10000,
	"Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000 and PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048459, Input 2 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 9000 and PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048460": 10000,
	"Input 1 has PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048459, Input 2 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 9000 and PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048460":                                               1657048460,
	"Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000 and PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048459, Input 2 has PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048460":                                              1657048460,
}

// TestBIP370Valid parses every PSBT BIP-370 lists as valid; writes each
// back to the same bytes; converts it to version 0 and back keeping every
// field both versions have; and determines its lock time.
func TestBIP370Valid(t *testing.T) {
	for _, c := range loadBIP370(t).Valid {
		t.Run(c.Case, func(t *testing.T) {
			in := b64(t, c.Base64)
			p, err := Parse(in)
			if c.Case == "Input 1 has PSBT_IN_REQUIRED_HEIGHT_LOCKTIME of 10000, Input 2 has PSBT_IN_REQUIRED_TIME_LOCKTIME of 1657048460" {
				// A valid PSBT, but no lock time satisfies both inputs:
				// nothing can sign it, and kinko says why.
				if !errors.Is(err, ErrLockTime) {
					t.Fatalf("error %v, want %v", err, ErrLockTime)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != 2 {
				t.Fatalf("version %d", p.Version)
			}
			out := mustSerialize(t, p)
			if !bytes.Equal(out, in) {
				t.Fatalf("serialized differently:\n%x\n%x", out, in)
			}
			if lt, ok := wantLockTime[c.Case]; ok && p.UnsignedTx.LockTime != lt {
				t.Fatalf("lock time %d, want %d", p.UnsignedTx.LockTime, lt)
			}
			// To version 0 and back: the transaction and every shared
			// field survive; a copy converts the same way.
			v0 := p.Copy()
			v0.Version = 0
			b0 := mustSerialize(t, v0)
			q := mustParse(t, b0)
			if q.Version != 0 || q.UnsignedTx.TxID() != p.UnsignedTx.TxID() {
				t.Fatalf("version 0 copy: version %d, txid %s", q.Version, q.UnsignedTx.TxID())
			}
			q.Version = 2
			back := mustParse(t, mustSerialize(t, q))
			back.Version = 0
			if !bytes.Equal(mustSerialize(t, back), b0) {
				t.Fatal("version 0 → 2 → 0 changed the packet")
			}
			if !hasV2Only(p) && !bytes.Equal(mustSerialize(t, q), in) {
				t.Fatalf("version 2 → 0 → 2 changed the packet:\n%x\n%x", mustSerialize(t, q), in)
			}
		})
	}
}

// hasV2Only reports whether p holds fields version 0 has no place for.
func hasV2Only(p *Packet) bool {
	if p.v2 == nil {
		return false
	}
	for _, g := range p.v2.global {
		if g.key[0] == globalTxModifiable || g.key[0] == globalFallbackLocktime && p.UnsignedTx.LockTime == 0 {
			return true
		}
	}
	for i, in := range p.v2.inputs {
		if len(in.locktimes) > 0 || in.explicitSeq && p.UnsignedTx.Inputs[i].Sequence == 0xffffffff {
			return true
		}
	}
	return false
}

// TestV0ToV2 converts BIP-174's valid PSBTs to version 2 and back to the
// same bytes.
func TestV0ToV2(t *testing.T) {
	for _, c := range loadBIP174(t).Valid {
		p, err := Parse(b64(t, c.Base64))
		if err != nil {
			t.Fatal(err)
		}
		b0 := mustSerialize(t, p)
		p.Version = 2
		b2 := mustSerialize(t, p)
		q := mustParse(t, b2)
		if q.Version != 2 || q.UnsignedTx.TxID() != p.UnsignedTx.TxID() {
			t.Fatalf("%s: version %d", c.Description, q.Version)
		}
		if !bytes.Equal(mustSerialize(t, q), b2) {
			t.Fatalf("%s: version 2 does not round-trip", c.Description)
		}
		q.Version = 0
		if got := mustSerialize(t, q); !bytes.Equal(got, b0) && !hasExplicitV0(p) {
			t.Fatalf("%s: version 0 → 2 → 0 changed the packet", c.Description)
		}
	}
}

// hasExplicitV0 reports whether p keeps an explicit PSBT_GLOBAL_VERSION 0,
// which version 2 replaces.
func hasExplicitV0(p *Packet) bool {
	for _, u := range p.Unknowns {
		if len(u.Key) == 1 && u.Key[0] == globalVersion {
			return true
		}
	}
	return false
}

func FuzzParseV2(f *testing.F) {
	v := loadBIP370(f)
	for _, c := range v.Valid {
		f.Add(b64(f, c.Base64))
	}
	for _, c := range v.Invalid[13:] {
		f.Add(b64(f, c.Base64))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := p.Serialize()
		if err != nil {
			t.Fatalf("parsed but does not serialize: %v", err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("serialized form does not parse: %v", err)
		}
		again, err := q.Serialize()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not canonical: %v", err)
		}
		q.Version = 2 - q.Version
		if _, err := q.Serialize(); err != nil {
			t.Fatalf("does not convert: %v", err)
		}
	})
}
