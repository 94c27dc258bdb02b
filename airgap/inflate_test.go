package airgap

import (
	"errors"
	"fmt"
)

// The tables of RFC 1951 section 3.2.5 and 3.2.7.
var (
	deflateLengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	deflateLengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	deflateDistBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	deflateDistExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// Order of the code length code lengths in a dynamic block header.
	deflateCLOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// inflateWindow is a test-only RFC 1951 inflater that, like zlib with
// wbits=10, refuses back-references further than window bytes. It checks
// the encoder's bit stream independently of compress/flate (which accepts
// any distance up to 32 KiB), refuses incomplete Huffman codes where
// zlib's inflate_table does (a code-length code must be complete; a
// literal/length or distance code may be incomplete only when it is a
// single one-bit code, or empty) and reports the longest distance seen.
func inflateWindow(src []byte, window int) (out []byte, maxDist int, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("inflate: %v", r)
		}
	}()
	var bitBuf uint64
	var nBits uint
	pos := 0
	need := func(n uint) int {
		for nBits < n {
			if pos >= len(src) {
				panic("unexpected end of stream")
			}
			bitBuf |= uint64(src[pos]) << nBits
			pos++
			nBits += 8
		}
		v := int(bitBuf & (1<<n - 1))
		bitBuf >>= n
		nBits -= n
		return v
	}
	type huff struct {
		count  [16]int
		symbol []int
	}
	build := func(lens []uint8, codeLengths bool) *huff {
		h := &huff{}
		for _, l := range lens {
			h.count[l]++
		}
		h.count[0] = 0
		left := 1
		for l := 1; l < 16; l++ {
			left = left<<1 - h.count[l]
			if left < 0 {
				panic("over-subscribed code")
			}
		}
		longest := 0
		for l := 1; l < 16; l++ {
			if h.count[l] != 0 {
				longest = l
			}
		}
		if longest == 0 {
			return h // no symbols: any use of the code fails
		}
		if left != 0 && (codeLengths || longest != 1) {
			panic("incomplete code")
		}
		for l := 1; l < 16; l++ {
			for s, sl := range lens {
				if int(sl) == l {
					h.symbol = append(h.symbol, s)
				}
			}
		}
		return h
	}
	decode := func(h *huff) int {
		code, first, index := 0, 0, 0
		for l := 1; l < 16; l++ {
			code |= need(1)
			c := h.count[l]
			if code-c < first {
				return h.symbol[index+(code-first)]
			}
			index += c
			first = (first + c) << 1
			code <<= 1
		}
		panic("invalid code")
	}
	fixedLL := make([]uint8, 288)
	for i := range fixedLL {
		switch {
		case i < 144:
			fixedLL[i] = 8
		case i < 256:
			fixedLL[i] = 9
		case i < 280:
			fixedLL[i] = 7
		default:
			fixedLL[i] = 8
		}
	}
	fixedD := make([]uint8, 32)
	for i := range fixedD {
		fixedD[i] = 5
	}
	for {
		final := need(1)
		btype := need(2)
		var ll, dd *huff
		switch btype {
		case 0:
			bitBuf, nBits = 0, 0 // skip to the byte boundary
			if pos+4 > len(src) {
				return nil, 0, errors.New("short stored header")
			}
			n := int(src[pos]) | int(src[pos+1])<<8
			if nn := int(src[pos+2]) | int(src[pos+3])<<8; nn != ^n&0xffff {
				return nil, 0, errors.New("bad stored length")
			}
			pos += 4
			out = append(out, src[pos:pos+n]...)
			pos += n
		case 1:
			ll, dd = build(fixedLL, false), build(fixedD, false)
		case 2:
			nLit, nDist, nCL := need(5)+257, need(5)+1, need(4)+4
			clLens := make([]uint8, 19)
			for _, s := range deflateCLOrder[:nCL] {
				clLens[s] = uint8(need(3))
			}
			cl := build(clLens, true)
			lens := make([]uint8, 0, nLit+nDist)
			for len(lens) < nLit+nDist {
				switch sym := decode(cl); {
				case sym < 16:
					lens = append(lens, uint8(sym))
				case sym == 16:
					prev := lens[len(lens)-1]
					for r := 3 + need(2); r > 0; r-- {
						lens = append(lens, prev)
					}
				case sym == 17:
					lens = append(lens, make([]uint8, 3+need(3))...)
				default:
					lens = append(lens, make([]uint8, 11+need(7))...)
				}
			}
			if len(lens) != nLit+nDist {
				return nil, 0, errors.New("code lengths overrun")
			}
			ll, dd = build(lens[:nLit], false), build(lens[nLit:], false)
		default:
			return nil, 0, errors.New("reserved block type")
		}
		for ll != nil {
			sym := decode(ll)
			if sym < 256 {
				out = append(out, byte(sym))
				continue
			}
			if sym == 256 {
				break
			}
			lc := sym - 257
			length := int(deflateLengthBase[lc]) + need(uint(deflateLengthExtra[lc]))
			dc := decode(dd)
			if dc >= 30 {
				return nil, 0, errors.New("invalid distance code")
			}
			dist := int(deflateDistBase[dc]) + need(uint(deflateDistExtra[dc]))
			if dist > window || dist > len(out) {
				return nil, 0, fmt.Errorf("distance %d too far back (window %d)", dist, window)
			}
			maxDist = max(maxDist, dist)
			for range length {
				out = append(out, out[len(out)-dist])
			}
		}
		if final == 1 {
			return out, maxDist, nil
		}
	}
}
