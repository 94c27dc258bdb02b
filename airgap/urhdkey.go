package airgap

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	fxcbor "github.com/fxamacker/cbor/v2"

	"github.com/kinko-project/kinko/wallet"
)

// crypto-hdkey / hdkey (BCR-2020-007): a cosigner's key record, keypaths and keys.

// EncodeKeyRecordUR encodes a cosigner's key record as a "crypto-hdkey" UR
// body: a tag-free map with the key data, chain code, use-info (coin type
// 0, network 0 for mainnet or 1 for the test networks), origin keypath
// (components, source fingerprint, depth) and, below the master, the parent
// fingerprint. The record must pass Validate; a zero origin fingerprint is
// refused (BCR-2020-007 requires a non-zero source fingerprint).
func EncodeKeyRecordUR(rec *wallet.KeyRecord) (urType string, cbor []byte, err error) {
	if rec == nil || rec.Key == nil {
		return "", nil, errors.New("airgap: key record ur: no key")
	}
	if err := rec.Validate(); err != nil {
		return "", nil, fmt.Errorf("key record ur: %w", err)
	}
	m, err := xpubHDKeyMap(rec.Key, &rec.Origin)
	if err != nil {
		return "", nil, fmt.Errorf("key record ur: %w", err)
	}
	body, err := walletEncMode.Marshal(m)
	if err != nil {
		return "", nil, fmt.Errorf("key record ur: %w", err)
	}
	// The decoder rebuilds the xpub from these fields; make sure it
	// rebuilds this one.
	back, err := DecodeKeyRecordUR(URTypeCryptoHDKey, body, rec.Key.Network())
	if err != nil {
		return "", nil, fmt.Errorf("key record ur: cannot be decoded back: %w", err)
	}
	if back.String() != rec.String() {
		return "", nil, errors.New("airgap: key record ur: does not decode back to the same record")
	}
	return URTypeCryptoHDKey, body, nil
}

// DecodeKeyRecordUR decodes a cosigner's key record from the body of a
// "crypto-hdkey" or "hdkey" UR, or a "crypto-account" UR, of which it takes
// the P2WSH multisig cosigner key: wsh(cosigner(KEY)) (or wsh(KEY), as the
// first revision of BCR-2020-015 writes it) at m/48h/coin h/account h/2h;
// an account without one is an error listing what it holds.
//
// The key must be public, with a chain code and an origin giving the
// master fingerprint (crypto-account supplies it when the key omits it)
// and the full path, which must agree with the depth; the record must
// pass Validate. The network comes from the key's use-info (absent:
// mainnet) and must be of net's family; with net nil it is Mainnet or
// Testnet. Children paths are ignored. Errors wrap wallet.ErrPrivateKey,
// wallet.ErrNetworkMismatch, wallet.ErrOriginMismatch, ErrTooLarge or a
// *FormatError, as the case may be.
func DecodeKeyRecordUR(urType string, cbor []byte, net *wallet.Network) (*wallet.KeyRecord, error) {
	switch urType {
	case URTypeCryptoHDKey, URTypeHDKey:
		v, err := decodeWalletCBOR(urType, cbor)
		if err != nil {
			return nil, err
		}
		if n, c, ok := tagged(v); ok && (n == tagHDKey || n == tagHDKey+tagV2) {
			v = c
		}
		h, err := parseHDKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", urType, err)
		}
		rec, err := h.keyRecord(net, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", urType, err)
		}
		return rec, nil
	case URTypeCryptoAccount:
		v, err := decodeWalletCBOR(urType, cbor)
		if err != nil {
			return nil, err
		}
		rec, err := decodeAccount(v, wallet.P2WSH, net)
		if err != nil {
			return nil, fmt.Errorf("crypto-account: %w", err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("ur type %s is not a key record (want crypto-hdkey, hdkey or crypto-account): %w",
		quoteShort(urType), ErrUnknownFormat)
}

// Keypaths (BCR-2020-007 crypto-keypath).

type compKind uint8

const (
	compIndex compKind = iota
	compRange
	compWildcard
	compPair
)

// urPathComp is one path component: an index, a range [a, b], a wildcard,
// or a pair <a;b> (each with its own hardened flag).
type urPathComp struct {
	kind         compKind
	a, b         uint32
	hardA, hardB bool
}

// urKeypath is a decoded crypto-keypath.
type urKeypath struct {
	comps    []urPathComp
	sourceFP wallet.Fingerprint
	hasFP    bool
	depth    int // -1 when absent
}

// parseKeypath decodes a tagged crypto-keypath (304 or 40304).
func parseKeypath(what string, v any) (*urKeypath, error) {
	n, c, ok := tagged(v)
	if !ok {
		return nil, unexpected("keypath", what, v, "tag 304 (crypto-keypath)")
	}
	if !isTag(n, tagKeypath) {
		return nil, unknownTag("keypath", n, "for the "+what)
	}
	m, err := asMap("keypath", what, c)
	if err != nil {
		return nil, err
	}
	kp := &urKeypath{depth: -1}
	// components is required by the CDDL, but BCR-2020-010's first
	// revision omits it for a master key; absent means empty.
	if cv, ok := field(m, 1); ok {
		arr, err := asArray("keypath", what+" components", cv)
		if err != nil {
			return nil, err
		}
		if kp.comps, err = parseComponents(what, arr); err != nil {
			return nil, err
		}
	}
	if fv, ok := field(m, 2); ok {
		u, err := asUint("keypath", what+" source-fingerprint", fv, math.MaxUint32)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(kp.sourceFP[:], uint32(u))
		kp.hasFP = true
	}
	if dv, ok := field(m, 3); ok {
		u, err := asUint("keypath", what+" depth", dv, math.MaxUint8)
		if err != nil {
			return nil, err
		}
		kp.depth = int(u)
	}
	return kp, nil
}

// parseComponents decodes the components array: (index, hardened),
// ([low, high], hardened), ([], hardened) and [a, ha, b, hb] items.
func parseComponents(what string, arr []any) ([]urPathComp, error) {
	out := make([]urPathComp, 0, len(arr)/2+1)
	hardened := func(i int) (bool, error) {
		if i >= len(arr) {
			return false, formatErr("keypath", what+": component without is-hardened flag")
		}
		return asBool("keypath", what+" is-hardened", arr[i])
	}
	index := func(v any) (uint32, error) {
		u, err := asUint("keypath", what+" child index", v, uint64(wallet.Hardened-1))
		return uint32(u), err
	}
	for i := 0; i < len(arr); {
		var c urPathComp
		var err error
		switch x := arr[i].(type) {
		case uint64:
			c.kind = compIndex
			if c.a, err = index(x); err != nil {
				return nil, err
			}
			if c.hardA, err = hardened(i + 1); err != nil {
				return nil, err
			}
			i += 2
		case []any:
			switch len(x) {
			case 0:
				c.kind = compWildcard
				if c.hardA, err = hardened(i + 1); err != nil {
					return nil, err
				}
				i += 2
			case 2:
				c.kind = compRange
				if c.a, err = index(x[0]); err != nil {
					return nil, err
				}
				if c.b, err = index(x[1]); err != nil {
					return nil, err
				}
				if c.a >= c.b {
					return nil, formatErr("keypath", what+": child range with low >= high")
				}
				if c.hardA, err = hardened(i + 1); err != nil {
					return nil, err
				}
				c.hardB = c.hardA
				i += 2
			case 4:
				c.kind = compPair
				if c.a, err = index(x[0]); err != nil {
					return nil, err
				}
				if c.hardA, err = asBool("keypath", what+" is-hardened", x[1]); err != nil {
					return nil, err
				}
				if c.b, err = index(x[2]); err != nil {
					return nil, err
				}
				if c.hardB, err = asBool("keypath", what+" is-hardened", x[3]); err != nil {
					return nil, err
				}
				i++
			default:
				return nil, formatErr("keypath", fmt.Sprintf("%s: path component array of %d elements", what, len(x)))
			}
		default:
			return nil, unexpected("keypath", what+" path component", x, "index or array")
		}
		out = append(out, c)
	}
	return out, nil
}

// plainPath returns the components as a derivation path; every component
// must be a single index.
func (kp *urKeypath) plainPath(what string) (wallet.Path, error) {
	p := make(wallet.Path, len(kp.comps))
	for i, c := range kp.comps {
		if c.kind != compIndex {
			return nil, formatErr("keypath", what+" holds a wildcard, range or pair; it must be a plain path")
		}
		p[i] = c.a
		if c.hardA {
			p[i] |= wallet.Hardened
		}
	}
	return p, nil
}

// Keys (BCR-2020-007 crypto-hdkey, BCR-2020-008 crypto-eckey).

// urHDKey is a decoded crypto-hdkey.
type urHDKey struct {
	master, private bool
	keyData         []byte // 33 bytes
	chainCode       []byte // 32 bytes, nil if absent
	hasUse          bool
	coinType        uint64
	network         uint64
	origin          *urKeypath // nil if absent
	children        *urKeypath // nil if absent
	parentFP        wallet.Fingerprint
	hasParentFP     bool
}

// parseHDKey decodes the map of a crypto-hdkey (untagged).
func parseHDKey(v any) (*urHDKey, error) {
	m, err := asMap("hdkey", "key", v)
	if err != nil {
		return nil, err
	}
	h := &urHDKey{}
	if x, ok := field(m, 1); ok {
		if h.master, err = asBool("hdkey", "is-master", x); err != nil {
			return nil, err
		}
	}
	if x, ok := field(m, 2); ok {
		if h.private, err = asBool("hdkey", "is-private", x); err != nil {
			return nil, err
		}
	}
	x, ok := field(m, 3)
	if !ok {
		return nil, formatErr("hdkey", "no key-data")
	}
	if h.keyData, err = asBytes("hdkey", "key-data", x); err != nil {
		return nil, err
	}
	if len(h.keyData) != 33 {
		return nil, formatErr("hdkey", fmt.Sprintf("key-data of %d bytes, want 33", len(h.keyData)))
	}
	if x, ok := field(m, 4); ok {
		if h.chainCode, err = asBytes("hdkey", "chain-code", x); err != nil {
			return nil, err
		}
		if len(h.chainCode) != 32 {
			return nil, formatErr("hdkey", fmt.Sprintf("chain-code of %d bytes, want 32", len(h.chainCode)))
		}
	}
	if x, ok := field(m, 5); ok {
		if h.coinType, h.network, err = parseCoinInfo(x); err != nil {
			return nil, err
		}
		h.hasUse = true
	}
	if x, ok := field(m, 6); ok {
		if h.origin, err = parseKeypath("origin", x); err != nil {
			return nil, err
		}
	}
	if x, ok := field(m, 7); ok {
		if h.children, err = parseKeypath("children", x); err != nil {
			return nil, err
		}
	}
	if x, ok := field(m, 8); ok {
		u, err := asUint("hdkey", "parent-fingerprint", x, math.MaxUint32)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(h.parentFP[:], uint32(u))
		h.hasParentFP = true
	}
	for k, what := range map[uint64]string{9: "name", 10: "note"} {
		if x, ok := field(m, k); ok {
			if _, err := asText("hdkey", what, x); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// parseCoinInfo decodes a tagged crypto-coininfo (305 or 40305).
func parseCoinInfo(v any) (coinType, network uint64, err error) {
	n, c, ok := tagged(v)
	if !ok {
		return 0, 0, unexpected("coin-info", "use-info", v, "tag 305 (crypto-coin-info)")
	}
	if !isTag(n, tagCoinInfo) {
		return 0, 0, unknownTag("coin-info", n, "for the use-info")
	}
	m, err := asMap("coin-info", "use-info", c)
	if err != nil {
		return 0, 0, err
	}
	if x, ok := field(m, 1); ok {
		if coinType, err = asUint("coin-info", "coin type", x, uint64(wallet.Hardened-1)); err != nil {
			return 0, 0, err
		}
	}
	if x, ok := field(m, 2); ok {
		if network, err = asUint("coin-info", "network", x, math.MaxUint32); err != nil {
			return 0, 0, err
		}
	}
	return coinType, network, nil
}

// checkPublic refuses master and private keys.
func (h *urHDKey) checkPublic() error {
	switch {
	case h.master:
		return fmt.Errorf("%w: master key (is-master), which is private", wallet.ErrPrivateKey)
	case h.private || h.keyData[0] == 0x00:
		return fmt.Errorf("%w: private key (is-private)", wallet.ErrPrivateKey)
	case h.keyData[0] != 0x02 && h.keyData[0] != 0x03:
		return formatErr("hdkey", fmt.Sprintf("key-data starts %02x, not a compressed public key", h.keyData[0]))
	}
	return nil
}

// family returns the network family of the key's use-info: Mainnet when
// absent (the registry's default) or coin type 0 network 0, Testnet for
// network 1 or SLIP-44 coin type 1.
func (h *urHDKey) family() (*wallet.Network, error) {
	if !h.hasUse {
		return wallet.Mainnet, nil
	}
	switch {
	case h.coinType != 0 && h.coinType != 1:
		return nil, formatErr("coin-info", fmt.Sprintf("coin type %d is not bitcoin", h.coinType))
	case h.network > 1:
		return nil, formatErr("coin-info", fmt.Sprintf("unknown bitcoin network %d", h.network))
	case h.coinType == 0 && h.network == 0:
		return wallet.Mainnet, nil
	}
	return wallet.Testnet, nil
}

// familyName names a network family for messages.
func familyName(n *wallet.Network) string {
	if n.Family() == wallet.Mainnet {
		return "mainnet"
	}
	return "a test network"
}

// networkFor returns the network the key takes given net: its use-info's
// family when net is nil, net if it is of that family.
func (h *urHDKey) networkFor(net *wallet.Network) (*wallet.Network, error) {
	fam, err := h.family()
	if err != nil {
		return nil, err
	}
	if net == nil {
		return fam, nil
	}
	if !wallet.SameFamily(fam, net) {
		says := "the key's use-info says " + familyName(fam)
		if !h.hasUse {
			says = "the key has no use-info, which means mainnet"
		}
		return nil, fmt.Errorf("%w: %s, not %s", wallet.ErrNetworkMismatch, says, net)
	}
	return net, nil
}

// originPath returns the key's origin path, checked against its depth.
func (h *urHDKey) originPath() (wallet.Path, error) {
	if h.origin == nil {
		return nil, formatErr("hdkey", "no origin keypath (the key's depth, child number and master fingerprint are unknown)")
	}
	p, err := h.origin.plainPath("origin")
	if err != nil {
		return nil, err
	}
	if len(p) > math.MaxUint8 {
		return nil, formatErr("keypath", fmt.Sprintf("origin of %d steps (at most 255)", len(p)))
	}
	if h.origin.depth >= 0 && h.origin.depth != len(p) {
		return nil, fmt.Errorf("%w: origin depth %d, but its path %s has %d steps",
			wallet.ErrOriginMismatch, h.origin.depth, p, len(p))
	}
	return p, nil
}

// extendedKey rebuilds the BIP-32 public key at origin path p for net.
func (h *urHDKey) extendedKey(p wallet.Path, net *wallet.Network) (*wallet.ExtendedKey, error) {
	if h.chainCode == nil {
		return nil, formatErr("hdkey", "no chain code: not an extended key")
	}
	depth := len(p)
	var parent wallet.Fingerprint
	var child uint32
	switch {
	case h.hasParentFP:
		parent = h.parentFP
		if depth == 1 && h.origin.hasFP && parent != h.origin.sourceFP {
			return nil, fmt.Errorf("%w: parent fingerprint %s differs from the source fingerprint %s of a one-step origin",
				wallet.ErrOriginMismatch, parent, h.origin.sourceFP)
		}
	case depth == 1 && h.origin.hasFP:
		parent = h.origin.sourceFP
	case depth > 1:
		return nil, formatErr("hdkey", fmt.Sprintf("no parent-fingerprint for a key at depth %d: its xpub cannot be rebuilt", depth))
	}
	if depth > 0 {
		child = p[depth-1]
	}
	var b [78]byte
	fam := net.Family()
	copy(b[0:4], fam.XPub[:])
	b[4] = byte(depth)
	copy(b[5:9], parent[:])
	binary.BigEndian.PutUint32(b[9:13], child)
	copy(b[13:45], h.chainCode)
	copy(b[45:78], h.keyData)
	return wallet.ParseExtendedKeyBytes(b[:], net)
}

// keyRecord returns the key as a validated record. masterFP, if not nil,
// is the master fingerprint to use when the origin lacks one.
func (h *urHDKey) keyRecord(net *wallet.Network, masterFP *wallet.Fingerprint) (*wallet.KeyRecord, error) {
	if err := h.checkPublic(); err != nil {
		return nil, err
	}
	net, err := h.networkFor(net)
	if err != nil {
		return nil, err
	}
	if h.chainCode == nil {
		return nil, formatErr("hdkey", "no chain code: a cosigner key must be an extended key")
	}
	p, err := h.originPath()
	if err != nil {
		return nil, err
	}
	var fp wallet.Fingerprint
	switch {
	case h.origin.hasFP:
		fp = h.origin.sourceFP
	case masterFP != nil:
		fp = *masterFP
	default:
		return nil, formatErr("hdkey", "origin lacks the master key fingerprint (source-fingerprint)")
	}
	k, err := h.extendedKey(p, net)
	if err != nil {
		return nil, err
	}
	rec := &wallet.KeyRecord{Origin: wallet.KeyOrigin{Fingerprint: fp, Path: p}, Key: k}
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	return rec, nil
}

// descriptorKey returns the key as a descriptor key expression and the
// network its use-info asks for (nil for a key without chain code, which
// has none).
func (h *urHDKey) descriptorKey(net *wallet.Network) (string, *wallet.Network, error) {
	if err := h.checkPublic(); err != nil {
		return "", nil, err
	}
	var steps string
	if h.children != nil && len(h.children.comps) > 0 {
		if h.chainCode == nil {
			return "", nil, formatErr("hdkey", "ranged or derived key (children path) without chain code")
		}
		var err error
		if steps, err = childrenSteps(h.children); err != nil {
			return "", nil, err
		}
	}
	if h.chainCode == nil {
		// A plain public key, with its origin if it has one.
		if h.origin == nil {
			return hex.EncodeToString(h.keyData), nil, nil
		}
		p, err := h.originPath()
		if err != nil {
			return "", nil, err
		}
		o, err := h.originText(p)
		if err != nil {
			return "", nil, err
		}
		return o + hex.EncodeToString(h.keyData), nil, nil
	}
	net, err := h.networkFor(net)
	if err != nil {
		return "", nil, err
	}
	p, err := h.originPath()
	if err != nil {
		return "", nil, err
	}
	k, err := h.extendedKey(p, net)
	if err != nil {
		return "", nil, err
	}
	o, err := h.originText(p)
	if err != nil {
		return "", nil, err
	}
	return o + k.String() + steps, net, nil
}

// originText returns "[fingerprint/path]", or "" for a key given without
// fingerprint and path.
func (h *urHDKey) originText(p wallet.Path) (string, error) {
	if h.origin.hasFP {
		return "[" + wallet.KeyOrigin{Fingerprint: h.origin.sourceFP, Path: p}.String() + "]", nil
	}
	if len(p) > 0 {
		return "", formatErr("hdkey", "origin path "+p.String()+" without source-fingerprint cannot be written in a descriptor")
	}
	return "", nil
}

// childrenSteps writes a children keypath as descriptor steps: "/1",
// "/<0;1>" and a final "/*".
func childrenSteps(kp *urKeypath) (string, error) {
	var b strings.Builder
	pairs := 0
	for i, c := range kp.comps {
		if c.hardA || c.hardB {
			return "", fmt.Errorf("%w: hardened children step", wallet.ErrHardenedDerivation)
		}
		switch c.kind {
		case compIndex:
			b.WriteByte('/')
			b.WriteString(strconv.FormatUint(uint64(c.a), 10))
		case compPair:
			if pairs++; pairs > 1 {
				return "", formatErr("keypath", "more than one child pair in the children path")
			}
			if c.a == c.b {
				return "", formatErr("keypath", "child pair with twice the same index")
			}
			fmt.Fprintf(&b, "/<%d;%d>", c.a, c.b)
		case compWildcard:
			if i != len(kp.comps)-1 {
				return "", formatErr("keypath", "wildcard before the end of the children path")
			}
			b.WriteString("/*")
		case compRange:
			return "", fmt.Errorf("%w: child index range in the children path", wallet.ErrUnsupportedDescriptor)
		}
	}
	return b.String(), nil
}

// xpubHDKeyMap returns the crypto-hdkey map of an extended public key with
// its origin (nil only for a master key): key data, chain code, use-info,
// origin and parent fingerprint.
func xpubHDKeyMap(k *wallet.ExtendedKey, o *wallet.KeyOrigin) (map[uint64]any, error) {
	network := uint64(1)
	if k.Network().Family() == wallet.Mainnet {
		network = 0
	}
	m := map[uint64]any{
		3: k.PublicKey(),
		4: k.ChainCode(),
		5: fxcbor.Tag{Number: tagCoinInfo, Content: map[uint64]any{1: uint64(0), 2: network}},
	}
	if o == nil {
		m[6] = keypathTag(wallet.Path{}, nil, 0)
	} else {
		if o.Fingerprint == (wallet.Fingerprint{}) {
			return nil, errors.New("origin fingerprint 00000000 cannot be written (BCR-2020-007 source-fingerprint is non-zero)")
		}
		m[6] = keypathTag(o.Path, &o.Fingerprint, int(k.Depth()))
	}
	if k.Depth() > 0 {
		pfp := k.ParentFingerprint()
		if pfp == (wallet.Fingerprint{}) {
			return nil, errors.New("parent fingerprint 00000000 cannot be written (BCR-2020-007 parent-fingerprint is non-zero)")
		}
		m[8] = uint64(binary.BigEndian.Uint32(pfp[:]))
	}
	return m, nil
}

// keypathTag returns a tagged crypto-keypath; fp nil and depth < 0 omit
// those fields.
func keypathTag(p wallet.Path, fp *wallet.Fingerprint, depth int) fxcbor.Tag {
	comps := make([]any, 0, 2*len(p))
	for _, i := range p {
		comps = append(comps, uint64(i&^wallet.Hardened), i&wallet.Hardened != 0)
	}
	m := map[uint64]any{1: comps}
	if fp != nil {
		m[2] = uint64(binary.BigEndian.Uint32(fp[:]))
	}
	if depth >= 0 {
		m[3] = uint64(depth)
	}
	return fxcbor.Tag{Number: tagKeypath, Content: m}
}
