package wallet

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// reference is k·G + p by btcec's general (Jacobian) arithmetic, or false
// at infinity.
func reference(k *btcec.ModNScalar, p *btcec.JacobianPoint) ([33]byte, bool) {
	var kg, r btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(k, &kg)
	btcec.AddNonConst(&kg, p, &r)
	var out [33]byte
	if r.Z.IsZero() || (r.X.IsZero() && r.Y.IsZero()) {
		return out, false
	}
	r.ToAffine()
	copy(out[:], btcec.NewPublicKey(&r.X, &r.Y).SerializeCompressed())
	return out, true
}

// TestBaseMulAdd checks baseMulAdd against btcec for random scalars, for
// scalars with zero bytes (rows skipped), and for the cases it must hand
// back: k·G = P (a doubling) and k·G = -P (infinity). 0 is a valid tweak
// (child = parent).
func TestBaseMulAdd(t *testing.T) {
	var priv btcec.ModNScalar
	var seed [32]byte
	rand.Read(seed[:])
	priv.SetBytes(&seed)
	var pj btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&priv, &pj)
	pj.ToAffine()
	var parent affinePoint
	parent.x.Set(&pj.X).Normalize()
	parent.y.Set(&pj.Y).Normalize()

	var ks []btcec.ModNScalar
	for range 300 {
		var b [32]byte
		rand.Read(b[:])
		var k btcec.ModNScalar
		k.SetBytes(&b)
		ks = append(ks, k)
	}
	var sparse [32]byte
	sparse[31] = 5
	sparse[0] = 0x80
	var k btcec.ModNScalar
	k.SetBytes(&sparse)
	ks = append(ks, k)
	k.SetInt(1)
	ks = append(ks, k)
	k.SetInt(0)
	ks = append(ks, k)
	ks = append(ks, priv) // k·G = P: a doubling at the end
	var neg btcec.ModNScalar
	neg.NegateVal(&priv)
	ks = append(ks, neg) // k·G = -P: infinity
	var max btcec.ModNScalar
	max.SetInt(1).Negate() // n - 1: every byte set
	ks = append(ks, max)

	ps := make([]*affinePoint, len(ks))
	for i := range ps {
		ps[i] = &parent
	}
	out := make([]affinePoint, len(ks))
	special := make([]bool, len(ks))
	baseMulAdd(ks, ps, out, special)
	for i := range ks {
		want, ok := reference(&ks[i], &pj)
		if special[i] {
			if i < len(ks)-3 {
				t.Errorf("scalar %d handed back, but no doubling or infinity is expected", i)
			}
			continue
		}
		if !ok {
			t.Fatalf("scalar %d: a sum at infinity was not handed back", i)
		}
		var got [33]byte
		out[i].compress(&got)
		if !bytes.Equal(got[:], want[:]) {
			t.Errorf("scalar %d: got %x, want %x", i, got, want)
		}
	}
	if !special[len(ks)-3] || !special[len(ks)-2] {
		t.Errorf("the doubling and the infinity were not handed back: %v", special[len(ks)-3:])
	}
}

// TestDeriveScriptPubKeysBatch checks the batched derivation (many
// scripts, across chunks) against Derive of each index, on both branches
// and for several script types.
func TestDeriveScriptPubKeysBatch(t *testing.T) {
	for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH} {
		_, recs := testRecords(t, Mainnet, st, 3)
		d, err := NewMultisig(Mainnet, st, 2, recs)
		if err != nil {
			t.Fatal(err)
		}
		for _, change := range []bool{false, true} {
			const from, count = 1000, 300
			spks, err := d.DeriveScriptPubKeys(change, from, count)
			if err != nil {
				t.Fatal(err)
			}
			if len(spks) != count {
				t.Fatalf("%d scripts, want %d", len(spks), count)
			}
			for j, spk := range spks {
				dv, err := d.Derive(change, from+uint32(j))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(spk, dv.ScriptPubKey) {
					t.Fatalf("%v change=%v index %d: batch %x, Derive %x", st, change, from+j, spk, dv.ScriptPubKey)
				}
			}
		}
	}
	_, recs := testRecords(t, Mainnet, P2WPKH, 1)
	d, err := ParseDescriptor(singleKeyDesc(P2WPKH, recs[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	spks, err := d.DeriveScriptPubKeys(false, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	for j, spk := range spks {
		dv, err := d.Derive(false, uint32(j))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(spk, dv.ScriptPubKey) {
			t.Fatalf("wpkh index %d: batch %x, Derive %x", j, spk, dv.ScriptPubKey)
		}
	}
}

// TestBaseTable checks entries of every row of the table against btcec.
func TestBaseTable(t *testing.T) {
	tbl := baseTable()
	for i := 0; i < baseRows; i++ {
		for _, v := range []int{1, 2, 3, 1<<baseWindow/2 + 7, 1<<baseWindow - 1} {
			// v·2^(baseWindow·i) as a big-endian scalar
			var b [33]byte
			bit := baseWindow * i
			hi := uint32(v) << (bit % 8)
			for k := 0; hi != 0; k++ {
				b[32-bit/8-k] = byte(hi)
				hi >>= 8
			}
			var s btcec.ModNScalar
			if b[0] != 0 || s.SetByteSlice(b[1:]) {
				continue // past n: never a digit of a scalar
			}
			var want btcec.JacobianPoint
			btcec.ScalarBaseMultNonConst(&s, &want)
			want.ToAffine()
			want.X.Normalize()
			want.Y.Normalize()
			if p := &tbl[i][v]; !p.x.Equals(&want.X) || !p.y.Equals(&want.Y) {
				t.Errorf("row %d entry %d is not %d·2^%d·G", i, v, v, bit)
			}
		}
	}
}
