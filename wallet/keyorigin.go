package wallet

import (
	"errors"
	"fmt"
	"strings"
)

// ErrOriginMismatch is returned when a key's origin does not agree with the
// key: its depth, child index or parent fingerprint.
var ErrOriginMismatch = errors.New("key origin does not match the key")

// ErrPrivateKey is returned where a private key is not allowed: in key
// records and in descriptors, which kinko only handles watch-only.
var ErrPrivateKey = errors.New("private key not allowed here")

// ErrUnknownScriptType is returned by ParseScriptType for an unknown name.
var ErrUnknownScriptType = errors.New("unknown script type")

// KeyOrigin tells where a key comes from (BIP-380): the fingerprint of the
// master key and the derivation path from it.
type KeyOrigin struct {
	Fingerprint Fingerprint
	Path        Path
}

// String returns the origin as in a descriptor, without brackets:
// "d34db33f/48h/1h/0h/2h".
func (o KeyOrigin) String() string {
	var b strings.Builder
	b.WriteString(o.Fingerprint.String())
	writePath(&b, o.Path)
	return b.String()
}

// parseOrigin parses the inside of a key origin, "d34db33f/48h/1h", with
// the given hardened markers.
func parseOrigin(s, markers string) (KeyOrigin, error) {
	fp, rest, _ := strings.Cut(s, "/")
	f, err := ParseFingerprint(fp)
	if err != nil {
		return KeyOrigin{}, err
	}
	o := KeyOrigin{Fingerprint: f, Path: Path{}}
	if len(s) == len(fp) {
		return o, nil
	}
	for n, e := range strings.Split(rest, "/") {
		idx, err := parsePathElement(e, markers)
		if err != nil {
			return KeyOrigin{}, fmt.Errorf("%w: origin element %d: %v", ErrInvalidPath, n+1, err)
		}
		o.Path = append(o.Path, idx)
	}
	return o, nil
}

// KeyRecord is a cosigner's extended public key with its origin, as a
// signer exports it: "[d34db33f/48h/1h/0h/2h]tpub…".
type KeyRecord struct {
	Origin KeyOrigin
	Key    *ExtendedKey
}

// String returns "[origin]xpub".
func (r *KeyRecord) String() string {
	return "[" + r.Origin.String() + "]" + r.Key.String()
}

// ParseKeyRecord parses "[fingerprint/path]xpub" (hardened markers h, H or
// '; surrounding white space ignored). The key must be public (an xprv is
// ErrPrivateKey), of net's family (see ParseExtendedKey), and agree with its
// origin (see KeyRecord.Validate).
func ParseKeyRecord(s string, net *Network) (*KeyRecord, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, errors.New("key record: missing key origin \"[fingerprint/path]\"")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return nil, errors.New("key record: key origin lacks \"]\"")
	}
	origin, err := parseOrigin(s[1:end], "hH'")
	if err != nil {
		return nil, fmt.Errorf("key record: %w", err)
	}
	keyStr := s[end+1:]
	if strings.ContainsAny(keyStr, "/[]") {
		return nil, errors.New("key record: unexpected text after the key (derivation steps belong in a descriptor)")
	}
	key, err := ParseExtendedKey(keyStr, net)
	if err != nil {
		return nil, fmt.Errorf("key record: %w", err)
	}
	r := &KeyRecord{Origin: origin, Key: key}
	if err := r.Validate(); err != nil {
		key.Zero()
		return nil, err
	}
	return r, nil
}

// Validate checks that the record's key is public and agrees with its
// origin: depth equal to the length of the origin path, child index equal
// to the last path element, and, at depth 1, parent fingerprint equal to
// the origin fingerprint (at depth 0, the key's own fingerprint).
func (r *KeyRecord) Validate() error {
	k := r.Key
	switch {
	case k == nil:
		return errors.New("key record: no key")
	case k.IsPrivate():
		return fmt.Errorf("key record: %w: extended private key", ErrPrivateKey)
	case int(k.Depth()) != len(r.Origin.Path):
		return fmt.Errorf("key record: %w: key depth %d, origin path %s has %d elements",
			ErrOriginMismatch, k.Depth(), r.Origin.Path, len(r.Origin.Path))
	case k.Depth() == 0 && k.Fingerprint() != r.Origin.Fingerprint:
		return fmt.Errorf("key record: %w: master key fingerprint is %s, origin says %s",
			ErrOriginMismatch, k.Fingerprint(), r.Origin.Fingerprint)
	case k.Depth() > 0 && k.ChildIndex() != r.Origin.Path[len(r.Origin.Path)-1]:
		var b strings.Builder
		writeIndex(&b, k.ChildIndex())
		return fmt.Errorf("key record: %w: key is child %s, origin path %s ends otherwise",
			ErrOriginMismatch, b.String(), r.Origin.Path)
	case k.Depth() == 1 && k.ParentFingerprint() != r.Origin.Fingerprint:
		return fmt.Errorf("key record: %w: key's parent fingerprint is %s, origin says %s",
			ErrOriginMismatch, k.ParentFingerprint(), r.Origin.Fingerprint)
	}
	return nil
}

// NewKeyRecord derives the key at p from a master key and returns its
// public key with origin master fingerprint + p. Hardened steps need a
// private master; private intermediate keys are zeroed.
func NewKeyRecord(master *ExtendedKey, p Path) (*KeyRecord, error) {
	if master.Depth() != 0 {
		return nil, fmt.Errorf("key record: %w: key at depth %d is not a master key", ErrOriginMismatch, master.Depth())
	}
	k, err := master.Derive(p)
	if err != nil {
		return nil, fmt.Errorf("key record: %w", err)
	}
	pub := k.Neuter()
	k.Zero()
	return &KeyRecord{
		Origin: KeyOrigin{Fingerprint: master.Fingerprint(), Path: append(Path{}, p...)},
		Key:    pub,
	}, nil
}

// ScriptType is the kind of output a wallet uses: one of four multisig
// types, or one of two single-key types.
type ScriptType int

// The script types kinko supports.
const (
	P2WSH      ScriptType = iota + 1 // native segwit: wsh(multi)
	P2SHP2WSH                        // nested segwit: sh(wsh(multi))
	P2SH                             // legacy: sh(multi)
	P2WPKH                           // single key, native segwit: wpkh(KEY)
	P2SHP2WPKH                       // single key, nested segwit: sh(wpkh(KEY))
	P2TR                             // taproot: tr(KEY,multi_a or sortedmulti_a leaves)
)

// String returns "wsh", "sh-wsh", "sh", "wpkh", "sh-wpkh" or "tr".
func (t ScriptType) String() string {
	switch t {
	case P2WSH:
		return "wsh"
	case P2SHP2WSH:
		return "sh-wsh"
	case P2SH:
		return "sh"
	case P2WPKH:
		return "wpkh"
	case P2SHP2WPKH:
		return "sh-wpkh"
	case P2TR:
		return "tr"
	}
	return fmt.Sprintf("ScriptType(%d)", int(t))
}

// singleKey reports whether t is a single-key type (wpkh, sh-wpkh).
func (t ScriptType) singleKey() bool { return t == P2WPKH || t == P2SHP2WPKH }

// ParseScriptType parses "wsh", "sh-wsh", "sh", "wpkh", "sh-wpkh" or "tr"
// (also "p2wsh", "p2sh-p2wsh", "p2sh", "p2wpkh", "p2sh-p2wpkh", "p2tr";
// any case).
func ParseScriptType(s string) (ScriptType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "wsh", "p2wsh":
		return P2WSH, nil
	case "sh-wsh", "p2sh-p2wsh":
		return P2SHP2WSH, nil
	case "sh", "p2sh":
		return P2SH, nil
	case "wpkh", "p2wpkh":
		return P2WPKH, nil
	case "sh-wpkh", "p2sh-p2wpkh":
		return P2SHP2WPKH, nil
	case "tr", "p2tr":
		return P2TR, nil
	}
	return 0, fmt.Errorf("%w %q (want wsh, sh-wsh, sh, tr, wpkh or sh-wpkh)", ErrUnknownScriptType, s)
}

// AccountPath returns the standard path of an account key: for a
// multisig cosigner BIP-48 m/48h/coin h/account h/2h for P2WSH and …/1h
// for P2SH-P2WSH (coin 0 on mainnet, 1 elsewhere), …/3h for P2TR (the
// script type wallets that follow BIP-48 use for tr()), and BIP-45 m/45h for
// legacy P2SH, which has no account level (account is ignored); for a
// single key BIP-84 m/84h/coin h/account h for P2WPKH and BIP-49
// m/49h/coin h/account h for P2SH-P2WPKH. It panics on an unknown script
// type or an account of 2^31 or more, both programming errors.
func AccountPath(net *Network, st ScriptType, account uint32) Path {
	if account >= Hardened {
		panic(fmt.Sprintf("wallet.AccountPath: account %d out of range", account))
	}
	h := func(i uint32) uint32 { return i | Hardened }
	switch st {
	case P2WSH:
		return Path{h(48), h(net.CoinType), h(account), h(2)}
	case P2SHP2WSH:
		return Path{h(48), h(net.CoinType), h(account), h(1)}
	case P2TR:
		return Path{h(48), h(net.CoinType), h(account), h(3)}
	case P2SH:
		return Path{h(45)}
	case P2WPKH:
		return Path{h(84), h(net.CoinType), h(account)}
	case P2SHP2WPKH:
		return Path{h(49), h(net.CoinType), h(account)}
	}
	panic(fmt.Sprintf("wallet.AccountPath: unknown script type %d", int(st)))
}
