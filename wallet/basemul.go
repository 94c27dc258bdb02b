package wallet

import (
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Many child public keys at once, the work of a gap scan: each child is
// IL·G + K for a public scalar IL (from the public HMAC of BIP-32) and the
// parent point K. A fixed-base comb adds one table point per byte of IL, as
// btcec's ScalarBaseMultNonConst does; here the points of a whole batch
// are added in affine coordinates, each round's divisions sharing one field
// inversion (Montgomery's trick). An affine addition then costs about five
// multiplications and a squaring against eleven for a Jacobian one, and the
// results need no conversion to affine. Nothing here is secret: it is not
// constant time, and it must not be used for private keys.

// affinePoint is a finite point in affine coordinates, both normalized.
type affinePoint struct{ x, y btcec.FieldVal }

// baseTable[i][v] is v·256^(31-i)·G for v ≥ 1: byte i of a big-endian
// scalar selects a point of row i. It is about 640 kB, built on first use
// (some 15 ms).
var baseTable = sync.OnceValue(func() *[32][256]affinePoint {
	jac := make([]btcec.JacobianPoint, 32*256)
	var one btcec.ModNScalar
	one.SetInt(1)
	var base btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&one, &base) // G
	for i := 31; i >= 0; i-- {
		row := jac[i*256 : (i+1)*256]
		row[1] = base
		for v := 2; v < 256; v++ {
			btcec.AddNonConst(&row[v-1], &base, &row[v])
		}
		btcec.AddNonConst(&row[255], &base, &base) // 256·base
	}
	// Row entry 0 is the point at infinity, never looked up: give it
	// Z = 1 so that the batch inversion below stays defined.
	for i := 0; i < 32; i++ {
		jac[i*256].X.SetInt(0)
		jac[i*256].Y.SetInt(0)
		jac[i*256].Z.SetInt(1)
	}
	scratch := make([]btcec.FieldVal, len(jac))
	var run btcec.FieldVal
	run.SetInt(1)
	for k := range jac {
		scratch[k].Set(&run)
		run.Mul(&jac[k].Z)
	}
	var inv btcec.FieldVal
	inv.Set(&run).Inverse()
	t := new([32][256]affinePoint)
	for k := len(jac) - 1; k >= 0; k-- {
		var zi, z2, z3 btcec.FieldVal
		zi.Mul2(&inv, &scratch[k])
		inv.Mul(&jac[k].Z)
		z2.SquareVal(&zi)
		z3.Mul2(&z2, &zi)
		p := &t[k/256][k%256]
		p.x.Mul2(&jac[k].X, &z2).Normalize()
		p.y.Mul2(&jac[k].Y, &z3).Normalize()
	}
	return t
})

// baseMulAdd sets out[k] to ks[k]·G + *ps[k] for every k where that sum is
// reached without two points of equal x coordinate meeting on the way (a
// doubling, or a sum at infinity). Where they do, it sets special[k] and
// leaves out[k] meaningless: the caller computes that one the general way.
// For random scalars that happens with negligible probability; it is there
// for correctness, not speed.
func baseMulAdd(ks []btcec.ModNScalar, ps []*affinePoint, out []affinePoint, special []bool) {
	tbl := baseTable()
	n := len(ks)
	kb := make([][32]byte, n)
	inf := make([]bool, n)
	for k := range ks {
		ks[k].PutBytes(&kb[k])
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
	for i := 0; i < 32; i++ {
		addAll(func(k int) *affinePoint {
			if v := kb[k][i]; v != 0 {
				return &tbl[i][v]
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
