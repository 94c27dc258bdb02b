package wallet

import (
	"errors"
	"fmt"
)

// ErrDescriptorChecksum is returned for a descriptor whose "#checksum" is
// malformed or does not match.
var ErrDescriptorChecksum = errors.New("bad descriptor checksum")

const (
	descInputCharset    = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
	descChecksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
)

// descCharPos maps a byte to its position in descInputCharset plus one (0:
// not allowed).
var descCharPos = func() (t [256]uint8) {
	for i := 0; i < len(descInputCharset); i++ {
		t[descInputCharset[i]] = uint8(i + 1)
	}
	return t
}()

func descPolymod(c uint64, val uint64) uint64 {
	c0 := c >> 35
	c = (c&0x7ffffffff)<<5 ^ val
	if c0&1 != 0 {
		c ^= 0xf5dee51989
	}
	if c0&2 != 0 {
		c ^= 0xa9fdca3312
	}
	if c0&4 != 0 {
		c ^= 0x1bab10e32d
	}
	if c0&8 != 0 {
		c ^= 0x3706b1677a
	}
	if c0&16 != 0 {
		c ^= 0x644d626ffd
	}
	return c
}

// DescriptorChecksum returns the 8-character BIP-380 checksum of a
// descriptor given without its "#checksum". It fails, wrapping
// ErrInvalidDescriptor, if desc has a character outside the descriptor
// character set.
func DescriptorChecksum(desc string) (string, error) {
	c := uint64(1)
	cls, clsCount := uint64(0), 0
	for i := 0; i < len(desc); i++ {
		pos := descCharPos[desc[i]]
		if pos == 0 {
			return "", fmt.Errorf("%w: character %d is not in the descriptor character set", ErrInvalidDescriptor, i+1)
		}
		pos--
		c = descPolymod(c, uint64(pos&31))
		cls = cls*3 + uint64(pos>>5)
		if clsCount++; clsCount == 3 {
			c = descPolymod(c, cls)
			cls, clsCount = 0, 0
		}
	}
	if clsCount > 0 {
		c = descPolymod(c, cls)
	}
	for j := 0; j < 8; j++ {
		c = descPolymod(c, 0)
	}
	c ^= 1
	var out [8]byte
	for j := range out {
		out[j] = descChecksumCharset[(c>>(5*(7-j)))&31]
	}
	return string(out[:]), nil
}

// splitChecksum splits "desc#checksum" and verifies the checksum when one
// is present. It returns the descriptor without the checksum.
func splitChecksum(s string) (string, error) {
	body, sum, found := cutLast(s, '#')
	if !found {
		if _, err := DescriptorChecksum(body); err != nil {
			return "", err
		}
		return body, nil
	}
	for i := 0; i < len(body); i++ {
		if body[i] == '#' {
			return "", fmt.Errorf("%w: more than one '#'", ErrDescriptorChecksum)
		}
	}
	if len(sum) != 8 {
		return "", fmt.Errorf("%w: want 8 characters after '#', have %d", ErrDescriptorChecksum, len(sum))
	}
	want, err := DescriptorChecksum(body)
	if err != nil {
		return "", err
	}
	if sum != want {
		return "", fmt.Errorf("%w: provided %q, computed %q", ErrDescriptorChecksum, sum, want)
	}
	return body, nil
}

// cutLast splits s around the last c.
func cutLast(s string, c byte) (before, after string, found bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
