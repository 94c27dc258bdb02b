package wallet

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/btcec/v2"
)

// Errors of descriptors. ParseDescriptor and NewMultisig wrap one of them
// (or an error of the key or path that was refused).
var (
	ErrInvalidDescriptor     = errors.New("invalid descriptor")
	ErrUnsupportedDescriptor = errors.New("unsupported descriptor")
	ErrThreshold             = errors.New("invalid multisig threshold")
	ErrTooManyKeys           = errors.New("too many keys")
	ErrDuplicateKey          = errors.New("duplicate key")
	ErrUncompressedKey       = errors.New("uncompressed key in segwit script")
	ErrHardenedDerivation    = errors.New("hardened derivation after an extended public key")
	ErrMultipathMismatch     = errors.New("multipath lengths differ")
	ErrMixedRange            = errors.New("ranged and non-ranged keys mixed")
	ErrScriptTooLarge        = errors.New("script too large")
	ErrNoChange              = errors.New("descriptor has no change branch")
	ErrNotRanged             = errors.New("descriptor is not ranged")
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

// Descriptor is a parsed multisig output descriptor: wsh(multi),
// sh(wsh(multi)) or sh(multi), with multi or sortedmulti (BIP-380 to 383,
// 389). It never holds a private key. A Descriptor is immutable and safe for
// concurrent use.
//
// Key origins are kept as written and not checked against the keys (BIP-380
// allows any origin); call Validate on the records of Keys to check them.
type Descriptor struct {
	net       *Network
	st        ScriptType
	sorted    bool
	threshold int
	keys      []keyExpr
	nBranches int  // alternatives of the multipath step, 1 if none
	ranged    bool // every key ends in /*
	body      string
	checksum  string
}

// ParseDescriptor parses a multisig descriptor: wsh(M), sh(wsh(M)) or
// sh(M), where M is multi(k,KEY,…) or sortedmulti(k,KEY,…). A KEY is an
// optional origin "[fingerprint/path]" followed either by a hex public key or
// by an xpub/tpub with derivation steps: fixed "/N", at most one multipath
// "/<a;b>" (BIP-389), and an optional final "/*". Hardened markers h and '
// are accepted in origins; hardened steps after a key, private keys
// (xprv, WIF) and every other script expression are refused. A trailing
// "#checksum" is verified if present.
//
// With net == nil the network is taken from the extended keys (xpub:
// Mainnet, tpub: Testnet), Mainnet if there are none; with a network given,
// the keys must be of its family.
func ParseDescriptor(s string, net *Network) (*Descriptor, error) {
	body, err := splitChecksum(s)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	d := &Descriptor{}
	args, err := d.parseScript(body)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if len(args) < 2 {
		return nil, fmt.Errorf("descriptor: %w: multisig without keys", ErrInvalidDescriptor)
	}
	d.threshold, err = parseThreshold(args[0])
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if len(args)-1 > 20 {
		return nil, fmt.Errorf("descriptor: %w: %d keys, at most 20", ErrTooManyKeys, len(args)-1)
	}
	d.keys = make([]keyExpr, len(args)-1)
	budget := maxDerivations
	for i, a := range args[1:] {
		if err := parseKeyExpr(a, net, &d.keys[i], &budget); err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
	}
	if err := d.finish(net); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d, nil
}

// parseScript parses the script expressions around the multisig and
// returns its arguments.
func (d *Descriptor) parseScript(s string) ([]string, error) {
	name, inner, err := splitCall(s)
	if err != nil {
		return nil, err
	}
	switch name {
	case "wsh":
		d.st = P2WSH
	case "sh":
		d.st = P2SH
		n2, in2, err := splitCall(inner)
		if err != nil {
			return nil, err
		}
		if n2 == "wsh" {
			d.st = P2SHP2WSH
			inner = in2
		} else if n2 == "sh" {
			return nil, fmt.Errorf("%w: sh() inside sh()", ErrInvalidDescriptor)
		}
	case "multi", "sortedmulti":
		return nil, fmt.Errorf("%w: bare multisig has no address; use wsh(), sh(wsh()) or sh()", ErrUnsupportedDescriptor)
	default:
		return nil, unsupported(name)
	}
	mname, margs, err := splitCall(inner)
	if err != nil {
		return nil, err
	}
	switch mname {
	case "multi":
	case "sortedmulti":
		d.sorted = true
	case "wsh", "sh":
		return nil, fmt.Errorf("%w: %s() inside %s", ErrInvalidDescriptor, mname, d.st.wrapper())
	default:
		return nil, unsupported(mname)
	}
	if strings.ContainsAny(margs, "()") {
		return nil, fmt.Errorf("%w: unexpected parenthesis in the arguments of %s()", ErrInvalidDescriptor, mname)
	}
	return strings.Split(margs, ","), nil
}

// wrapper returns the script expressions around the multisig, for messages.
func (t ScriptType) wrapper() string {
	switch t {
	case P2SHP2WSH:
		return "sh(wsh())"
	case P2SH:
		return "sh()"
	}
	return "wsh()"
}

// splitCall splits "name(args)" into name and args.
func splitCall(s string) (string, string, error) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return "", "", fmt.Errorf("%w: expected a script expression such as wsh(…)", ErrInvalidDescriptor)
	}
	if !strings.HasSuffix(s, ")") {
		return "", "", fmt.Errorf("%w: expected ')' at the end of %s", ErrInvalidDescriptor, funcName(s[:i]))
	}
	return s[:i], s[i+1 : len(s)-1], nil
}

// funcName returns a script expression name for a message, quoted if it
// looks like one; other text is not repeated (it might be a key).
func funcName(s string) string {
	if len(s) == 0 || len(s) > 16 {
		return "the script expression"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "the script expression"
		}
	}
	return strconv.Quote(s + "()")
}

func unsupported(name string) error {
	switch name {
	case "pk", "pkh", "wpkh", "combo", "tr", "raw", "addr", "rawtr", "multi_a", "sortedmulti_a":
		return fmt.Errorf("%w: %s; kinko handles wsh(), sh(wsh()) and sh() around multi() or sortedmulti()",
			ErrUnsupportedDescriptor, funcName(name))
	}
	return fmt.Errorf("%w: unknown script expression %s", ErrInvalidDescriptor, funcName(name))
}

// parseThreshold parses the k of multi(k,…).
func parseThreshold(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, fmt.Errorf("%w: threshold must be a number", ErrThreshold)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: threshold must be a number", ErrThreshold)
		}
	}
	m, _ := strconv.Atoi(s)
	if m == 0 {
		return 0, fmt.Errorf("%w: threshold 0", ErrThreshold)
	}
	return m, nil
}

// parseKeyExpr parses one KEY of a multisig.
// budget is what remains of maxDerivations.
func parseKeyExpr(s string, net *Network, k *keyExpr, budget *int) error {
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

// NewMultisig returns the descriptor of a threshold-of-len(keys) multisig
// of type st over the records' keys, each with its origin and "/<0;1>/*".
// It is sortedmulti (BIP-67), so the order of keys does not change the
// addresses. Every record must pass Validate and be of net's family (net
// nil: the first key's network).
func NewMultisig(net *Network, st ScriptType, threshold int, keys []*KeyRecord) (*Descriptor, error) {
	if st != P2WSH && st != P2SHP2WSH && st != P2SH {
		return nil, fmt.Errorf("descriptor: %w %s", ErrUnknownScriptType, st)
	}
	if threshold < 1 {
		return nil, fmt.Errorf("descriptor: %w: threshold %d", ErrThreshold, threshold)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("descriptor: %w: no keys", ErrInvalidDescriptor)
	}
	d := &Descriptor{st: st, sorted: true, threshold: threshold, keys: make([]keyExpr, len(keys))}
	for i, r := range keys {
		if r == nil {
			return nil, fmt.Errorf("descriptor: key %d: no key record", i+1)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
		if net != nil && !SameFamily(net, r.Key.Network()) {
			return nil, fmt.Errorf("descriptor: key %d: %w: %s key, not for %s", i+1, ErrNetworkMismatch, r.Key.Network(), net)
		}
		xk := *r.Key
		origin := KeyOrigin{Fingerprint: r.Origin.Fingerprint, Path: slices.Clone(r.Origin.Path)}
		k := &d.keys[i]
		*k = keyExpr{origin: &origin, xpub: &xk, multi: []uint32{0, 1}, post: Path{}, wild: true}
		if err := k.derive(); err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
	}
	if net == nil {
		net = keys[0].Key.Network()
	}
	if err := d.finish(net); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d, nil
}

// finish checks the parsed keys against each other and the script type,
// settles the network and builds the canonical string.
func (d *Descriptor) finish(net *Network) error {
	n := len(d.keys)
	if d.threshold > n {
		return fmt.Errorf("%w: threshold %d of %d keys", ErrThreshold, d.threshold, n)
	}
	if d.st == P2SH && n > 15 {
		return fmt.Errorf("%w: %d keys, sh() allows 15", ErrTooManyKeys, n)
	}
	if n > 20 {
		return fmt.Errorf("%w: %d keys, at most 20", ErrTooManyKeys, n)
	}
	// Network: all extended keys of one family.
	var fam *Network
	for i := range d.keys {
		k := &d.keys[i]
		if k.xpub == nil {
			continue
		}
		if fam == nil {
			fam = k.xpub.Network()
		} else if !SameFamily(fam, k.xpub.Network()) {
			return fmt.Errorf("%w: keys of %s and %s mixed", ErrNetworkMismatch, fam.Family(), k.xpub.Network().Family())
		}
	}
	switch {
	case net != nil:
		d.net = net
	case fam != nil:
		d.net = fam
	default:
		d.net = Mainnet
	}
	// Range and multipath.
	d.nBranches = 1
	for i := range d.keys {
		k := &d.keys[i]
		if i == 0 {
			d.ranged = k.wild
		} else if k.wild != d.ranged {
			return fmt.Errorf("%w: key 1 %s ranged, key %d %s", ErrMixedRange, isOrNot(d.ranged), i+1, isOrNot(k.wild))
		}
		if k.multi == nil {
			continue
		}
		if d.nBranches == 1 {
			d.nBranches = len(k.multi)
		} else if len(k.multi) != d.nBranches {
			return fmt.Errorf("%w: %d and %d alternatives", ErrMultipathMismatch, d.nBranches, len(k.multi))
		}
	}
	// Keys: distinct, compressed in segwit, script size.
	seen := make(map[[33]byte]int, n)
	size := 3
	if d.threshold > 16 {
		size++
	}
	if n > 16 {
		size++
	}
	for i := range d.keys {
		k := &d.keys[i]
		pub := k.pubkey
		if k.xpub != nil {
			pub = k.xpub.PublicKey()
		}
		size += 1 + len(pub)
		if len(pub) == 65 && d.st != P2SH {
			return fmt.Errorf("%w: key %d", ErrUncompressedKey, i+1)
		}
		id, err := compressedID(pub)
		if err != nil {
			return err
		}
		if j, dup := seen[id]; dup {
			return fmt.Errorf("%w: keys %d and %d", ErrDuplicateKey, j, i+1)
		}
		seen[id] = i + 1
	}
	if d.st == P2SH && size > maxP2SHScript {
		return fmt.Errorf("%w: redeem script of %d bytes, P2SH allows %d", ErrScriptTooLarge, size, maxP2SHScript)
	}
	d.body = d.format()
	sum, err := DescriptorChecksum(d.body)
	if err != nil {
		return err
	}
	d.checksum = sum
	return nil
}

func isOrNot(b bool) string {
	if b {
		return "is"
	}
	return "is not"
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

// format returns the canonical descriptor without checksum.
func (d *Descriptor) format() string {
	var b strings.Builder
	switch d.st {
	case P2WSH:
		b.WriteString("wsh(")
	case P2SHP2WSH:
		b.WriteString("sh(wsh(")
	case P2SH:
		b.WriteString("sh(")
	}
	if d.sorted {
		b.WriteString("sortedmulti(")
	} else {
		b.WriteString("multi(")
	}
	b.WriteString(strconv.Itoa(d.threshold))
	for i := range d.keys {
		b.WriteByte(',')
		d.keys[i].format(&b)
	}
	b.WriteString(")")
	if d.st == P2SHP2WSH {
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

func (k *keyExpr) format(b *strings.Builder) {
	if k.origin != nil {
		b.WriteByte('[')
		b.WriteString(k.origin.String())
		b.WriteByte(']')
	}
	if k.xpub == nil {
		b.WriteString(hexKey(k.pubkey))
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

// String returns the canonical descriptor with its checksum: hardened
// origin steps written h, keys as xpub/tpub (SLIP-132 forms converted) or
// lowercase hex, with their derivation steps as given.
func (d *Descriptor) String() string { return d.body + "#" + d.checksum }

// Checksum returns the BIP-380 checksum of the canonical descriptor.
func (d *Descriptor) Checksum() string { return d.checksum }

// Network returns the descriptor's network.
func (d *Descriptor) Network() *Network { return d.net }

// ScriptType returns P2WSH, P2SHP2WSH or P2SH.
func (d *Descriptor) ScriptType() ScriptType { return d.st }

// Threshold returns the number of signatures required.
func (d *Descriptor) Threshold() int { return d.threshold }

// Sorted reports whether the descriptor is sortedmulti (BIP-67 key order).
func (d *Descriptor) Sorted() bool { return d.sorted }

// IsRange reports whether the keys end in /*, so that the descriptor has
// one script per index.
func (d *Descriptor) IsRange() bool { return d.ranged }

// HasChange reports whether the descriptor has a multipath step (<0;1>),
// whose second alternative is the change branch.
func (d *Descriptor) HasChange() bool { return d.nBranches > 1 }

// Keys returns a record for each extended key, in descriptor order (plain
// hex keys have none and are skipped). A key written without origin gets
// its own fingerprint and an empty path as origin. The records are copies.
func (d *Descriptor) Keys() []*KeyRecord {
	var out []*KeyRecord
	for i := range d.keys {
		k := &d.keys[i]
		if k.xpub == nil {
			continue
		}
		xk := *k.xpub
		r := &KeyRecord{Key: &xk}
		if k.origin != nil {
			r.Origin = KeyOrigin{Fingerprint: k.origin.Fingerprint, Path: slices.Clone(k.origin.Path)}
		} else {
			r.Origin = KeyOrigin{Fingerprint: k.xpub.Fingerprint(), Path: Path{}}
		}
		out = append(out, r)
	}
	return out
}

// Derived is the script of one address of a descriptor, with what a PSBT
// needs to spend from it.
type Derived struct {
	Change bool
	Index  uint32

	Script        []byte // the multisig script itself
	WitnessScript []byte // = Script for wsh and sh(wsh), nil for sh
	RedeemScript  []byte // sh: Script; sh(wsh): 0x0020||sha256(Script); nil for wsh
	ScriptPubKey  []byte
	Address       string
	Keys          []DerivedKey // in script order (BIP-67 sorted for sortedmulti)
}

// DerivedKey is one public key of a derived script with its origin: the
// master fingerprint and the full path from the master key, e.g.
// 48h/1h/0h/2h/0/5.
type DerivedKey struct {
	PubKey []byte
	Origin KeyOrigin
}

// branchFor returns the branch of change (0 receive, 1 change).
func (d *Descriptor) branchFor(change bool) (int, error) {
	if !change {
		return 0, nil
	}
	if d.nBranches < 2 {
		return 0, ErrNoChange
	}
	return 1, nil
}

// checkRange checks that indexes from..from+count-1 can be derived.
func (d *Descriptor) checkRange(from, count uint32) error {
	if !d.ranged {
		if from != 0 || count > 1 {
			return fmt.Errorf("%w: only index 0 exists", ErrNotRanged)
		}
		return nil
	}
	if from >= Hardened || count > Hardened-from {
		return fmt.Errorf("%w: index beyond 2^31-1", ErrHardenedDerivation)
	}
	return nil
}

// Derive returns the script, address and keys of index on the receive
// branch (change false) or the change branch. Change needs a multipath
// step (ErrNoChange); a descriptor without /* has index 0 only
// (ErrNotRanged). In the rare case that a key has no valid child at index,
// the error wraps ErrInvalidChild.
func (d *Descriptor) Derive(change bool, index uint32) (*Derived, error) {
	b, err := d.branchFor(change)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d.deriveBranch(b, index)
}

// deriveBranch derives index on branch b (alternative b of the multipath
// step).
func (d *Descriptor) deriveBranch(b int, index uint32) (*Derived, error) {
	if err := d.checkRange(index, 1); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	var err error
	out := &Derived{Change: b > 0, Index: index, Keys: make([]DerivedKey, len(d.keys))}
	// Child keys of ranged extended keys, converted to affine together.
	var pts []btcec.JacobianPoint
	var ptKeys []int
	if d.ranged {
		pts = make([]btcec.JacobianPoint, 0, len(d.keys))
		ptKeys = make([]int, 0, len(d.keys))
	}
	for i := range d.keys {
		k := &d.keys[i]
		dk := &out.Keys[i]
		if k.xpub == nil {
			dk.PubKey = slices.Clone(k.pubkey)
			if k.origin != nil {
				dk.Origin = KeyOrigin{Fingerprint: k.origin.Fingerprint, Path: slices.Clone(k.origin.Path)}
			} else {
				dk.Origin = KeyOrigin{Fingerprint: Fingerprint(Hash160(k.pubkey)[:4]), Path: Path{}}
			}
			continue
		}
		br := k.branch(b)
		var path Path
		if k.origin != nil {
			dk.Origin.Fingerprint = k.origin.Fingerprint
			path = append(path, k.origin.Path...)
		} else {
			dk.Origin.Fingerprint = k.xpub.Fingerprint()
		}
		path = append(path, k.steps...)
		if k.multi != nil {
			path = append(path, k.multi[min(b, len(k.multi)-1)])
			path = append(path, k.post...)
		}
		if k.wild {
			pts = append(pts, btcec.JacobianPoint{})
			if err := br.childPoint(index, &pts[len(pts)-1]); err != nil {
				return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
			}
			ptKeys = append(ptKeys, i)
			path = append(path, index)
		} else {
			dk.PubKey = br.PublicKey()
		}
		if path == nil {
			path = Path{}
		}
		dk.Origin.Path = path
	}
	if len(pts) > 0 {
		pubs := make([][33]byte, len(pts))
		batchCompress(pts, pubs, make([]btcec.FieldVal, len(pts)))
		for j, i := range ptKeys {
			out.Keys[i].PubKey = pubs[j][:]
		}
	}
	if d.sorted {
		slices.SortStableFunc(out.Keys, func(a, b DerivedKey) int { return bytes.Compare(a.PubKey, b.PubKey) })
	}
	pubs := make([][]byte, len(out.Keys))
	for i := range out.Keys {
		pubs[i] = out.Keys[i].PubKey
	}
	if err := checkDistinct(pubs); err != nil {
		return nil, fmt.Errorf("descriptor: index %d: %w", index, err)
	}
	out.Script = multisigScript(d.threshold, pubs)
	switch d.st {
	case P2WSH:
		out.WitnessScript = out.Script
		out.ScriptPubKey = p2wshScript(out.Script)
	case P2SHP2WSH:
		out.WitnessScript = out.Script
		out.RedeemScript = p2wshScript(out.Script)
		out.ScriptPubKey = p2shScript(out.RedeemScript)
	case P2SH:
		out.RedeemScript = out.Script
		out.ScriptPubKey = p2shScript(out.Script)
	}
	out.Address, err = AddressFromScript(out.ScriptPubKey, d.net)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return out, nil
}

// checkDistinct refuses a script with the same key twice (possible only if
// two different extended keys derive the same child).
func checkDistinct(pubs [][]byte) error {
	for i := range pubs {
		for j := i + 1; j < len(pubs); j++ {
			if bytes.Equal(pubs[i], pubs[j]) {
				return fmt.Errorf("%w: keys derive to the same public key", ErrDuplicateKey)
			}
		}
	}
	return nil
}

// DeriveScriptPubKeys returns the output scripts of indexes from to
// from+count-1 on the receive or change branch: the fast path of gap
// scans. Each script costs one non-hardened derivation per cosigner from
// the branch keys computed when the descriptor was parsed.
func (d *Descriptor) DeriveScriptPubKeys(change bool, from, count uint32) ([][]byte, error) {
	b, err := d.branchFor(change)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if err := d.checkRange(from, count); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if !d.ranged {
		if count == 0 {
			return [][]byte{}, nil
		}
		dv, err := d.Derive(change, 0)
		if err != nil {
			return nil, err
		}
		return [][]byte{dv.ScriptPubKey}, nil
	}
	n := len(d.keys)
	branches := make([]*ExtendedKey, n)
	for i := range d.keys {
		branches[i] = d.keys[i].branch(b)
	}
	// Derive in chunks, converting each chunk's points to affine
	// coordinates with one field inversion.
	const chunk = 64
	pts := make([]btcec.JacobianPoint, chunk*n)
	keyBuf := make([][33]byte, chunk*n)
	scratch := make([]btcec.FieldVal, chunk*n)
	pubs := make([][]byte, n)
	script := make([]byte, 0, 3+2+34*n)
	out := make([][]byte, 0, count)
	for start := uint64(from); start < uint64(from)+uint64(count); start += chunk {
		m := min(uint64(chunk), uint64(from)+uint64(count)-start)
		for j := uint64(0); j < m; j++ {
			idx := uint32(start + j)
			for i, br := range branches {
				if err := br.childPoint(idx, &pts[int(j)*n+i]); err != nil {
					return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
				}
			}
		}
		k := int(m) * n
		batchCompress(pts[:k], keyBuf[:k], scratch[:k])
		for j := 0; j < int(m); j++ {
			for i := range pubs {
				pubs[i] = keyBuf[j*n+i][:]
			}
			if d.sorted {
				slices.SortFunc(pubs, bytes.Compare)
			}
			if err := checkDistinct(pubs); err != nil {
				return nil, fmt.Errorf("descriptor: index %d: %w", start+uint64(j), err)
			}
			script = script[:0]
			script = appendNumber(script, d.threshold)
			for _, p := range pubs {
				script = appendPush(script, p)
			}
			script = appendNumber(script, n)
			script = append(script, opCheckMultisig)
			out = append(out, wrapScript(d.st, script))
		}
	}
	return out, nil
}

// wrapScript returns the output script of a multisig script.
func wrapScript(st ScriptType, script []byte) []byte {
	switch st {
	case P2WSH:
		h := sha256.Sum256(script)
		return append([]byte{op0, 32}, h[:]...)
	case P2SHP2WSH:
		return p2shScript(p2wshScript(script))
	}
	return p2shScript(script)
}
