package airgap

import (
	"container/heap"
	"math/bits"
)

// This file is a small raw-DEFLATE (RFC 1951) compressor for BBQr's "Z"
// encoding. BBQr receivers inflate with zlib wbits=10, a 1 KiB window, but
// compress/flate compresses with a 32 KiB window and cannot be told to
// stay within 1 KiB, so its output could reference data a BBQr receiver no
// longer holds. This encoder runs its own LZ77 with back-references capped
// at deflateMaxDistance and Huffman-codes each block with whichever of
// dynamic, fixed or stored blocks is smallest. Output is decoded by any
// inflater (tests round-trip it through compress/flate and check every
// distance).

// deflateMaxDistance is the longest back-reference emitted: 1024-262, the
// limit zlib itself observes when compressing with wbits=10 (MAX_DIST =
// window size - MIN_LOOKAHEAD). Staying within what zlib produces keeps us
// inside what embedded wbits=10 inflaters have been exercised with.
const deflateMaxDistance = 1<<10 - 262

const (
	deflateMinMatch   = 3
	deflateMaxMatch   = 258
	deflateHashBits   = 15
	deflateBlockToken = 1 << 14 // tokens per block
	deflateMaxChain   = 1024
)

var (
	deflateLengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	deflateLengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	deflateDistBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	deflateDistExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// Order of the code length code lengths in a dynamic block header.
	deflateCLOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// lz77Token is a literal (dist == 0, length = byte) or a match.
type lz77Token struct {
	length uint16
	dist   uint16
}

func lengthCode(l int) int {
	for c := len(deflateLengthBase) - 1; c >= 0; c-- {
		if l >= int(deflateLengthBase[c]) {
			return c
		}
	}
	return 0
}

func distCode(d int) int {
	for c := len(deflateDistBase) - 1; c >= 0; c-- {
		if d >= int(deflateDistBase[c]) {
			return c
		}
	}
	return 0
}

// lz77 tokenises data with hash chains over a deflateMaxDistance window
// and one step of lazy matching.
func lz77(data []byte) []lz77Token {
	n := len(data)
	tokens := make([]lz77Token, 0, n/2+16)
	var head [1 << deflateHashBits]int32 // position+1 of the latest occurrence
	var prev [1024]int32                 // ring: position+1 of the previous occurrence
	hash := func(i int) int {
		return (int(data[i])<<10 ^ int(data[i+1])<<5 ^ int(data[i+2])) & (1<<deflateHashBits - 1)
	}
	inserted := 0 // positions < inserted are in the chains
	insertUpTo := func(end int) {
		for ; inserted < end && inserted+deflateMinMatch <= n; inserted++ {
			h := hash(inserted)
			prev[inserted&1023] = head[h]
			head[h] = int32(inserted + 1)
		}
		if inserted < end {
			inserted = end
		}
	}
	find := func(i int) (int, int) {
		if i+deflateMinMatch > n {
			return 0, 0
		}
		limit := min(deflateMaxMatch, n-i)
		bestLen, bestDist := 0, 0
		c := int(head[hash(i)]) - 1
		for chain := 0; c >= 0 && i-c <= deflateMaxDistance && chain < deflateMaxChain; chain++ {
			if data[c+bestLen] == data[i+bestLen] || bestLen == 0 {
				l := 0
				for l < limit && data[c+l] == data[i+l] {
					l++
				}
				if l > bestLen {
					bestLen, bestDist = l, i-c
					if l == limit {
						break
					}
				}
			}
			next := int(prev[c&1023]) - 1
			if next >= c {
				break
			}
			c = next
		}
		if bestLen < deflateMinMatch {
			return 0, 0
		}
		return bestLen, bestDist
	}
	for i := 0; i < n; {
		insertUpTo(i)
		l, d := find(i)
		if l >= deflateMinMatch && l < deflateMaxMatch && i+1 < n {
			insertUpTo(i + 1)
			if l2, _ := find(i + 1); l2 > l {
				tokens = append(tokens, lz77Token{length: uint16(data[i])})
				i++
				continue
			}
		}
		if l >= deflateMinMatch {
			tokens = append(tokens, lz77Token{length: uint16(l), dist: uint16(d)})
			i += l
		} else {
			tokens = append(tokens, lz77Token{length: uint16(data[i])})
			i++
		}
	}
	return tokens
}

// bitWriter writes DEFLATE's LSB-first bit stream.
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) writeBits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitWriter) align() {
	if w.nbits > 0 {
		w.writeBits(0, 8-w.nbits)
	}
}

// huffCode is a canonical Huffman code: lengths and bit-reversed codes.
type huffCode struct {
	lens  []uint8
	codes []uint16
}

func newHuffCode(lens []uint8) *huffCode {
	var blCount [16]int
	for _, l := range lens {
		if l > 0 {
			blCount[l]++
		}
	}
	var next [16]int
	code := 0
	for b := 1; b < 16; b++ {
		code = (code + blCount[b-1]) << 1
		next[b] = code
	}
	h := &huffCode{lens: lens, codes: make([]uint16, len(lens))}
	for s, l := range lens {
		if l > 0 {
			h.codes[s] = uint16(bits.Reverse16(uint16(next[l])) >> (16 - l))
			next[l]++
		}
	}
	return h
}

func (h *huffCode) write(w *bitWriter, sym int) { w.writeBits(uint32(h.codes[sym]), uint(h.lens[sym])) }

type huffNode struct {
	freq        int
	sym         int // -1 for internal nodes
	left, right *huffNode
}

type huffHeap []*huffNode

func (h huffHeap) Len() int { return len(h) }
func (h huffHeap) Less(i, j int) bool {
	if h[i].freq != h[j].freq {
		return h[i].freq < h[j].freq
	}
	return h[i].sym < h[j].sym
}
func (h huffHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *huffHeap) Push(x any)   { *h = append(*h, x.(*huffNode)) }
func (h *huffHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// huffLengths returns code lengths of at most limit bits for freq. At
// least two symbols always get a code (padding with the lowest unused
// ones), so every code is complete, as strict inflaters require.
func huffLengths(freq []int, limit int) []uint8 {
	f := make([]int, len(freq))
	copy(f, freq)
	used := 0
	for _, x := range f {
		if x > 0 {
			used++
		}
	}
	for s := 0; used < 2 && s < len(f); s++ {
		if f[s] == 0 {
			f[s] = 1
			used++
		}
	}
	for {
		lens := make([]uint8, len(f))
		h := make(huffHeap, 0, used)
		for s, x := range f {
			if x > 0 {
				h = append(h, &huffNode{freq: x, sym: s})
			}
		}
		heap.Init(&h)
		for h.Len() > 1 {
			a := heap.Pop(&h).(*huffNode)
			b := heap.Pop(&h).(*huffNode)
			heap.Push(&h, &huffNode{freq: a.freq + b.freq, sym: -1 - len(f), left: a, right: b})
		}
		maxLen := 0
		var walk func(n *huffNode, depth int)
		walk = func(n *huffNode, depth int) {
			if n.left == nil {
				lens[n.sym] = uint8(depth)
				maxLen = max(maxLen, depth)
				return
			}
			walk(n.left, depth+1)
			walk(n.right, depth+1)
		}
		walk(h[0], 0)
		if maxLen <= limit {
			return lens
		}
		// Flatten the distribution and retry; halving converges to a
		// balanced tree of depth ceil(log2(used)), within every limit here.
		for s, x := range f {
			if x > 0 {
				f[s] = (x + 1) / 2
			}
		}
	}
}

var fixedLitLen, fixedDist = func() (*huffCode, *huffCode) {
	ll := make([]uint8, 288)
	for i := range ll {
		switch {
		case i < 144:
			ll[i] = 8
		case i < 256:
			ll[i] = 9
		case i < 280:
			ll[i] = 7
		default:
			ll[i] = 8
		}
	}
	d := make([]uint8, 32)
	for i := range d {
		d[i] = 5
	}
	return newHuffCode(ll), newHuffCode(d)
}()

// clSymbol is one code-length-alphabet symbol with its extra bits.
type clSymbol struct {
	sym   uint8
	extra uint8
}

// rleCodeLengths run-length encodes a code length sequence with symbols
// 16 (repeat previous 3-6), 17 (zeros 3-10) and 18 (zeros 11-138).
func rleCodeLengths(lens []uint8) []clSymbol {
	var out []clSymbol
	for i := 0; i < len(lens); {
		l := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				out = append(out, clSymbol{18, uint8(r - 11)})
				run -= r
			}
			if run >= 3 {
				out = append(out, clSymbol{17, uint8(run - 3)})
				run = 0
			}
			for ; run > 0; run-- {
				out = append(out, clSymbol{0, 0})
			}
			continue
		}
		out = append(out, clSymbol{l, 0})
		run--
		for run >= 3 {
			r := min(run, 6)
			out = append(out, clSymbol{16, uint8(r - 3)})
			run -= r
		}
		for ; run > 0; run-- {
			out = append(out, clSymbol{l, 0})
		}
	}
	return out
}

var clExtraBits = [19]uint{16: 2, 17: 3, 18: 7}

// deflateRaw compresses data to a raw DEFLATE stream (no zlib header)
// whose back-references stay within deflateMaxDistance bytes.
func deflateRaw(data []byte) []byte {
	tokens := lz77(data)
	w := &bitWriter{out: make([]byte, 0, len(data)/2+64)}
	pos := 0 // input offset of the current block
	for start := 0; start < len(tokens) || start == 0; start += deflateBlockToken {
		end := min(start+deflateBlockToken, len(tokens))
		final := end == len(tokens)
		block := tokens[start:end]
		n := 0
		for _, t := range block {
			if t.dist == 0 {
				n++
			} else {
				n += int(t.length)
			}
		}
		writeBlock(w, block, data[pos:pos+n], final)
		pos += n
		if final {
			break
		}
	}
	w.align()
	return w.out
}

func writeBlock(w *bitWriter, block []lz77Token, raw []byte, final bool) {
	llFreq := make([]int, 286)
	dFreq := make([]int, 30)
	extraBits := 0
	for _, t := range block {
		if t.dist == 0 {
			llFreq[t.length]++
			continue
		}
		lc, dc := lengthCode(int(t.length)), distCode(int(t.dist))
		llFreq[257+lc]++
		dFreq[dc]++
		extraBits += int(deflateLengthExtra[lc]) + int(deflateDistExtra[dc])
	}
	llFreq[256] = 1

	llLens := huffLengths(llFreq, 15)
	dLens := huffLengths(dFreq, 15)
	nLit := 286
	for nLit > 257 && llLens[nLit-1] == 0 {
		nLit--
	}
	nDist := 30
	for nDist > 1 && dLens[nDist-1] == 0 {
		nDist--
	}
	seq := append(append([]uint8{}, llLens[:nLit]...), dLens[:nDist]...)
	rle := rleCodeLengths(seq)
	clFreq := make([]int, 19)
	for _, s := range rle {
		clFreq[s.sym]++
	}
	clLens := huffLengths(clFreq, 7)
	nCL := 19
	for nCL > 4 && clLens[deflateCLOrder[nCL-1]] == 0 {
		nCL--
	}

	cost := func(ll, d []uint8) int {
		c := extraBits
		for s, f := range llFreq {
			c += f * int(ll[s])
		}
		for s, f := range dFreq {
			c += f * int(d[s])
		}
		return c
	}
	dynBits := 3 + 5 + 5 + 4 + 3*nCL + cost(llLens, dLens)
	for _, s := range rle {
		dynBits += int(clLens[s.sym]) + int(clExtraBits[s.sym])
	}
	fixedBits := 3 + cost(fixedLitLen.lens, fixedDist.lens)
	storedBits := (len(raw)/65535 + 1) * (3 + 7 + 32)
	storedBits += 8 * len(raw)

	bfinal := uint32(0)
	if final {
		bfinal = 1
	}
	switch {
	case storedBits < dynBits && storedBits < fixedBits:
		for first := true; first || len(raw) > 0; first = false {
			chunk := raw[:min(len(raw), 65535)]
			raw = raw[len(chunk):]
			last := uint32(0)
			if len(raw) == 0 {
				last = bfinal
			}
			w.writeBits(last, 1)
			w.writeBits(0, 2)
			w.align()
			l := uint32(len(chunk))
			w.writeBits(l|(^l&0xffff)<<16, 32)
			for _, b := range chunk {
				w.writeBits(uint32(b), 8)
			}
		}
	case fixedBits <= dynBits:
		w.writeBits(bfinal, 1)
		w.writeBits(1, 2)
		writeTokens(w, block, fixedLitLen, fixedDist)
	default:
		w.writeBits(bfinal, 1)
		w.writeBits(2, 2)
		w.writeBits(uint32(nLit-257), 5)
		w.writeBits(uint32(nDist-1), 5)
		w.writeBits(uint32(nCL-4), 4)
		for _, s := range deflateCLOrder[:nCL] {
			w.writeBits(uint32(clLens[s]), 3)
		}
		cl := newHuffCode(clLens)
		for _, s := range rle {
			cl.write(w, int(s.sym))
			if eb := clExtraBits[s.sym]; eb > 0 {
				w.writeBits(uint32(s.extra), eb)
			}
		}
		writeTokens(w, block, newHuffCode(llLens), newHuffCode(dLens))
	}
}

func writeTokens(w *bitWriter, block []lz77Token, ll, d *huffCode) {
	for _, t := range block {
		if t.dist == 0 {
			ll.write(w, int(t.length))
			continue
		}
		lc, dc := lengthCode(int(t.length)), distCode(int(t.dist))
		ll.write(w, 257+lc)
		if eb := deflateLengthExtra[lc]; eb > 0 {
			w.writeBits(uint32(int(t.length)-int(deflateLengthBase[lc])), uint(eb))
		}
		d.write(w, dc)
		if eb := deflateDistExtra[dc]; eb > 0 {
			w.writeBits(uint32(int(t.dist)-int(deflateDistBase[dc])), uint(eb))
		}
	}
	ll.write(w, 256)
}
