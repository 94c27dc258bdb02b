package wallet

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Many child public keys at once, the work of a gap scan: each child is
// IL·G + K for a public scalar IL (from the public HMAC of BIP-32) and the
// parent point K. A fixed-base comb adds one table point per digit of IL
// (btcec's ScalarBaseMultNonConst: 32 of 8 bits; here 24 of 11 bits, with
// a larger table), and the points of a whole batch are added in affine
// coordinates, each round's divisions sharing one field inversion
// (Montgomery's trick). An affine addition then costs about five
// multiplications and a squaring against eleven for a Jacobian one, and
// the results need no conversion to affine. Nothing here is secret: it is not
// constant time, and it must not be used for private keys.

// affinePoint is a finite point in affine coordinates, both normalized.
type affinePoint struct{ x, y btcec.FieldVal }

// baseWindow is the width in bits of a scalar's digits: baseRows digits,
// one table point added per digit.
const (
	baseWindow = 11
	baseRows   = (256 + baseWindow - 1) / baseWindow
)

// baseTable[i][v] is v·2^(baseWindow·i)·G for v ≥ 1: digit i of a scalar,
// counted from its least significant bits, selects a point of row i. It
// is about 3.9 MB, built on first use, its rows on all cores (some 35 ms
// on two); only the coordinator's batch derivations use it.
var baseTable = sync.OnceValue(func() *[baseRows][1 << baseWindow]affinePoint {
	t := new([baseRows][1 << baseWindow]affinePoint)
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), baseRows) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jac := make([]btcec.JacobianPoint, 1<<baseWindow)
			scratch := make([]btcec.FieldVal, 1<<baseWindow)
			for i := int(next.Add(1) - 1); i < baseRows; i = int(next.Add(1) - 1) {
				buildRow(i, jac, scratch, &t[i])
			}
		}()
	}
	wg.Wait()
	return t
})

// buildRow computes row i of baseTable into row, with jac and scratch as
// room for a row of Jacobian points and field values.
func buildRow(i int, jac []btcec.JacobianPoint, scratch []btcec.FieldVal, row *[1 << baseWindow]affinePoint) {
	var b [32]byte // 2^(baseWindow·i), big-endian
	bit := baseWindow * i
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
	var run btcec.FieldVal
	run.SetInt(1)
	for k := range jac {
		scratch[k].Set(&run)
		run.Mul(&jac[k].Z)
	}
	var inv btcec.FieldVal
	inv.Set(&run).Inverse()
	for k := len(jac) - 1; k >= 0; k-- {
		var zi, z2, z3 btcec.FieldVal
		zi.Mul2(&inv, &scratch[k])
		inv.Mul(&jac[k].Z)
		z2.SquareVal(&zi)
		z3.Mul2(&z2, &zi)
		row[k].x.Mul2(&jac[k].X, &z2).Normalize()
		row[k].y.Mul2(&jac[k].Y, &z3).Normalize()
	}
}

// digits writes the baseWindow-bit digits of k, least significant first.
func digits(k *btcec.ModNScalar, out *[baseRows]uint16) {
	var b [32]byte
	k.PutBytes(&b)
	var limbs [5]uint64 // little-endian, one spare for the top digit
	for i := 0; i < 4; i++ {
		limbs[i] = binary.BigEndian.Uint64(b[24-8*i:])
	}
	for i := range out {
		bit := i * baseWindow
		w, s := bit/64, uint(bit%64)
		v := limbs[w] >> s
		if s+baseWindow > 64 {
			v |= limbs[w+1] << (64 - s)
		}
		out[i] = uint16(v & (1<<baseWindow - 1))
	}
}

// baseMulAdd sets out[k] to ks[k]·G + *ps[k] for every k where that sum is
// reached without two points of equal x coordinate meeting on the way (a
// doubling, or a sum at infinity). Where they do, it sets special[k] and
// leaves out[k] meaningless: the caller computes that one the general way.
// For random scalars that happens with negligible probability; it is there
// for correctness, not speed.
func baseMulAdd(ks []btcec.ModNScalar, ps []*affinePoint, out []affinePoint, special []bool) {
	tbl := baseTable()
	n := len(ks)
	kb := make([][baseRows]uint16, n)
	inf := make([]bool, n)
	for k := range ks {
		digits(&ks[k], &kb[k])
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
	for i := 0; i < baseRows; i++ {
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
