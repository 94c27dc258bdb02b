package airgap

import (
	"github.com/fxamacker/cbor/v2"
)

// CBOR major types used here.
const (
	cborUint  = 0
	cborBytes = 2
	cborArray = 4
	cborMap   = 5
	cborTag   = 6
)

// appendCBORHead appends a definite-length CBOR head in its shortest form.
func appendCBORHead(b []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(b, m|byte(v))
	case v <= 0xff:
		return append(b, m|24, byte(v))
	case v <= 0xffff:
		return append(b, m|25, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(b, m|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, m|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// cborBytesValue encodes data as a CBOR byte string.
func cborBytesValue(data []byte) []byte {
	out := appendCBORHead(make([]byte, 0, len(data)+9), cborBytes, uint64(len(data)))
	return append(out, data...)
}

// readCBORHead parses one definite-length head at the start of b and
// returns the major type, argument and remaining input. Indefinite
// lengths and reserved additional-information values are rejected.
func readCBORHead(b []byte) (major byte, v uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, 0, nil, formatErr("cbor", "unexpected end of data")
	}
	major, ai := b[0]>>5, b[0]&0x1f
	b = b[1:]
	var n int
	switch {
	case ai < 24:
		return major, uint64(ai), b, nil
	case ai == 24:
		n = 1
	case ai == 25:
		n = 2
	case ai == 26:
		n = 4
	case ai == 27:
		n = 8
	default:
		return 0, 0, nil, formatErr("cbor", "indefinite or reserved length")
	}
	if len(b) < n {
		return 0, 0, nil, formatErr("cbor", "unexpected end of data")
	}
	for _, c := range b[:n] {
		v = v<<8 | uint64(c)
	}
	return major, v, b[n:], nil
}

// readCBORUint reads an unsigned integer no larger than max.
func readCBORUint(b []byte, max uint64) (uint64, []byte, error) {
	major, v, rest, err := readCBORHead(b)
	if err != nil {
		return 0, nil, err
	}
	if major != cborUint {
		return 0, nil, formatErr("cbor", "expected unsigned integer")
	}
	if v > max {
		return 0, nil, formatErr("cbor", "integer out of range")
	}
	return v, rest, nil
}

// readCBORBytes reads a definite-length byte string. The declared length
// is checked against the remaining input before anything is sliced, and
// the returned slice aliases b.
func readCBORBytes(b []byte) ([]byte, []byte, error) {
	major, n, rest, err := readCBORHead(b)
	if err != nil {
		return nil, nil, err
	}
	if major != cborBytes {
		return nil, nil, formatErr("cbor", "expected byte string")
	}
	if n > uint64(len(rest)) {
		return nil, nil, formatErr("cbor", "byte string longer than input")
	}
	return rest[:n], rest[n:], nil
}

// cborDecMode checks the well-formedness of CBOR bodies of UR types we
// only pass through (crypto-output, crypto-account, ...), with bounded
// nesting and container sizes.
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  32,
		MaxArrayElements: 65536,
		MaxMapPairs:      65536,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// checkCBORWellFormed reports whether b holds exactly one well-formed CBOR
// data item.
func checkCBORWellFormed(b []byte) error {
	if err := cborDecMode.Wellformed(b); err != nil {
		return &FormatError{Format: "cbor", Msg: err.Error()}
	}
	return nil
}
