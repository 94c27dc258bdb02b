package airgap

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// This file implements the Luby-transform fountain code of the BC-UR
// reference implementation (BlockchainCommons/bc-ur, fountain-*.cpp):
// the message is cut into seqLen equal fragments; parts 1..seqLen carry
// one fragment each and every later part XORs a pseudo-random subset
// whose size follows the 1/i "ideal soliton" weights.

// fountainPart is one multipart UR frame: CBOR
// [seqNum, seqLen, messageLen, checksum, data].
type fountainPart struct {
	seqNum     uint32
	seqLen     int
	messageLen int
	checksum   uint32
	data       []byte
}

func (p *fountainPart) cbor() []byte {
	b := make([]byte, 0, len(p.data)+32)
	b = appendCBORHead(b, cborArray, 5)
	b = appendCBORHead(b, cborUint, uint64(p.seqNum))
	b = appendCBORHead(b, cborUint, uint64(p.seqLen))
	b = appendCBORHead(b, cborUint, uint64(p.messageLen))
	b = appendCBORHead(b, cborUint, uint64(p.checksum))
	b = appendCBORHead(b, cborBytes, uint64(len(p.data)))
	return append(b, p.data...)
}

func (p *fountainPart) String() string {
	return fmt.Sprintf("seqNum:%d, seqLen:%d, messageLen:%d, checksum:%d, data:%x",
		p.seqNum, p.seqLen, p.messageLen, p.checksum, p.data)
}

// parseFountainPart decodes a part, checking seqLen and messageLen
// against MaxURSeqLen and MaxPayloadSize before the decoder allocates
// anything for them; data aliases b. See also validate.
func parseFountainPart(b []byte) (*fountainPart, error) {
	major, n, b, err := readCBORHead(b)
	if err != nil {
		return nil, err
	}
	if major != cborArray || n != 5 {
		return nil, formatErr("ur", "fountain part is not a 5-element array")
	}
	var p fountainPart
	var v uint64
	if v, b, err = readCBORUint(b, math.MaxUint32); err != nil {
		return nil, err
	}
	p.seqNum = uint32(v)
	if v, b, err = readCBORUint(b, math.MaxUint32); err != nil {
		return nil, err
	}
	if v == 0 || v > MaxURSeqLen {
		return nil, fmt.Errorf("ur sequence length %d: %w", v, ErrTooLarge)
	}
	p.seqLen = int(v)
	if v, b, err = readCBORUint(b, math.MaxUint32); err != nil {
		return nil, err
	}
	if v == 0 || v > MaxPayloadSize {
		return nil, fmt.Errorf("ur message length %d: %w", v, ErrTooLarge)
	}
	p.messageLen = int(v)
	if v, b, err = readCBORUint(b, math.MaxUint32); err != nil {
		return nil, err
	}
	p.checksum = uint32(v)
	if p.data, b, err = readCBORBytes(b); err != nil {
		return nil, err
	}
	if len(b) != 0 {
		return nil, formatErr("ur", "trailing bytes after fountain part")
	}
	return &p, nil
}

// validate checks what the reference encoder guarantees: a non-zero
// sequence number and seqLen fragments of len(data) bytes covering
// messageLen, the last one padded.
func (p *fountainPart) validate() error {
	if p.seqNum == 0 {
		return formatErr("ur", "sequence number 0")
	}
	fl := len(p.data)
	if fl == 0 || (p.messageLen+fl-1)/fl != p.seqLen {
		return formatErr("ur", "fragment length inconsistent with message length and sequence length")
	}
	return nil
}

// findNominalFragmentLength is the reference find_nominal_fragment_length:
// the smallest fragment count whose fragments fit in maxLen. Messages
// shorter than minLen get a single fragment (the reference asserts).
func findNominalFragmentLength(messageLen, minLen, maxLen int) int {
	maxCount := max(messageLen/minLen, 1)
	fragLen := messageLen
	for count := 1; count <= maxCount; count++ {
		fragLen = (messageLen + count - 1) / count
		if fragLen <= maxLen {
			break
		}
	}
	return fragLen
}

// partitionMessage cuts msg into fragments of fragLen, zero-padding the last.
func partitionMessage(msg []byte, fragLen int) [][]byte {
	n := (len(msg) + fragLen - 1) / fragLen
	frags := make([][]byte, n)
	for i := range frags {
		f := make([]byte, fragLen)
		copy(f, msg[i*fragLen:])
		frags[i] = f
	}
	return frags
}

// degreeSampler returns the alias sampler over weights 1/i, i = 1..seqLen.
func degreeSampler(seqLen int) *randomSampler {
	w := make([]float64, seqLen)
	for i := range w {
		w[i] = 1.0 / float64(i+1)
	}
	return newRandomSampler(w)
}

// chooseFragments returns the fragment indexes mixed into part seqNum, in
// the order the reference draws them. sampler must be degreeSampler(seqLen).
func chooseFragments(seqNum uint32, seqLen int, checksum uint32, sampler *randomSampler) []int {
	if int64(seqNum) <= int64(seqLen) {
		return []int{int(seqNum) - 1}
	}
	var seed [8]byte
	binary.BigEndian.PutUint32(seed[:4], seqNum)
	binary.BigEndian.PutUint32(seed[4:], checksum)
	rng := newXoshiro(seed[:])
	degree := sampler.next(rng) + 1
	return shufflePrefix(seqLen, degree, rng)
}

func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// fountainEncoder produces the endless part sequence of one message.
type fountainEncoder struct {
	messageLen int
	checksum   uint32
	fragLen    int
	fragments  [][]byte
	seqNum     uint32
	sampler    *randomSampler
}

func newFountainEncoder(msg []byte, maxFragLen, minFragLen int) *fountainEncoder {
	fragLen := findNominalFragmentLength(len(msg), minFragLen, maxFragLen)
	e := &fountainEncoder{
		messageLen: len(msg),
		checksum:   crc32.ChecksumIEEE(msg),
		fragLen:    fragLen,
		fragments:  partitionMessage(msg, fragLen),
	}
	e.sampler = degreeSampler(len(e.fragments))
	return e
}

func (e *fountainEncoder) seqLen() int { return len(e.fragments) }

func (e *fountainEncoder) nextPart() *fountainPart {
	e.seqNum++ // wraps at 2^32 like the reference
	idx := chooseFragments(e.seqNum, e.seqLen(), e.checksum, e.sampler)
	data := make([]byte, e.fragLen)
	for _, i := range idx {
		xorInto(data, e.fragments[i])
	}
	return &fountainPart{e.seqNum, e.seqLen(), e.messageLen, e.checksum, data}
}

// mixedPart is a received part reduced to the fragments still unknown;
// idx is sorted.
type mixedPart struct {
	idx  []int
	data []byte
	k    string // cached key()
}

// key identifies the index set (for duplicate detection).
func (p *mixedPart) key() string {
	if p.k == "" {
		b := make([]byte, 0, 3*len(p.idx))
		for _, i := range p.idx {
			b = binary.AppendUvarint(b, uint64(i))
		}
		p.k = string(b)
	}
	return p.k
}

// isStrictSubset reports whether sorted a is a proper subset of sorted b.
func isStrictSubset(a, b []int) bool {
	if len(a) >= len(b) {
		return false
	}
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
		j++
	}
	return true
}

// reduceBy returns a with the fragments of b removed when b is a strict
// subset of a (the reference reduce_part_by_part); otherwise a itself.
func reduceBy(a, b *mixedPart) *mixedPart {
	if !isStrictSubset(b.idx, a.idx) {
		return a
	}
	idx := make([]int, 0, len(a.idx)-len(b.idx))
	j := 0
	for _, x := range a.idx {
		for j < len(b.idx) && b.idx[j] < x {
			j++
		}
		if j < len(b.idx) && b.idx[j] == x {
			continue
		}
		idx = append(idx, x)
	}
	data := slices.Clone(a.data)
	xorInto(data, b.data)
	return &mixedPart{idx: idx, data: data}
}

// fountainDecoder reassembles a message with the peeling decoder of the
// reference fountain-decoder.cpp.
type fountainDecoder struct {
	started    bool
	seqLen     int
	messageLen int
	checksum   uint32
	fragLen    int
	sampler    *randomSampler

	simple    [][]byte // simple[i] is fragment i once known
	nSimple   int
	mixed     []*mixedPart
	mixedKeys map[string]bool
	mixedIdx  int // sum of len(idx) over mixed
	queue     []*mixedPart
	processed int

	done   bool
	result []byte
	err    error
}

// maxMixed and maxMixedIdx bound the reduced-but-unsolved parts kept in
// memory: at most 2*seqLen+8 of them (about twice the message size) with
// at most 16*seqLen+1024 fragment indexes in all, so that a sender
// choosing high-degree sequence numbers cannot exhaust memory. Parts
// beyond the bounds still reduce the stored ones and are then dropped; an
// honest stream never comes close.
func (d *fountainDecoder) maxMixed() int    { return 2*d.seqLen + 8 }
func (d *fountainDecoder) maxMixedIdx() int { return 16*d.seqLen + 1024 }

// receive feeds one parsed part. It returns ErrMismatch for a part of
// another message; parts arriving after completion are ignored.
func (d *fountainDecoder) receive(p *fountainPart) error {
	if d.done {
		return nil
	}
	if !d.started {
		d.started = true
		d.seqLen, d.messageLen, d.checksum, d.fragLen = p.seqLen, p.messageLen, p.checksum, len(p.data)
		d.sampler = degreeSampler(p.seqLen)
		d.simple = make([][]byte, p.seqLen)
		d.mixedKeys = make(map[string]bool)
	} else if p.seqLen != d.seqLen || p.messageLen != d.messageLen || p.checksum != d.checksum || len(p.data) != d.fragLen {
		return fmt.Errorf("fountain part (seqLen %d, messageLen %d, checksum %08x) does not match message (seqLen %d, messageLen %d, checksum %08x): %w",
			p.seqLen, p.messageLen, p.checksum, d.seqLen, d.messageLen, d.checksum, ErrMismatch)
	}
	idx := chooseFragments(p.seqNum, d.seqLen, d.checksum, d.sampler)
	slices.Sort(idx)
	d.queue = append(d.queue, &mixedPart{idx: idx, data: slices.Clone(p.data)})
	for !d.done && len(d.queue) > 0 {
		q := d.queue[0]
		d.queue = d.queue[1:]
		if len(q.idx) == 1 {
			d.processSimple(q)
		} else {
			d.processMixed(q)
		}
	}
	d.queue = nil
	d.processed++
	return nil
}

func (d *fountainDecoder) processSimple(p *mixedPart) {
	i := p.idx[0]
	if d.simple[i] != nil {
		return
	}
	d.simple[i] = p.data
	d.nSimple++
	if d.nSimple == d.seqLen {
		d.done = true
		msg := make([]byte, 0, d.seqLen*d.fragLen)
		for _, f := range d.simple {
			msg = append(msg, f...)
		}
		msg = msg[:d.messageLen]
		if crc32.ChecksumIEEE(msg) != d.checksum {
			d.err = fmt.Errorf("reassembled ur message: %w", ErrChecksum)
			return
		}
		d.result = msg
		d.simple, d.mixed, d.mixedKeys = nil, nil, nil
		return
	}
	d.reduceMixedBy(p)
}

// reduceMixedBy reduces every stored mixed part by p, queueing those that
// become simple.
func (d *fountainDecoder) reduceMixedBy(p *mixedPart) {
	kept := d.mixed[:0]
	keys := make(map[string]bool, len(d.mixed))
	d.mixedIdx = 0
	for _, m := range d.mixed {
		var r *mixedPart
		if len(p.idx) == 1 {
			// Fast path for a solved fragment: the stored part is ours to
			// modify in place.
			r = m
			if j, ok := slices.BinarySearch(m.idx, p.idx[0]); ok && len(m.idx) > 1 {
				m.idx = slices.Delete(m.idx, j, j+1)
				xorInto(m.data, p.data)
				m.k = ""
			}
		} else {
			r = reduceBy(m, p)
		}
		if len(r.idx) == 1 {
			d.queue = append(d.queue, r)
			continue
		}
		k := r.key()
		if keys[k] {
			continue
		}
		keys[k] = true
		kept = append(kept, r)
		d.mixedIdx += len(r.idx)
	}
	clear(d.mixed[len(kept):])
	d.mixed = kept
	d.mixedKeys = keys
}

func (d *fountainDecoder) processMixed(p *mixedPart) {
	if d.mixedKeys[p.key()] {
		return
	}
	// Reduce by the known fragments...
	for _, i := range p.idx {
		if len(p.idx) == 1 {
			break
		}
		if d.simple[i] != nil {
			p = reduceBy(p, &mixedPart{idx: []int{i}, data: d.simple[i]})
		}
	}
	// ...then by the stored mixed parts.
	for _, m := range d.mixed {
		p = reduceBy(p, m)
	}
	if len(p.idx) == 1 {
		d.queue = append(d.queue, p)
		return
	}
	d.reduceMixedBy(p)
	k := p.key()
	if !d.mixedKeys[k] && len(d.mixed) < d.maxMixed() && d.mixedIdx+len(p.idx) <= d.maxMixedIdx() {
		d.mixed = append(d.mixed, p)
		d.mixedKeys[k] = true
		d.mixedIdx += len(p.idx)
	}
}

// progress estimates completion in [0, 1]: the larger of the fraction of
// fragments solved and the reference estimate (parts seen / 1.75 seqLen),
// capped at 0.99 until the message is complete.
func (d *fountainDecoder) progress() float64 {
	if d.done {
		return 1
	}
	if !d.started {
		return 0
	}
	est := max(float64(d.nSimple)/float64(d.seqLen), float64(d.processed)/(float64(d.seqLen)*1.75))
	return min(est, 0.99)
}
