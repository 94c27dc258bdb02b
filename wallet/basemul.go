package wallet

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Many child public keys at once, the work of a gap scan or of checking a
// large PSBT's inputs: each child is IL·G + K for a public scalar IL
// (from the public HMAC of BIP-32) and the parent point K; a taproot
// output key is t·G + P the same way, for its public tweak t. A fixed-base comb adds one table point per digit of IL
// (as btcec's ScalarBaseMultNonConst does: 32 of 8 bits; or 24 of 11
// bits with a larger table, for large batches), and the points of a
// whole batch are added in affine coordinates, each round's divisions
// sharing one field inversion (Montgomery's trick). An affine addition
// then costs about five multiplications and a squaring against eleven
// for a Jacobian one, and the results need no conversion to affine.
// Nothing here is secret: it is not constant time, and it must not be
// used for private keys.

// affinePoint is a finite point in affine coordinates, both normalized.
type affinePoint struct{ x, y btcec.FieldVal }

// combTable is a fixed-base comb: rows[i][v] is v·2^(w·i)·G for v ≥ 1,
// so that digit i of a scalar, counted from its least significant w
// bits, selects a point of row i. Entry 0 (the point at infinity) is
// never looked up.
type combTable struct {
	w    uint
	rows [][]affinePoint
}

// Two tables, each built on first use, its rows on all cores. The small
// one (8-bit digits: 32 rows of 256 points, 0.6 MB) costs a few
// milliseconds, so that a few thousand keys (the signer's inputs) gain
// by it; the large one (11-bit digits: 24 rows of 2,048 points, 3.9 MB,
// some 35 ms on two cores) adds a quarter fewer points per key, which
// pays off only for a gap scan of tens of thousands. Nothing here is
// secret.
var (
	smallComb = sync.OnceValue(func() *combTable { return newCombTable(8) })
	largeComb = sync.OnceValue(func() *combTable { return newCombTable(11) })
)

// largeCombMin is how many keys one call must derive for the large table
// to pay for its construction.
const largeCombMin = 12_000

// combFor returns the table for a one-off batch of n keys (the signer's).
// A gap scan, which derives many batches in one process, uses the large
// table whatever their size.
func combFor(n int) *combTable {
	if n >= largeCombMin {
		return largeComb()
	}
	return smallComb()
}

func newCombTable(w uint) *combTable {
	nrows := (256 + int(w) - 1) / int(w)
	t := &combTable{w: w, rows: make([][]affinePoint, nrows)}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nrows) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jac := make([]btcec.JacobianPoint, 1<<w)
			scratch := make([]btcec.FieldVal, 1<<w)
			for i := int(next.Add(1) - 1); i < nrows; i = int(next.Add(1) - 1) {
				t.rows[i] = make([]affinePoint, 1<<w)
				buildRow(w*uint(i), jac, scratch, t.rows[i])
			}
		}()
	}
	wg.Wait()
	return t
}

// buildRow computes v·2^bit·G for every v < len(row) into row, with jac
// and scratch as room for a row of Jacobian points and field values.
func buildRow(bit uint, jac []btcec.JacobianPoint, scratch []btcec.FieldVal, row []affinePoint) {
	var b [32]byte // 2^bit, big-endian
	b[31-bit/8] = 1 << (bit % 8)
	var s btcec.ModNScalar
	s.SetBytes(&b)
	var base btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&s, &base)
	// Entry 0 is the point at infinity, never looked up: give it Z = 1
	// so that the batch inversion below stays defined.
	jac[0] = btcec.JacobianPoint{}
	jac[0].Z.SetInt(1)
	jac[1] = base
	for v := 2; v < len(jac); v++ {
		btcec.AddNonConst(&jac[v-1], &base, &jac[v])
	}
	batchAffine(jac, scratch, func(k int, x, y *btcec.FieldVal) {
		row[k].x.Set(x)
		row[k].y.Set(y)
	})
}

// digits writes the w-bit digits of k, least significant first, one per
// element of out (ceil(256/w) of them).
func digits(k *btcec.ModNScalar, w uint, out []uint16) {
	var b [32]byte
	k.PutBytes(&b)
	var limbs [5]uint64 // little-endian, one spare for the top digit
	for i := 0; i < 4; i++ {
		limbs[i] = binary.BigEndian.Uint64(b[24-8*i:])
	}
	for i := range out {
		bit := uint(i) * w
		l, s := bit/64, bit%64
		v := limbs[l] >> s
		if s+w > 64 {
			v |= limbs[l+1] << (64 - s)
		}
		out[i] = uint16(v & (1<<w - 1))
	}
}

// baseMulAdd sets out[k] to ks[k]·G + *ps[k], by the comb tbl, for every
// k where that sum is reached without two points of equal x coordinate
// meeting on the way (a doubling, or a sum at infinity). Where they do,
// it sets special[k] and leaves out[k] meaningless: the caller computes
// that one the general way.
// For random scalars that happens with negligible probability; it is there
// for correctness, not speed.
func baseMulAdd(tbl *combTable, ks []btcec.ModNScalar, ps []*affinePoint, out []affinePoint, special []bool) {
	n := len(ks)
	nrows := len(tbl.rows)
	kb := make([]uint16, n*nrows) // the digits of ks[k] at kb[k*nrows:]
	inf := make([]bool, n)
	for k := range ks {
		digits(&ks[k], tbl.w, kb[k*nrows:(k+1)*nrows])
		inf[k] = true
		special[k] = false
	}
	d := make([]btcec.FieldVal, n)   // x2 - x1 of each pending addition
	pre := make([]btcec.FieldVal, n) // d[0]·…·d[j]
	idx := make([]int, 0, n)
	addAll := func(get func(k int) *affinePoint) {
		idx = idx[:0]
		for k := 0; k < n; k++ {
			if special[k] {
				continue
			}
			q := get(k)
			if q == nil {
				continue
			}
			if inf[k] {
				out[k] = *q
				inf[k] = false
				continue
			}
			dx := &d[len(idx)]
			dx.NegateVal(&out[k].x, 1).Add(&q.x).Normalize()
			if dx.IsZero() {
				special[k] = true
				continue
			}
			idx = append(idx, k)
		}
		m := len(idx)
		if m == 0 {
			return
		}
		pre[0].Set(&d[0])
		for j := 1; j < m; j++ {
			pre[j].Mul2(&pre[j-1], &d[j])
		}
		var inv btcec.FieldVal
		inv.Set(&pre[m-1]).Inverse()
		for j := m - 1; j >= 0; j-- {
			var dinv btcec.FieldVal
			if j > 0 {
				dinv.Mul2(&inv, &pre[j-1])
				inv.Mul(&d[j])
			} else {
				dinv.Set(&inv)
			}
			k := idx[j]
			p, q := &out[k], get(k)
			// λ = (y2 - y1)/(x2 - x1), x3 = λ² - x1 - x2,
			// y3 = λ(x1 - x3) - y1.
			var lam, x3, y3, t btcec.FieldVal
			lam.NegateVal(&p.y, 1).Add(&q.y).Mul(&dinv)
			x3.SquareVal(&lam)
			t.NegateVal(&p.x, 1)
			x3.Add(&t)
			t.NegateVal(&q.x, 1)
			x3.Add(&t).Normalize()
			t.NegateVal(&x3, 1).Add(&p.x)
			y3.Mul2(&lam, &t)
			t.NegateVal(&p.y, 1)
			y3.Add(&t).Normalize()
			p.x.Set(&x3)
			p.y.Set(&y3)
		}
	}
	for i, row := range tbl.rows {
		addAll(func(k int) *affinePoint {
			if v := kb[k*nrows+i]; v != 0 {
				return &row[v]
			}
			return nil
		})
	}
	addAll(func(k int) *affinePoint { return ps[k] })
	for k := range inf {
		if inf[k] { // ks[k] = 0 and no point added: cannot happen with ps set
			special[k] = true
		}
	}
}

// compress writes the 33-byte compressed encoding of p.
func (p *affinePoint) compress(out *[33]byte) {
	out[0] = 0x02
	if p.y.IsOdd() {
		out[0] = 0x03
	}
	p.x.PutBytesUnchecked(out[1:])
}
