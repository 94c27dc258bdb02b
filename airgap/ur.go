package airgap

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Registered UR types handled by this package (BCR-2020-006 and its
// successors). Types are lowercase [a-z0-9-]+.
const (
	URTypeBytes            = "bytes"
	URTypeCryptoPSBT       = "crypto-psbt"       // CBOR byte string holding a PSBT (v1 registry)
	URTypePSBT             = "psbt"              // same content, current registry name
	URTypeCryptoOutput     = "crypto-output"     // output descriptor (v1 registry)
	URTypeOutputDescriptor = "output-descriptor" // output descriptor (current registry)
	URTypeCryptoAccount    = "crypto-account"
	URTypeCryptoHDKey      = "crypto-hdkey"
)

// Default fountain fragment bounds. A 380-byte fragment makes a part of
// at most 844 characters (the type, a sequence of up to 5+5 digits, and
// 2 bytewords letters for each of the fragment's bytes, its CBOR
// framing and CRC), which fits a version 16 QR code at level L (854
// alphanumeric characters): the largest version of which a simulated
// 720p webcam, the code covering half its frame height, read at least
// 99% of frames (BenchmarkCameraDecode; the choice is explained at
// DefaultFPS).
const (
	DefaultURMaxFragment = 380
	DefaultURMinFragment = 10
)

const psbtMagic = "psbt\xff"

// UREncoder produces the parts of one UR. A message that fits in one
// fragment is emitted as a single-part UR ("ur:type/bytewords") on every
// call; otherwise NextPart returns "ur:type/seq-len/bytewords" parts
// forever: seqLen pure fragments first, then fountain mixes.
type UREncoder struct {
	typ      string
	cbor     []byte
	fountain *fountainEncoder
	upper    bool
}

// NewUREncoder prepares the parts of a UR of type typ whose body is the
// CBOR item cbor. maxFragment and minFragment bound the fragment size in
// bytes; zero or negative values select DefaultURMaxFragment and
// DefaultURMinFragment.
func NewUREncoder(typ string, cbor []byte, maxFragment, minFragment int) (*UREncoder, error) {
	if !isURType(typ) {
		return nil, formatErr("ur", "invalid type "+quoteShort(typ))
	}
	if len(cbor) == 0 {
		return nil, formatErr("ur", "empty body")
	}
	if len(cbor) > MaxPayloadSize {
		return nil, fmt.Errorf("ur body of %d bytes: %w", len(cbor), ErrTooLarge)
	}
	if err := checkCBORWellFormed(cbor); err != nil {
		return nil, fmt.Errorf("ur body: %w", err)
	}
	if maxFragment <= 0 {
		maxFragment = DefaultURMaxFragment
	}
	if minFragment <= 0 {
		minFragment = min(DefaultURMinFragment, maxFragment)
	}
	if minFragment > maxFragment {
		return nil, fmt.Errorf("airgap: ur min fragment %d exceeds max fragment %d", minFragment, maxFragment)
	}
	fe := newFountainEncoder(cbor, maxFragment, minFragment)
	if fe.seqLen() > MaxURSeqLen {
		return nil, fmt.Errorf("ur of %d fragments: %w", fe.seqLen(), ErrTooLarge)
	}
	return &UREncoder{typ: typ, cbor: bytes.Clone(cbor), fountain: fe}, nil
}

// EncodePSBTUR returns an encoder for psbt as a "crypto-psbt" UR with the
// default fragment sizes. crypto-psbt is the type every UR-capable wallet
// reads; URDecoder and DecodePSBTUR also accept the newer "psbt" type.
func EncodePSBTUR(psbt []byte) (*UREncoder, error) {
	if !bytes.HasPrefix(psbt, []byte(psbtMagic)) {
		return nil, formatErr("psbt", "missing psbt magic")
	}
	return NewUREncoder(URTypeCryptoPSBT, CBORByteString(psbt), 0, 0)
}

// CBORByteString wraps b in a CBOR byte string, the UR body of the
// crypto-psbt, psbt and bytes types.
func CBORByteString(b []byte) []byte { return cborBytesValue(b) }

// DecodePSBTUR extracts the PSBT from the result of a URDecoder whose type
// is crypto-psbt or psbt (a CBOR byte string, optionally tagged 310 or
// 40310 as some encoders do).
func DecodePSBTUR(typ string, cbor []byte) ([]byte, error) {
	if typ != URTypeCryptoPSBT && typ != URTypePSBT {
		return nil, fmt.Errorf("ur type %s is not a psbt: %w", quoteShort(typ), ErrUnknownFormat)
	}
	b := cbor
	if major, tag, rest, err := readCBORHead(b); err == nil && major == cborTag {
		if tag != 310 && tag != 40310 {
			return nil, formatErr("cbor", "unexpected tag "+strconv.FormatUint(tag, 10))
		}
		b = rest
	}
	psbt, rest, err := readCBORBytes(b)
	if err != nil {
		return nil, fmt.Errorf("psbt ur body: %w", err)
	}
	if len(rest) != 0 {
		return nil, formatErr("cbor", "trailing bytes after psbt")
	}
	if !bytes.HasPrefix(psbt, []byte(psbtMagic)) {
		return nil, formatErr("psbt", "missing psbt magic")
	}
	return bytes.Clone(psbt), nil
}

// SetUppercase makes NextPart return uppercase parts, which QR codes
// store in the denser alphanumeric mode. Decoders are case-insensitive.
func (e *UREncoder) SetUppercase(upper bool) { e.upper = upper }

// SeqLen is the number of pure fragments (1 for a single-part UR).
func (e *UREncoder) SeqLen() int { return e.fountain.seqLen() }

// SinglePart reports whether the UR fits in one part.
func (e *UREncoder) SinglePart() bool { return e.fountain.seqLen() == 1 }

// NextPart returns the next part.
func (e *UREncoder) NextPart() string {
	var s string
	if e.SinglePart() {
		s = "ur:" + e.typ + "/" + encodeBytewords(bytewordsMinimal, e.cbor)
	} else {
		p := e.fountain.nextPart()
		s = "ur:" + e.typ + "/" + strconv.FormatUint(uint64(p.seqNum), 10) + "-" +
			strconv.Itoa(p.seqLen) + "/" + encodeBytewords(bytewordsMinimal, p.cbor())
	}
	if e.upper {
		s = strings.ToUpper(s)
	}
	return s
}

// Parts returns the next n parts, for a finite animation. Looping over
// 2*SeqLen() parts lets a receiver that misses frames recover from the
// fountain mixes instead of waiting for a full cycle.
func (e *UREncoder) Parts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = e.NextPart()
	}
	return out
}

func isURType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseUR splits a UR string into lowercase type, optional sequence
// component and bytewords body.
func parseUR(s string) (typ, seq, body string, err error) {
	s = strings.TrimSpace(s)
	if len(s) > maxTextInput {
		return "", "", "", fmt.Errorf("ur of %d characters: %w", len(s), ErrTooLarge)
	}
	if len(s) < 3 || !strings.EqualFold(s[:3], "ur:") {
		return "", "", "", formatErr("ur", "missing ur: scheme")
	}
	comps := strings.Split(strings.ToLower(s[3:]), "/")
	switch len(comps) {
	case 2:
		typ, body = comps[0], comps[1]
	case 3:
		typ, seq, body = comps[0], comps[1], comps[2]
	default:
		return "", "", "", formatErr("ur", "wrong number of path components")
	}
	if !isURType(typ) {
		return "", "", "", formatErr("ur", "invalid type "+quoteShort(typ))
	}
	if body == "" {
		return "", "", "", formatErr("ur", "empty body")
	}
	return typ, seq, body, nil
}

// parseURSeq parses "seqNum-seqLen".
func parseURSeq(s string) (uint32, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, formatErr("ur", "invalid sequence component "+quoteShort(s))
	}
	n, err1 := strconv.ParseUint(a, 10, 32)
	l, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || n == 0 || l == 0 {
		return 0, 0, formatErr("ur", "invalid sequence component "+quoteShort(s))
	}
	if l > MaxURSeqLen {
		return 0, 0, fmt.Errorf("ur sequence length %d: %w", l, ErrTooLarge)
	}
	return uint32(n), int(l), nil
}

// URDecoder reassembles a UR from its parts, in any order, ignoring
// duplicates. It is not safe for concurrent use.
type URDecoder struct {
	typ      string
	fountain fountainDecoder
	done     bool
	result   []byte
	err      error
}

// NewURDecoder returns an empty decoder.
func NewURDecoder() *URDecoder { return &URDecoder{} }

// Receive feeds one part (case-insensitive, surrounding white space
// ignored). It returns a *FormatError for malformed parts, ErrChecksum
// (wrapped) for a corrupted part, ErrMismatch for a part of another
// message and ErrTooLarge when declared sizes exceed the caps. Such parts
// are dropped and the decoder stays usable. Parts received after Done are
// ignored.
func (d *URDecoder) Receive(part string) error {
	if d.done {
		return nil
	}
	typ, seq, body, err := parseUR(part)
	if err != nil {
		return err
	}
	if d.typ != "" && typ != d.typ {
		return fmt.Errorf("ur type %s while assembling %s: %w", quoteShort(typ), quoteShort(d.typ), ErrMismatch)
	}
	if seq == "" {
		if d.fountain.started {
			return fmt.Errorf("single-part ur while assembling a multipart one: %w", ErrMismatch)
		}
		cbor, err := decodeBytewords(bytewordsMinimal, body)
		if err != nil {
			return fmt.Errorf("ur body: %w", err)
		}
		if err := checkCBORWellFormed(cbor); err != nil {
			return fmt.Errorf("ur body: %w", err)
		}
		d.typ, d.done, d.result = typ, true, cbor
		return nil
	}
	seqNum, seqLen, err := parseURSeq(seq)
	if err != nil {
		return err
	}
	// A fragment is never larger than the message, itself capped.
	if len(body) > 2*(MaxPayloadSize+64) {
		return fmt.Errorf("ur part of %d characters: %w", len(body), ErrTooLarge)
	}
	raw, err := decodeBytewords(bytewordsMinimal, body)
	if err != nil {
		return fmt.Errorf("ur part %s: %w", seq, err)
	}
	p, err := parseFountainPart(raw)
	if err == nil {
		err = p.validate()
	}
	if err != nil {
		return fmt.Errorf("ur part %s: %w", seq, err)
	}
	if p.seqNum != seqNum || p.seqLen != seqLen {
		return formatErr("ur", "sequence component "+seq+" disagrees with fountain part")
	}
	if err := d.fountain.receive(p); err != nil {
		return err
	}
	d.typ = typ
	if d.fountain.done {
		d.done = true
		if d.fountain.err != nil {
			d.err = d.fountain.err
			return d.err
		}
		if err := checkCBORWellFormed(d.fountain.result); err != nil {
			d.err = fmt.Errorf("ur body: %w", err)
			return d.err
		}
		d.result = d.fountain.result
	}
	return nil
}

// Progress estimates completion between 0 and 1.
func (d *URDecoder) Progress() float64 {
	if d.done {
		return 1
	}
	return d.fountain.progress()
}

// Done reports whether the UR is complete (successfully or not).
func (d *URDecoder) Done() bool { return d.done }

// Type returns the UR type seen so far ("" before the first part).
func (d *URDecoder) Type() string { return d.typ }

// Result returns the UR type and CBOR body once Done, ErrIncomplete before.
func (d *URDecoder) Result() (typ string, cbor []byte, err error) {
	if !d.done {
		return d.typ, nil, ErrIncomplete
	}
	if d.err != nil {
		return d.typ, nil, d.err
	}
	return d.typ, bytes.Clone(d.result), nil
}
