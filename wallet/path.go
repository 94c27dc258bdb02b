package wallet

import (
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kinko-project/kinko/internal/untrusted"
	"strconv"
	"strings"
)

// Hardened is added to a BIP-32 child index to make it a hardened index.
const Hardened uint32 = 0x80000000

// ErrInvalidPath is returned for a derivation path that cannot be parsed.
var ErrInvalidPath = errors.New("invalid derivation path")

// ErrInvalidFingerprint is returned for a key fingerprint that is not
// exactly 8 hex digits.
var ErrInvalidFingerprint = errors.New("invalid key fingerprint")

// Path is a BIP-32 derivation path: a list of child indices, hardened ones
// having [Hardened] added.
type Path []uint32

// ParsePath parses a derivation path such as "m/48h/1h/0h/2h". The leading
// "m/" is optional, "m" and "" are the empty path. A hardened element may be
// marked with h, H or '. Every index must be below 2^31 (the marker, not
// the number, makes it hardened); empty elements are refused.
func ParsePath(s string) (Path, error) {
	if s == "" || s == "m" {
		return Path{}, nil
	}
	s = strings.TrimPrefix(s, "m/")
	elems := strings.Split(s, "/")
	p := make(Path, 0, len(elems))
	for i, e := range elems {
		idx, err := parsePathElement(e, "hH'")
		if err != nil {
			return nil, fmt.Errorf("%w: element %d: %v", ErrInvalidPath, i+1, err)
		}
		p = append(p, idx)
	}
	return p, nil
}

// parsePathElement parses one path element: decimal digits below 2^31,
// optionally followed by one of the hardened markers in markers.
func parsePathElement(e, markers string) (uint32, error) {
	if e == "" {
		return 0, errors.New("empty element")
	}
	hardened := false
	if strings.IndexByte(markers, e[len(e)-1]) >= 0 {
		hardened = true
		e = e[:len(e)-1]
	}
	if e == "" {
		return 0, errors.New("hardened marker without a number")
	}
	for i := 0; i < len(e); i++ {
		if e[i] < '0' || e[i] > '9' {
			return 0, fmt.Errorf("%s is not a decimal number", quoteShort(e))
		}
	}
	v, err := strconv.ParseUint(e, 10, 32)
	if err != nil || v >= uint64(Hardened) {
		return 0, fmt.Errorf("index %s out of range (must be below 2^31)", quoteShort(e))
	}
	if hardened {
		return uint32(v) + Hardened, nil
	}
	return uint32(v), nil
}

// quoteShort quotes s for an error message if it is short; longer text is
// not repeated, as it might be a mistyped key.
func quoteShort(s string) string {
	if len(s) > 12 {
		return fmt.Sprintf("element of %d characters", len(s))
	}
	return untrusted.Quote(s, 0)
}

// String returns the path as "m/48h/1h/0h/2h", with h marking hardened
// elements, or "m" for the empty path.
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('m')
	writePath(&b, p)
	return b.String()
}

// writePath writes each element of p as "/N" or "/Nh".
func writePath(b *strings.Builder, p Path) {
	for _, i := range p {
		b.WriteByte('/')
		writeIndex(b, i)
	}
}

// writeIndex writes one child index as "N" or "Nh".
func writeIndex(b *strings.Builder, i uint32) {
	b.WriteString(strconv.FormatUint(uint64(i&^Hardened), 10))
	if i&Hardened != 0 {
		b.WriteByte('h')
	}
}

// Equal reports whether p and q hold the same elements.
func (p Path) Equal(q Path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// Fingerprint is the first four bytes of the hash160 of a public key, used
// to name the key a derivation starts from.
type Fingerprint [4]byte

// ParseFingerprint parses 8 hex digits (either case).
func ParseFingerprint(s string) (Fingerprint, error) {
	var fp Fingerprint
	if len(s) != 8 {
		return fp, fmt.Errorf("%w: %q is not 8 hex digits", ErrInvalidFingerprint, s)
	}
	if _, err := hex.Decode(fp[:], []byte(s)); err != nil {
		return fp, fmt.Errorf("%w: %q is not hex", ErrInvalidFingerprint, s)
	}
	return fp, nil
}

// String returns the fingerprint as 8 lowercase hex digits.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }
