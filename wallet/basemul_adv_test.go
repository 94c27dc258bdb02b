package wallet

// Adversarial tests of the batched derivation (basemul.go, children,
// deriveTrMany): many parents in one batch, scalars whose digits sit on
// the edges of both tables, the cases baseMulAdd hands back planted among
// normal ones, every entry of both tables, and DeriveMany on one
// descriptor from several goroutines. Every result is compared with
// btcec's own ScalarBaseMultNonConst/AddNonConst, with Derive of one index
// at a time, or (taproot output keys) with btcd's txscript.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript/v2"
)

// curveN is the order of secp256k1's group.
var curveN = btcec.S256().N

// scalarOf returns v (0 ≤ v < n) as a ModNScalar.
func scalarOf(t testing.TB, v *big.Int) btcec.ModNScalar {
	t.Helper()
	if v.Sign() < 0 || v.Cmp(curveN) >= 0 {
		t.Fatalf("scalar %x out of range", v)
	}
	var b [32]byte
	v.FillBytes(b[:])
	var s btcec.ModNScalar
	if s.SetBytes(&b) != 0 {
		t.Fatalf("scalar %x overflows", v)
	}
	return s
}

// pointOf returns k·G as an affine point and as a Jacobian one (Z = 1).
func pointOf(k *btcec.ModNScalar) (affinePoint, btcec.JacobianPoint) {
	var j btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(k, &j)
	j.ToAffine()
	var p affinePoint
	p.x.Set(&j.X).Normalize()
	p.y.Set(&j.Y).Normalize()
	return p, j
}

// randScalar returns a scalar from r (reduced mod n).
func randScalar(r *mrand.ChaCha8) btcec.ModNScalar {
	var b [32]byte
	r.Read(b[:])
	var s btcec.ModNScalar
	s.SetBytes(&b)
	return s
}

// baseMulCase is one element of a batch: the scalar, the point added to
// it, and whether baseMulAdd must hand it back (k·G = ±P).
type baseMulCase struct {
	k       btcec.ModNScalar
	p       affinePoint
	pj      btcec.JacobianPoint
	special bool
	what    string
}

// runBaseMulAdd runs baseMulAdd on cases with tbl and checks every
// element: a special one handed back, every other one equal to btcec's
// k·G + P.
func runBaseMulAdd(t *testing.T, tbl *combTable, cases []baseMulCase) {
	t.Helper()
	ks := make([]btcec.ModNScalar, len(cases))
	ps := make([]*affinePoint, len(cases))
	for i := range cases {
		ks[i] = cases[i].k
		ps[i] = &cases[i].p
	}
	out := make([]affinePoint, len(cases))
	special := make([]bool, len(cases))
	for i := range special {
		special[i] = i%2 == 0 // stale values from a previous batch must not matter
	}
	baseMulAdd(tbl, ks, ps, out, special)
	bad := 0
	for i := range cases {
		c := &cases[i]
		want, ok := reference(&c.k, &c.pj)
		var kg btcec.JacobianPoint
		btcec.ScalarBaseMultNonConst(&c.k, &kg)
		kg.ToAffine()
		doubling := ok && !c.k.IsZero() && kg.X.Equals(&c.pj.X) && kg.Y.Equals(&c.pj.Y)
		if expect := !ok || doubling; expect != c.special {
			t.Fatalf("%d-bit table, element %d (%s): the test expects special=%v, btcec says %v", tbl.w, i, c.what, c.special, expect)
		}
		if special[i] != c.special {
			t.Errorf("%d-bit table, element %d (%s): special = %v, want %v", tbl.w, i, c.what, special[i], c.special)
			bad++
		} else if !c.special {
			var got [33]byte
			out[i].compress(&got)
			if got != want {
				t.Errorf("%d-bit table, element %d (%s): got %x, want %x", tbl.w, i, c.what, got, want)
				bad++
			}
		}
		if bad > 10 {
			t.Fatal("too many errors")
		}
	}
}

// TestBaseMulAddManyParents adds, in one batch of thousands, random
// scalars to as many random points (some shared by several elements),
// with each table.
func TestBaseMulAddManyParents(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{1})
	n := 2500
	if testing.Short() {
		n = 600
	}
	cases := make([]baseMulCase, n)
	for i := range cases {
		c := &cases[i]
		if i%5 == 4 {
			c.p, c.pj = cases[i-1].p, cases[i-1].pj // a parent shared with the previous element
		} else {
			s := randScalar(r)
			c.p, c.pj = pointOf(&s)
		}
		c.k = randScalar(r)
		c.what = "random"
	}
	for _, tbl := range []*combTable{smallComb(), largeComb()} {
		runBaseMulAdd(t, tbl, cases)
	}
}

// edgeScalars returns scalars whose w-bit digits sit on the edges: a
// single non-zero digit (1, 2, the middle, the largest) in each row, the
// values around every power of two, all digits of the low rows at their
// largest, n-1 and its neighbours, the largest top digit (7 for 11-bit
// digits, 0xff for 8-bit ones), alternating rows of zero and largest
// digits, and random mixes of 0, 1, the largest and random digits.
func edgeScalars(w uint, r *mrand.ChaCha8) []*big.Int {
	var out []*big.Int
	seen := make(map[string]bool)
	add := func(v *big.Int) {
		if v.Sign() < 0 || v.Cmp(curveN) >= 0 || seen[v.String()] {
			return
		}
		seen[v.String()] = true
		out = append(out, new(big.Int).Set(v))
	}
	one := big.NewInt(1)
	pow := func(b uint) *big.Int { return new(big.Int).Lsh(one, b) }
	mask := uint64(1)<<w - 1
	nrows := (256 + int(w) - 1) / int(w)
	for i := 0; i < nrows; i++ {
		for _, v := range []uint64{1, 2, mask/2 + 1, mask - 1, mask} {
			add(new(big.Int).Lsh(new(big.Int).SetUint64(v), w*uint(i)))
		}
		// Every digit below row i at its largest, the rest zero; and
		// that plus one (a carry into row i).
		low := new(big.Int).Sub(pow(w*uint(i)), one)
		add(low)
		add(new(big.Int).Add(low, one))
		// Every digit from row i up at its largest (as far as n allows).
		add(new(big.Int).Sub(curveN, pow(w*uint(i))))
	}
	for b := uint(0); b < 256; b++ {
		p := pow(b)
		add(new(big.Int).Sub(p, one))
		add(p)
		add(new(big.Int).Add(p, one))
	}
	for d := int64(1); d <= 3; d++ {
		add(new(big.Int).Sub(curveN, big.NewInt(d)))
	}
	add(new(big.Int).Rsh(curveN, 1))
	add(new(big.Int).Sub(curveN, pow(128)))
	// The largest top digit: 7 for 11 bits (bits 253 to 255), 0xff for 8.
	top := w * uint(nrows-1)
	topMax := new(big.Int).Lsh(big.NewInt(int64(1)<<(256-top)-1), top)
	add(topMax)
	add(new(big.Int).Add(topMax, one))
	add(new(big.Int).Add(topMax, big.NewInt(int64(mask))))
	// Alternating rows.
	for parity := 0; parity < 2; parity++ {
		v := new(big.Int)
		for i := 0; i < nrows; i++ {
			if i%2 == parity {
				v.Or(v, new(big.Int).Lsh(new(big.Int).SetUint64(mask), w*uint(i)))
			}
		}
		add(v)
		add(v.Mod(v, curveN))
	}
	// Random mixes.
	for range 150 {
		v := new(big.Int)
		for i := 0; i < nrows; i++ {
			var d uint64
			switch r.Uint64() % 4 {
			case 1:
				d = 1
			case 2:
				d = mask
			case 3:
				d = r.Uint64() & mask
			}
			v.Or(v, new(big.Int).Lsh(new(big.Int).SetUint64(d), w*uint(i)))
		}
		add(v.Mod(v, curveN))
	}
	return out
}

// TestBaseMulAddDigitPatterns checks digits and baseMulAdd on the edge
// scalars of each table's width: the digits against those math/big
// takes out of the scalar, the sums against btcec.
func TestBaseMulAddDigitPatterns(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{2})
	for _, tbl := range []*combTable{smallComb(), largeComb()} {
		w := tbl.w
		nrows := len(tbl.rows)
		scalars := edgeScalars(w, r)
		cases := make([]baseMulCase, len(scalars))
		ds := make([]uint16, nrows)
		for i, v := range scalars {
			k := scalarOf(t, v)
			digits(&k, w, ds)
			for j := range ds {
				want := new(big.Int).Rsh(v, w*uint(j))
				want.And(want, big.NewInt(int64(1)<<w-1))
				if uint64(ds[j]) != want.Uint64() {
					t.Fatalf("%d-bit digit %d of %x: %d, want %d", w, j, v, ds[j], want.Uint64())
				}
			}
			s := randScalar(r)
			cases[i] = baseMulCase{k: k, what: fmt.Sprintf("k=%x", v)}
			cases[i].p, cases[i].pj = pointOf(&s)
		}
		// The largest top digit is reached: 7 for 11 bits, 0xff for 8.
		k := scalarOf(t, new(big.Int).Sub(curveN, big.NewInt(1)))
		digits(&k, w, ds)
		if want := uint16(1)<<(256-w*uint(nrows-1)) - 1; ds[nrows-1] != want {
			t.Errorf("%d-bit top digit of n-1: %d, want %d", w, ds[nrows-1], want)
		}
		runBaseMulAdd(t, tbl, cases)
	}
}

// TestBaseMulAddSpecials plants, among normal elements, those baseMulAdd
// must hand back: k·G = P (a doubling) and k·G = -P (infinity), for
// random k and for k·G a table point or G itself; and elements next to
// them that must not be: k = 0, P a table point with k·G another, P the
// partial sum of k's low rows. The planted ones sit first, last, in runs
// and alone; a batch of specials only and one with a single normal
// element come too.
func TestBaseMulAddSpecials(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{3})
	for _, tbl := range []*combTable{smallComb(), largeComb()} {
		w := tbl.w
		normal := func(what string) baseMulCase {
			s, k := randScalar(r), randScalar(r)
			c := baseMulCase{k: k, what: what}
			c.p, c.pj = pointOf(&s)
			return c
		}
		// on makes the case k with P = sign·(k·G) + extra·G.
		on := func(k btcec.ModNScalar, neg bool, extra uint32, what string) baseMulCase {
			var s btcec.ModNScalar
			s.Set(&k)
			if neg {
				s.Negate()
			}
			var e btcec.ModNScalar
			e.SetInt(extra)
			s.Add(&e)
			c := baseMulCase{k: k, what: what, special: extra == 0 && !k.IsZero()}
			c.p, c.pj = pointOf(&s)
			return c
		}
		tablePoint := func(row int, v uint64) btcec.ModNScalar {
			return scalarOf(t, new(big.Int).Lsh(new(big.Int).SetUint64(v), w*uint(row)))
		}
		var specials []baseMulCase
		for i := range 12 {
			k := randScalar(r)
			specials = append(specials, on(k, i%2 == 1, 0, "random k, P = ±k·G"))
		}
		var one btcec.ModNScalar
		one.SetInt(1)
		specials = append(specials, on(one, false, 0, "k = 1, P = G"), on(one, true, 0, "k = 1, P = -G (k·G + P at infinity)"))
		for _, row := range []int{0, 1, len(tbl.rows) / 2, len(tbl.rows) - 2, len(tbl.rows) - 1} {
			for _, v := range []uint64{1, 2, 1<<w - 1} {
				if new(big.Int).Lsh(new(big.Int).SetUint64(v), w*uint(row)).Cmp(curveN) >= 0 {
					continue // past n: never a table point a scalar uses
				}
				k := tablePoint(row, v)
				specials = append(specials,
					on(k, false, 0, fmt.Sprintf("k·G = P = row %d entry %d", row, v)),
					on(k, true, 0, fmt.Sprintf("k·G = -P, P = -(row %d entry %d)", row, v)))
				var kn btcec.ModNScalar
				kn.NegateVal(&k)
				specials = append(specials,
					on(kn, true, 0, fmt.Sprintf("k = n - (row %d entry %d), P = that entry", row, v)))
			}
		}
		var nears []baseMulCase // close to a special, but not one
		var zero btcec.ModNScalar
		nears = append(nears, on(zero, false, 0, "k = 0, P random"))
		rp := normal("")
		nears[0].p, nears[0].pj = rp.p, rp.pj
		nears = append(nears, on(one, false, 1, "k = 1, P = 2G"), on(one, true, 2, "k = 1, P = G (via -G + 2G)"))
		nears[len(nears)-1].special = true // -1 + 2 = 1: P = G = k·G after all
		for _, row := range []int{0, 1, len(tbl.rows) - 1} {
			k := tablePoint(row, 1)
			nears = append(nears, on(k, false, 1, fmt.Sprintf("P = row %d entry 1 + G", row)))
			// P a table point, k·G another point of that row.
			var k2 btcec.ModNScalar
			k2.Set(&k).Add(&k)
			c := on(k2, false, 0, "")
			c.p, c.pj = pointOf(&k)
			c.special, c.what = false, fmt.Sprintf("k = 2·(row %d entry 1), P = row %d entry 1", row, row)
			nears = append(nears, c)
		}
		for range 6 {
			// P is the partial sum of k's rows below the middle: the
			// point out[k] holds midway, added again at the end.
			var vb [32]byte
			r.Read(vb[:])
			v := new(big.Int).Mod(new(big.Int).SetBytes(vb[:]), curveN)
			low := new(big.Int).And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), w*uint(len(tbl.rows)/2)), big.NewInt(1)))
			if low.Sign() == 0 {
				continue
			}
			c := baseMulCase{k: scalarOf(t, v), what: fmt.Sprintf("P = partial sum %x of k = %x", low, v)}
			ls := scalarOf(t, low)
			c.p, c.pj = pointOf(&ls)
			c.special = low.Cmp(v) == 0
			nears = append(nears, c)
		}

		// Mixed: specials first, last, in a run and alone among 400
		// normal elements, the nears scattered.
		var batch []baseMulCase
		batch = append(batch, specials[0], specials[1])
		si, ni := 2, 0
		for i := 0; i < 400; i++ {
			batch = append(batch, normal("random"))
			switch {
			case i%23 == 5 && si < len(specials):
				batch = append(batch, specials[si])
				si++
			case i%31 == 7 && si+3 <= len(specials):
				batch = append(batch, specials[si:si+3]...) // a run
				si += 3
			case i%17 == 3 && ni < len(nears):
				batch = append(batch, nears[ni])
				ni++
			}
		}
		batch = append(batch, nears[ni:]...)
		batch = append(batch, specials[si:]...)
		runBaseMulAdd(t, tbl, batch)

		// Specials only; and specials around one normal element.
		runBaseMulAdd(t, tbl, specials)
		mid := append(append(append([]baseMulCase{}, specials[:5]...), normal("the only normal one")), specials[5:]...)
		runBaseMulAdd(t, tbl, mid)
	}
}

// TestCombTablesEveryEntry checks every entry of both tables: entry 1 of
// row i is 2^(w·i)·G by btcec, and entry v is entry v-1 plus entry 1 by
// btcec's AddNonConst (compared in Jacobian coordinates, no inversion).
// Entry 0 is never looked up and is not checked.
func TestCombTablesEveryEntry(t *testing.T) {
	for _, tbl := range []*combTable{smallComb(), largeComb()} {
		for i, row := range tbl.rows {
			var b [32]byte
			bit := tbl.w * uint(i)
			b[31-bit/8] = 1 << (bit % 8)
			var s btcec.ModNScalar
			s.SetBytes(&b)
			_, want := pointOf(&s)
			if !row[1].x.Equals(&want.X) || !row[1].y.Equals(&want.Y) {
				t.Fatalf("%d-bit table: row %d entry 1 is not 2^%d·G", tbl.w, i, bit)
			}
			var one btcec.JacobianPoint
			one.X.Set(&row[1].x)
			one.Y.Set(&row[1].y)
			one.Z.SetInt(1)
			for v := 2; v < len(row); v++ {
				var prev, sum btcec.JacobianPoint
				prev.X.Set(&row[v-1].x)
				prev.Y.Set(&row[v-1].y)
				prev.Z.SetInt(1)
				btcec.AddNonConst(&prev, &one, &sum)
				var z2, z3, x, y btcec.FieldVal
				z2.SquareVal(&sum.Z)
				z3.Mul2(&z2, &sum.Z)
				x.Mul2(&row[v].x, &z2).Normalize()
				y.Mul2(&row[v].y, &z3).Normalize()
				sum.X.Normalize()
				sum.Y.Normalize()
				if !x.Equals(&sum.X) || !y.Equals(&sum.Y) {
					t.Fatalf("%d-bit table: row %d entry %d is not entry %d + entry 1", tbl.w, i, v, v-1)
				}
			}
		}
	}
}

// TestCombTableConcurrentBuild builds the small table on several
// goroutines at once (each build itself on several): every build equals
// the table in use. Run with -race.
func TestCombTableConcurrentBuild(t *testing.T) {
	want := smallComb()
	var wg sync.WaitGroup
	tbls := make([]*combTable, 3)
	for i := range tbls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbls[i] = newCombTable(8)
		}()
	}
	wg.Wait()
	for n, tbl := range tbls {
		if !reflect.DeepEqual(tbl.rows[1:], want.rows[1:]) {
			t.Errorf("build %d differs from the table in use", n)
		}
	}
}

// TestDeriveManyConcurrent calls DeriveMany on one descriptor from
// several goroutines at once, with batches below and above batchMin, on
// both branches, for a P2WSH and a tr() wallet: each result is Derive's
// for that index. Run with -race.
func TestDeriveManyConcurrent(t *testing.T) {
	for _, st := range []ScriptType{P2WSH, P2TR} {
		_, recs := testRecords(t, Mainnet, st, 3)
		d, err := NewMultisig(Mainnet, st, 2, recs)
		if err != nil {
			t.Fatal(err)
		}
		const span = 240
		want := [2][]*Derived{}
		for b, change := range []bool{false, true} {
			for i := range uint32(span) {
				dv, err := d.Derive(change, i)
				if err != nil {
					t.Fatal(err)
				}
				want[b] = append(want[b], dv)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(uint64(g), 7))
				for _, size := range []int{10, 60, span} {
					change := (g+size)%2 == 1
					idx := make([]uint32, size)
					for j := range idx {
						idx[j] = uint32(r.IntN(span))
					}
					got, err := d.DeriveMany(change, idx)
					if err != nil {
						errs <- err
						return
					}
					b := 0
					if change {
						b = 1
					}
					for j, index := range idx {
						if !reflect.DeepEqual(got[j], want[b][index]) {
							errs <- fmt.Errorf("%v goroutine %d change=%v index %d (batch of %d): DeriveMany and Derive differ", st, g, change, index, size)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestDeriveTrManyOddY derives tr() outputs in batches whose internal
// keys have odd y, so that the lift to the even-y point matters: an
// internal key that is ranged (half its children odd), and a plain one
// written with prefix 03. Each output is Derive's for its index, its
// output key is txscript's ComputeTaprootOutputKey of the internal key
// and merkle root, and the control blocks carry that key's parity; both
// parities of output key occur. DeriveScriptPubKeys (the large table)
// agrees.
func TestDeriveTrManyOddY(t *testing.T) {
	_, recs := testRecords(t, Mainnet, P2TR, 3)
	key := func(r *KeyRecord) string { return "[" + r.Origin.String() + "]" + r.Key.String() + "/<0;1>/*" }
	// An odd-y point: k·G for the first k from 1 whose y is odd.
	var odd []byte
	for k := uint32(1); odd == nil; k++ {
		var s btcec.ModNScalar
		s.SetInt(k)
		_, j := pointOf(&s)
		if j.Y.IsOdd() {
			odd = btcec.NewPublicKey(&j.X, &j.Y).SerializeCompressed()
		}
	}
	descs := []string{
		"tr(" + key(recs[0]) + ",sortedmulti_a(2," + key(recs[1]) + "," + key(recs[2]) + "))",
		"tr(" + hex.EncodeToString(odd) + ",sortedmulti_a(2," + key(recs[1]) + "," + key(recs[2]) + "))",
	}
	for n, s := range descs {
		d, err := ParseDescriptor(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]uint32, 200)
		for j := range idx {
			idx[j] = uint32(j*5 + 3)
		}
		for _, change := range []bool{false, true} {
			got, err := d.DeriveMany(change, idx)
			if err != nil {
				t.Fatal(err)
			}
			oddInternal, oddOutput := 0, 0
			for j, index := range idx {
				want, err := d.Derive(change, index)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got[j], want) {
					t.Fatalf("descriptor %d change=%v index %d: DeriveMany and Derive differ:\n%+v\n%+v", n, change, index, got[j].Taproot, want.Taproot)
				}
				tap := got[j].Taproot
				if tap.InternalKey.PubKey[0] == 0x03 {
					oddInternal++
				}
				ik, err := btcec.ParsePubKey(tap.InternalKey.PubKey)
				if err != nil {
					t.Fatal(err)
				}
				q := txscript.ComputeTaprootOutputKey(ik, tap.MerkleRoot)
				if !bytes.Equal(schnorr.SerializePubKey(q), tap.OutputKey) {
					t.Fatalf("descriptor %d index %d: output key %x, txscript says %x", n, index, tap.OutputKey, schnorr.SerializePubKey(q))
				}
				parity := q.SerializeCompressed()[0] & 1
				oddOutput += int(parity)
				for li, l := range tap.Leaves {
					if l.ControlBlock[0]&1 != parity {
						t.Fatalf("descriptor %d index %d leaf %d: control block parity %d, output key's %d", n, index, li, l.ControlBlock[0]&1, parity)
					}
				}
			}
			if n == 0 && (oddInternal < 50 || oddInternal > 150) {
				t.Errorf("change=%v: %d of %d internal keys with odd y; the lift is barely tested", change, oddInternal, len(idx))
			}
			if n == 1 && oddInternal != len(idx) {
				t.Errorf("plain internal key: %d of %d odd", oddInternal, len(idx))
			}
			if oddOutput < 50 || oddOutput > 150 {
				t.Errorf("descriptor %d change=%v: %d of %d output keys odd", n, change, oddOutput, len(idx))
			}
			spks, err := d.DeriveScriptPubKeys(change, idx[0], 300)
			if err != nil {
				t.Fatal(err)
			}
			for j, spk := range spks {
				want, err := d.Derive(change, idx[0]+uint32(j))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(spk, want.ScriptPubKey) {
					t.Fatalf("descriptor %d change=%v index %d: DeriveScriptPubKeys %x, Derive %x", n, change, idx[0]+uint32(j), spk, want.ScriptPubKey)
				}
			}
		}
	}
}
