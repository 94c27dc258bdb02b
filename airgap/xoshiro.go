package airgap

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// xoshiro256 is the xoshiro256** 1.0 generator of Blackman and Vigna, seeded
// as the BC-UR reference does: the state is the SHA-256 of a seed read as
// four big-endian 64-bit words.
type xoshiro256 struct{ s [4]uint64 }

func newXoshiro(seed []byte) *xoshiro256 {
	d := sha256.Sum256(seed)
	var x xoshiro256
	for i := range x.s {
		x.s[i] = binary.BigEndian.Uint64(d[8*i:])
	}
	return &x
}

func (x *xoshiro256) next() uint64 {
	s := &x.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

// nextDouble returns next()/2^64 rounded as the C++ reference does
// ((double)next() / ((double)UINT64_MAX + 1)).
func (x *xoshiro256) nextDouble() float64 {
	return float64(x.next()) / 18446744073709551616.0
}

// nextInt returns an integer in [low, high] (the reference formula).
func (x *xoshiro256) nextInt(low, high uint64) uint64 {
	return uint64(x.nextDouble()*float64(high-low+1)) + low
}

func (x *xoshiro256) nextByte() byte { return byte(x.nextInt(0, 255)) }

func (x *xoshiro256) nextData(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = x.nextByte()
	}
	return out
}

// randomSampler is Vose's alias method exactly as in the reference
// random-sampler.cpp (including its index order and float arithmetic), so
// that degree choices agree bit for bit with other implementations.
type randomSampler struct {
	probs   []float64
	aliases []int
}

func newRandomSampler(weights []float64) *randomSampler {
	n := len(weights)
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	p := make([]float64, n)
	for i, w := range weights {
		p[i] = w * float64(n) / sum
	}
	small := make([]int, 0, n)
	large := make([]int, 0, n)
	for i := n - 1; i >= 0; i-- {
		if p[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	probs := make([]float64, n)
	aliases := make([]int, n)
	for len(small) > 0 && len(large) > 0 {
		a := small[len(small)-1]
		small = small[:len(small)-1]
		g := large[len(large)-1]
		large = large[:len(large)-1]
		probs[a] = p[a]
		aliases[a] = g
		p[g] += p[a] - 1
		if p[g] < 1 {
			small = append(small, g)
		} else {
			large = append(large, g)
		}
	}
	for _, i := range large {
		probs[i] = 1
	}
	for _, i := range small {
		probs[i] = 1
	}
	return &randomSampler{probs: probs, aliases: aliases}
}

func (r *randomSampler) next(x *xoshiro256) int {
	r1 := x.nextDouble()
	r2 := x.nextDouble()
	n := len(r.probs)
	i := int(float64(n) * r1)
	if i >= n { // nextDouble can round to 1.0; the reference would overrun
		i = n - 1
	}
	if r2 < r.probs[i] {
		return i
	}
	return r.aliases[i]
}

// shufflePrefix returns the first k items of the reference Fisher-Yates
// variant (repeatedly remove remaining[nextInt(0, len-1)]) applied to
// 0..n-1. Only k draws are made; a Fenwick tree finds the j-th remaining
// item in O(log n), so a full shuffle of a large sequence stays cheap.
func shufflePrefix(n, k int, x *xoshiro256) []int {
	if k > n {
		k = n
	}
	out := make([]int, 0, k)
	if n <= 64 {
		remaining := make([]int, n)
		for i := range remaining {
			remaining[i] = i
		}
		for len(out) < k {
			j := int(x.nextInt(0, uint64(len(remaining)-1)))
			if j >= len(remaining) {
				j = len(remaining) - 1
			}
			out = append(out, remaining[j])
			remaining = append(remaining[:j], remaining[j+1:]...)
		}
		return out
	}
	// Fenwick tree of presence counts, 1-based.
	tree := make([]int32, n+1)
	for i := 1; i <= n; i++ {
		tree[i]++
		if p := i + i&-i; p <= n {
			tree[p] += tree[i]
		}
	}
	logN := bits.Len(uint(n))
	left := n
	for len(out) < k {
		j := int(x.nextInt(0, uint64(left-1)))
		if j >= left {
			j = left - 1
		}
		// Find the smallest position whose prefix count is j+1.
		pos, rem := 0, int32(j+1)
		for step := 1 << (logN - 1); step > 0; step >>= 1 {
			if np := pos + step; np <= n && tree[np] < rem {
				pos = np
				rem -= tree[np]
			}
		}
		item := pos // pos+1 is 1-based, so the 0-based item is pos
		out = append(out, item)
		for i := pos + 1; i <= n; i += i & -i {
			tree[i]--
		}
		left--
	}
	return out
}
