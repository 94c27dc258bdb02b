package wallet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
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
// (child = parent). It runs once with each table: a batch of a few
// hundred, and one of largeCombMin.
func TestBaseMulAdd(t *testing.T) {
	for _, n := range []int{300, largeCombMin} {
		t.Run(fmt.Sprint(n), func(t *testing.T) { testBaseMulAdd(t, n) })
	}
}

func testBaseMulAdd(t *testing.T, n int) {
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
	for len(ks) < n-7 {
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
	baseMulAdd(combFor(n), ks, ps, out, special)
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
	for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH, P2TR} {
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

// TestCombTables checks entries of every row of both tables against
// btcec.
func TestCombTables(t *testing.T) {
	for _, tbl := range []*combTable{smallComb(), largeComb()} {
		if want := (256 + int(tbl.w) - 1) / int(tbl.w); len(tbl.rows) != want {
			t.Fatalf("%d-bit table: %d rows, want %d", tbl.w, len(tbl.rows), want)
		}
		for i, row := range tbl.rows {
			for _, v := range []int{1, 2, 3, 1<<tbl.w/2 + 7, 1<<tbl.w - 1} {
				// v·2^(w·i) as a big-endian scalar
				var b [33]byte
				bit := int(tbl.w) * i
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
				if p := &row[v]; !p.x.Equals(&want.X) || !p.y.Equals(&want.Y) {
					t.Errorf("%d-bit table: row %d entry %d is not %d·2^%d·G", tbl.w, i, v, v, bit)
				}
			}
		}
	}
}

// TestDigits checks that the digits of a scalar, in both widths, weigh
// back to the scalar.
func TestDigits(t *testing.T) {
	for _, w := range []uint{8, 11} {
		for range 50 {
			var b [32]byte
			rand.Read(b[:])
			var k btcec.ModNScalar
			k.SetBytes(&b)
			ds := make([]uint16, (256+int(w)-1)/int(w))
			digits(&k, w, ds)
			var sum, pow, d btcec.ModNScalar
			pow.SetInt(1)
			var step btcec.ModNScalar
			step.SetInt(1 << w)
			for _, v := range ds {
				if v >= 1<<w {
					t.Fatalf("%d-bit digit %d", w, v)
				}
				d.SetInt(uint32(v)).Mul(&pow)
				sum.Add(&d)
				pow.Mul(&step)
			}
			if !sum.Equals(&k) {
				t.Fatalf("%d-bit digits of %x do not sum to it", w, b)
			}
		}
	}
}

// TestDeriveMany checks DeriveMany against Derive of each index, for
// batches below and above batchMin, repeated indexes, both branches,
// every script type, and refusals of indexes Derive refuses.
func TestDeriveMany(t *testing.T) {
	types := []ScriptType{P2WSH, P2SHP2WSH, P2SH, P2WPKH, P2TR}
	for _, st := range types {
		n := 3
		if st == P2WPKH {
			n = 1
		}
		_, recs := testRecords(t, Mainnet, st, n)
		var d *Descriptor
		var err error
		if n == 1 {
			d, err = ParseDescriptor(singleKeyDesc(st, recs[0]), nil)
		} else {
			d, err = NewMultisig(Mainnet, st, 2, recs)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, change := range []bool{false, true} {
			for _, count := range []int{1, 5, 400} {
				idx := make([]uint32, count)
				for j := range idx {
					idx[j] = uint32(j*7919) % 100_000
				}
				if count > 1 {
					idx[count-1] = idx[0] // a repeat
				}
				got, err := d.DeriveMany(change, idx)
				if err != nil {
					t.Fatal(err)
				}
				for j, index := range idx {
					want, err := d.Derive(change, index)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got[j], want) {
						t.Fatalf("%v change=%v index %d (batch of %d): DeriveMany and Derive differ:\n%+v\n%+v", st, change, index, count, got[j], want)
					}
				}
			}
		}
		if _, err := d.DeriveMany(false, []uint32{1, Hardened}); !errors.Is(err, ErrHardenedDerivation) {
			t.Errorf("%v: a hardened index: %v", st, err)
		}
	}
	// A tr() whose internal key is ranged too: a lift and a tweak of its
	// own for each index.
	_, recs := testRecords(t, Mainnet, P2TR, 2)
	key := func(r *KeyRecord) string { return "[" + r.Origin.String() + "]" + r.Key.String() + "/<0;1>/*" }
	d, err := ParseDescriptor("tr("+key(recs[0])+",pk("+key(recs[1])+"))", nil)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]uint32, 300)
	for j := range idx {
		idx[j] = uint32(j * 3)
	}
	got, err := d.DeriveMany(true, idx)
	if err != nil {
		t.Fatal(err)
	}
	for j, index := range idx {
		want, err := d.Derive(true, index)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[j], want) {
			t.Fatalf("tr with a ranged internal key, index %d: DeriveMany and Derive differ", index)
		}
	}
}
