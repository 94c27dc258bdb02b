package wallet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/btcec/v2"
)

// Bounds on what a descriptor may ask of the parser: the alternatives of
// one multipath step, <a;b;…>, and the child derivations made while parsing
// (steps, multipath alternatives and steps after them, over all keys), so
// that a hostile descriptor cannot make parsing slow. Real wallets need a
// handful of each.
const (
	maxMultipath   = 256
	maxDerivations = 4096
)

// keyExpr is one key of a descriptor: an extended public key with the
// derivation steps written after it, or a plain public key.
type keyExpr struct {
	origin *KeyOrigin   // nil if the descriptor gives none
	xpub   *ExtendedKey // nil for a plain public key
	pubkey []byte       // plain public key, 33 or 65 bytes
	xonly  bool         // pubkey was written as a 32-byte x-only key (tr())
	steps  Path         // fixed steps before the multipath step
	multi  []uint32     // multipath alternatives, nil if none
	post   Path         // fixed steps after the multipath step
	wild   bool         // ends in /*

	// branches holds, for an extended key, the key reached through steps,
	// multi[b] and post: one per alternative (one if no multipath). Ranged
	// addresses then take a single non-hardened derivation from it.
	branches []*ExtendedKey
}

// branch returns the branch key for alternative b; a key without multipath
// serves every branch.
func (k *keyExpr) branch(b int) *ExtendedKey {
	if b >= len(k.branches) {
		b = len(k.branches) - 1
	}
	return k.branches[b]
}

// parseKeyExpr parses one KEY of a multisig; under tr() (tr true) a key
// may also be a 64-digit x-only key. budget is what remains of
// maxDerivations.
func parseKeyExpr(s string, net *Network, k *keyExpr, budget *int, tr bool) error {
	if s == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidDescriptor)
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("%w: key origin lacks ']'", ErrInvalidDescriptor)
		}
		o, err := parseOrigin(s[1:end], "h'")
		if err != nil {
			return fmt.Errorf("%w: key origin: %w", ErrInvalidDescriptor, err)
		}
		k.origin = &o
		s = s[end+1:]
	}
	if strings.ContainsAny(s, "[]") {
		return fmt.Errorf("%w: misplaced or repeated key origin", ErrInvalidDescriptor)
	}
	keyStr, rest, hasSteps := strings.Cut(s, "/")
	if keyStr == "" {
		return fmt.Errorf("%w: no key", ErrInvalidDescriptor)
	}
	if tr && len(keyStr) == 64 {
		pub, ok, err := parseHexKey("02" + keyStr)
		if ok {
			if err != nil {
				return err
			}
			if hasSteps {
				return fmt.Errorf("%w: derivation steps after a plain public key", ErrInvalidDescriptor)
			}
			k.pubkey, k.xonly = pub, true
			return nil
		}
	}
	if pub, ok, err := parseHexKey(keyStr); ok {
		if err != nil {
			return err
		}
		if hasSteps {
			return fmt.Errorf("%w: derivation steps after a plain public key", ErrInvalidDescriptor)
		}
		k.pubkey = pub
		return nil
	}
	if isWIF(keyStr) {
		return fmt.Errorf("%w: WIF private key (descriptors here are watch-only)", ErrPrivateKey)
	}
	xk, err := ParseExtendedKey(keyStr, net)
	if err != nil {
		return err
	}
	if xk.IsPrivate() {
		xk.Zero()
		return fmt.Errorf("%w: extended private key (descriptors here are watch-only; use its xpub)", ErrPrivateKey)
	}
	k.xpub = xk
	if hasSteps {
		if err := parseSteps(rest, k); err != nil {
			return err
		}
	}
	*budget -= len(k.steps) + len(k.multi)*(1+len(k.post))
	if *budget < 0 {
		return fmt.Errorf("%w: more than %d derivation steps in all", ErrInvalidDescriptor, maxDerivations)
	}
	return k.derive()
}

// parseSteps parses the derivation steps after an extended key.
func parseSteps(s string, k *keyExpr) error {
	elems := strings.Split(s, "/")
	for n, e := range elems {
		switch {
		case e == "*" || e == "*h" || e == "*'":
			if n != len(elems)-1 {
				return fmt.Errorf("%w: '*' must be the last step", ErrInvalidDescriptor)
			}
			if e != "*" {
				return fmt.Errorf("%w: hardened wildcard %s", ErrHardenedDerivation, e)
			}
			k.wild = true
		case strings.HasPrefix(e, "<"):
			if k.multi != nil {
				return fmt.Errorf("%w: more than one multipath step", ErrInvalidDescriptor)
			}
			if !strings.HasSuffix(e, ">") {
				return fmt.Errorf("%w: multipath step lacks '>'", ErrInvalidDescriptor)
			}
			alts := strings.Split(e[1:len(e)-1], ";")
			if len(alts) < 2 {
				return fmt.Errorf("%w: multipath step needs at least two alternatives", ErrInvalidDescriptor)
			}
			if len(alts) > maxMultipath {
				return fmt.Errorf("%w: multipath step with more than %d alternatives", ErrInvalidDescriptor, maxMultipath)
			}
			k.multi = make([]uint32, 0, len(alts))
			for _, a := range alts {
				i, err := parseStep(a)
				if err != nil {
					return err
				}
				if slices.Contains(k.multi, i) {
					return fmt.Errorf("%w: multipath step repeats %d", ErrInvalidDescriptor, i)
				}
				k.multi = append(k.multi, i)
			}
			k.post = Path{}
		default:
			i, err := parseStep(e)
			if err != nil {
				return err
			}
			if k.multi != nil {
				k.post = append(k.post, i)
			} else {
				k.steps = append(k.steps, i)
			}
		}
	}
	return nil
}

// parseStep parses one unhardened derivation step.
func parseStep(e string) (uint32, error) {
	i, err := parsePathElement(e, "h'")
	if err != nil {
		return 0, fmt.Errorf("%w: %w: %v", ErrInvalidDescriptor, ErrInvalidPath, err)
	}
	if i >= Hardened {
		return 0, fmt.Errorf("%w: step %s", ErrHardenedDerivation, e)
	}
	return i, nil
}

// derive computes the branch keys of an extended key.
func (k *keyExpr) derive() error {
	base, err := k.xpub.Derive(k.steps)
	if err != nil {
		return err
	}
	if k.multi == nil {
		k.branches = []*ExtendedKey{base}
		return nil
	}
	k.branches = make([]*ExtendedKey, len(k.multi))
	for b, alt := range k.multi {
		c, err := base.Child(alt)
		if err == nil {
			c, err = c.Derive(k.post)
		}
		if err != nil {
			return err
		}
		k.branches[b] = c
	}
	return nil
}

// parseHexKey parses a hex public key: 66 hex digits starting 02 or 03, or
// 130 starting 04. ok is false if s does not look like a hex key at all.
func parseHexKey(s string) (pub []byte, ok bool, err error) {
	if len(s) != 66 && len(s) != 130 {
		return nil, false, nil
	}
	b := make([]byte, len(s)/2)
	for i := 0; i < len(s); i++ {
		if descHexVal(s[i]) < 0 {
			return nil, false, nil
		}
	}
	for i := range b {
		b[i] = byte(descHexVal(s[2*i])<<4 | descHexVal(s[2*i+1]))
	}
	switch {
	case len(b) == 33 && (b[0] == 0x02 || b[0] == 0x03):
	case len(b) == 65 && b[0] == 0x04:
	default:
		return nil, true, fmt.Errorf("%w %s: bad prefix", ErrInvalidPublicKey, hexKey(b))
	}
	if _, err := btcec.ParsePubKey(b); err != nil {
		return nil, true, fmt.Errorf("%w %s: not on the curve", ErrInvalidPublicKey, hexKey(b))
	}
	return b, true, nil
}

func descHexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isWIF reports whether s is a WIF private key of any network.
func isWIF(s string) bool {
	if len(s) < 50 || len(s) > 53 {
		return false
	}
	payload, version, err := base58.CheckDecode(s)
	defer clear(payload)
	if err != nil || (version != 0x80 && version != 0xef) {
		return false
	}
	return len(payload) == 32 || len(payload) == 33 && payload[32] == 0x01
}

// compressedID returns the compressed form of a public key, to compare keys
// whatever their serialization.
func compressedID(pub []byte) ([33]byte, error) {
	var id [33]byte
	if len(pub) == 33 {
		copy(id[:], pub)
		return id, nil
	}
	pk, err := btcec.ParsePubKey(pub)
	if err != nil {
		return id, fmt.Errorf("%w %s", ErrInvalidPublicKey, hexKey(pub))
	}
	copy(id[:], pk.SerializeCompressed())
	return id, nil
}

func (k *keyExpr) format(b *strings.Builder) {
	if k.origin != nil {
		b.WriteByte('[')
		b.WriteString(k.origin.String())
		b.WriteByte(']')
	}
	if k.xpub == nil {
		if k.xonly {
			b.WriteString(hexKey(k.pubkey[1:]))
		} else {
			b.WriteString(hexKey(k.pubkey))
		}
		return
	}
	b.WriteString(k.xpub.String())
	writePath(b, k.steps)
	if k.multi != nil {
		b.WriteString("/<")
		for i, a := range k.multi {
			if i > 0 {
				b.WriteByte(';')
			}
			writeIndex(b, a)
		}
		b.WriteByte('>')
		writePath(b, k.post)
	}
	if k.wild {
		b.WriteString("/*")
	}
}
