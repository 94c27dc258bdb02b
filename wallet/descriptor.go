package wallet

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// Descriptor is a parsed watch-only output descriptor (BIP-380 to 383,
// 386, 387, 389): a multisig, wsh(multi), sh(wsh(multi)) or sh(multi)
// with multi or sortedmulti, or tr(KEY,TREE) whose leaves are multi_a,
// sortedmulti_a or pk, or a single key, wpkh(KEY) or sh(wpkh(KEY)). It never holds
// a private key. A Descriptor is immutable and safe for concurrent use.
//
// Key origins are kept as written and not checked against the keys (BIP-380
// allows any origin); call Validate on the records of Keys to check them.
type Descriptor struct {
	net       *Network
	st        ScriptType
	sorted    bool
	threshold int // 1 for a single key
	keys      []keyExpr
	nBranches int  // alternatives of the multipath step, 1 if none
	ranged    bool // every key ends in /*
	body      string
	checksum  string

	// tr() only: the internal key (index into keys), the leaves and the
	// tree over them.
	internal int
	leaves   []tapLeafExpr
	tree     *tapNode
}

// ParseDescriptor parses a descriptor kinko can watch: a multisig, wsh(M),
// sh(wsh(M)) or sh(M), where M is multi(k,KEY,…) or sortedmulti(k,KEY,…),
// or a single key, wpkh(KEY) or sh(wpkh(KEY)), or a taproot multisig
// tr(KEY,TREE): TREE a leaf or {TREE,TREE} (at most 64 leaves), a leaf
// multi_a(k,KEY,…), sortedmulti_a(k,KEY,…) (at most 20 keys; BIP-387
// allows 999) or pk(KEY); keys under tr() may also be 64-digit x-only
// hex keys, and tr(KEY) without a tree is refused as unsupported. A KEY is an optional origin
// "[fingerprint/path]" followed either by a hex public key or by an
// xpub/tpub with derivation steps: fixed "/N", at most one multipath
// "/<a;b>" (BIP-389), and an optional final "/*". Keys under wsh() and
// wpkh() must be compressed (BIP-382). Hardened markers h and ' are
// accepted in origins; hardened steps after a key, private keys (xprv,
// WIF) and every other script expression are refused. A trailing
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
	if strings.HasPrefix(body, "tr(") {
		if err := d.parseTr(body, net); err != nil {
			return nil, fmt.Errorf("descriptor: %w", err)
		}
		return d, nil
	}
	args, err := d.parseScript(body)
	if err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	if d.st.singleKey() {
		d.threshold = 1
	} else {
		if len(args) < 2 {
			return nil, fmt.Errorf("descriptor: %w: multisig without keys", ErrInvalidDescriptor)
		}
		d.threshold, err = parseThreshold(args[0])
		if err != nil {
			return nil, fmt.Errorf("descriptor: %w", err)
		}
		args = args[1:]
	}
	if len(args) > 20 {
		return nil, fmt.Errorf("descriptor: %w: %d keys, at most 20", ErrTooManyKeys, len(args))
	}
	d.keys = make([]keyExpr, len(args))
	budget := maxDerivations
	for i, a := range args {
		if err := parseKeyExpr(a, net, &d.keys[i], &budget, false); err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
	}
	if err := d.finish(net); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d, nil
}

// parseScript parses the script expressions around the multisig or the
// single key, sets d.st, and returns the arguments of multi() (threshold
// and keys) or the one key of wpkh().
func (d *Descriptor) parseScript(s string) ([]string, error) {
	name, inner, err := splitCall(s)
	if err != nil {
		return nil, err
	}
	switch name {
	case "wsh":
		d.st = P2WSH
	case "wpkh":
		d.st = P2WPKH
		return singleKeyArg(inner)
	case "sh":
		d.st = P2SH
		n2, in2, err := splitCall(inner)
		if err != nil {
			return nil, err
		}
		switch n2 {
		case "wsh":
			d.st = P2SHP2WSH
			inner = in2
		case "wpkh":
			d.st = P2SHP2WPKH
			return singleKeyArg(in2)
		case "sh":
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
	case "wsh", "sh", "wpkh", "tr":
		return nil, fmt.Errorf("%w: %s() inside %s", ErrInvalidDescriptor, mname, d.st.wrapper())
	default:
		return nil, unsupported(mname)
	}
	if strings.ContainsAny(margs, "()") {
		return nil, fmt.Errorf("%w: unexpected parenthesis in the arguments of %s()", ErrInvalidDescriptor, mname)
	}
	return strings.Split(margs, ","), nil
}

// singleKeyArg checks that the argument of wpkh() is one key expression.
func singleKeyArg(arg string) ([]string, error) {
	if strings.ContainsAny(arg, "()") {
		return nil, fmt.Errorf("%w: wpkh() takes a key, not a script expression", ErrInvalidDescriptor)
	}
	if strings.Contains(arg, ",") {
		return nil, fmt.Errorf("%w: wpkh() takes one key", ErrInvalidDescriptor)
	}
	return []string{arg}, nil
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
	case "multi_a", "sortedmulti_a":
		return fmt.Errorf("%w: %s outside tr(); tapscript multisig goes in tr(KEY,%s(…))", ErrInvalidDescriptor, funcName(name), name)
	case "pk", "pkh", "combo", "raw", "addr", "rawtr":
		return fmt.Errorf("%w: %s; kinko handles wsh(), sh(wsh()) and sh() around multi() or sortedmulti(), tr() with multi_a() or sortedmulti_a() leaves, and wpkh() and sh(wpkh())",
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

// NewMultisig returns the descriptor of a threshold-of-len(keys) multisig
// of type st over the records' keys, each with its origin and "/<0;1>/*".
// It is sortedmulti (BIP-67), so the order of keys does not change the
// addresses; for P2TR it is tr(NUMS,sortedmulti_a(…)), whose internal key
// is BIP-341's unspendable [NUMSKey], so that it is spent only by the
// script path. Every record must pass Validate and be of net's family (net
// nil: the first key's network).
func NewMultisig(net *Network, st ScriptType, threshold int, keys []*KeyRecord) (*Descriptor, error) {
	return newMultisig(net, st, true, threshold, keys)
}

// NewUnsortedMultisig is NewMultisig with multi() (multi_a() for P2TR)
// instead of sortedmulti():
// the keys go into the script in the order given, which every signer must
// then register in that same order.
func NewUnsortedMultisig(net *Network, st ScriptType, threshold int, keys []*KeyRecord) (*Descriptor, error) {
	return newMultisig(net, st, false, threshold, keys)
}

func newMultisig(net *Network, st ScriptType, sorted bool, threshold int, keys []*KeyRecord) (*Descriptor, error) {
	if st.singleKey() {
		return nil, fmt.Errorf("descriptor: %w %s for a multisig: it is a single-key type", ErrUnknownScriptType, st)
	}
	if st != P2WSH && st != P2SHP2WSH && st != P2SH && st != P2TR {
		return nil, fmt.Errorf("descriptor: %w %s", ErrUnknownScriptType, st)
	}
	if threshold < 1 {
		return nil, fmt.Errorf("descriptor: %w: threshold %d", ErrThreshold, threshold)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("descriptor: %w: no keys", ErrInvalidDescriptor)
	}
	if len(keys) > 20 {
		return nil, fmt.Errorf("descriptor: %w: %d keys, at most 20", ErrTooManyKeys, len(keys))
	}
	if st == P2TR {
		return newTaprootMultisig(net, sorted, threshold, keys)
	}
	d := &Descriptor{st: st, sorted: sorted, threshold: threshold, keys: make([]keyExpr, len(keys))}
	for i, r := range keys {
		k, err := recordKeyExpr(net, r)
		if err != nil {
			return nil, fmt.Errorf("descriptor: key %d: %w", i+1, err)
		}
		d.keys[i] = k
	}
	if net == nil {
		net = keys[0].Key.Network()
	}
	if err := d.finish(net); err != nil {
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return d, nil
}

// recordKeyExpr returns the key expression "[origin]xpub/<0;1>/*" of a
// key record, which must pass Validate and be of net's family (if net is
// not nil).
func recordKeyExpr(net *Network, r *KeyRecord) (keyExpr, error) {
	if r == nil {
		return keyExpr{}, errors.New("no key record")
	}
	if err := r.Validate(); err != nil {
		return keyExpr{}, err
	}
	if net != nil && !SameFamily(net, r.Key.Network()) {
		return keyExpr{}, fmt.Errorf("%w: %s key, not for %s", ErrNetworkMismatch, r.Key.Network(), net)
	}
	xk := *r.Key
	origin := KeyOrigin{Fingerprint: r.Origin.Fingerprint, Path: slices.Clone(r.Origin.Path)}
	k := keyExpr{origin: &origin, xpub: &xk, multi: []uint32{0, 1}, post: Path{}, wild: true}
	if err := k.derive(); err != nil {
		return keyExpr{}, err
	}
	return k, nil
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
		if err := d.addMultipath(k); err != nil {
			return err
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

// format returns the canonical descriptor without checksum.
func (d *Descriptor) format() string {
	var b strings.Builder
	switch d.st {
	case P2WPKH:
		b.WriteString("wpkh(")
	case P2SHP2WPKH:
		b.WriteString("sh(wpkh(")
	case P2WSH:
		b.WriteString("wsh(")
	case P2SHP2WSH:
		b.WriteString("sh(wsh(")
	case P2SH:
		b.WriteString("sh(")
	}
	if d.st.singleKey() {
		d.keys[0].format(&b)
		b.WriteString(")")
		if d.st == P2SHP2WPKH {
			b.WriteString(")")
		}
		return b.String()
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

// String returns the canonical descriptor with its checksum: hardened
// origin steps written h, keys as xpub/tpub (SLIP-132 forms converted) or
// lowercase hex, with their derivation steps as given.
func (d *Descriptor) String() string { return d.body + "#" + d.checksum }

// Checksum returns the BIP-380 checksum of the canonical descriptor.
func (d *Descriptor) Checksum() string { return d.checksum }

// Network returns the descriptor's network.
func (d *Descriptor) Network() *Network { return d.net }

// ScriptType returns P2WSH, P2SHP2WSH, P2SH or P2TR for a multisig, P2WPKH
// or P2SHP2WPKH for a single key.
func (d *Descriptor) ScriptType() ScriptType { return d.st }

// IsMultisig reports whether the descriptor is a multisig (wsh, sh-wsh,
// sh); false for a single key (wpkh, sh-wpkh).
func (d *Descriptor) IsMultisig() bool { return !d.st.singleKey() }

// Threshold returns the number of signatures required: 1 for a single key;
// for tr(), that of the first leaf.
func (d *Descriptor) Threshold() int { return d.threshold }

// Sorted reports whether the descriptor is sortedmulti (BIP-67 key order)
// or, for tr(), whether every leaf is sortedmulti_a; false for a single
// key.
func (d *Descriptor) Sorted() bool { return d.sorted }

// IsRange reports whether the keys end in /*, so that the descriptor has
// one script per index.
func (d *Descriptor) IsRange() bool { return d.ranged }

// HasChange reports whether the descriptor has a multipath step (<0;1>),
// whose second alternative is the change branch.
func (d *Descriptor) HasChange() bool { return d.nBranches > 1 }

// Keys returns a record for each extended key, in descriptor order (plain
// hex keys have none and are skipped; a tr() key written twice is listed
// once; a tr() internal key that is an extended key is listed too). A key written without origin gets
// its own fingerprint and an empty path as origin. The records are copies.
func (d *Descriptor) Keys() []*KeyRecord {
	var out []*KeyRecord
	seen := make(map[string]bool)
	for i := range d.keys {
		k := &d.keys[i]
		if k.xpub == nil {
			continue
		}
		if d.st == P2TR {
			// A key may be in several leaves: list it once.
			var b strings.Builder
			k.format(&b)
			if seen[b.String()] {
				continue
			}
			seen[b.String()] = true
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

// addMultipath counts k's multipath alternatives into d's branches: every
// key with a multipath step must have as many alternatives.
func (d *Descriptor) addMultipath(k *keyExpr) error {
	if k.multi == nil {
		return nil
	}
	if d.nBranches == 1 {
		d.nBranches = len(k.multi)
	} else if len(k.multi) != d.nBranches {
		return fmt.Errorf("%w: %d and %d alternatives", ErrMultipathMismatch, d.nBranches, len(k.multi))
	}
	return nil
}
