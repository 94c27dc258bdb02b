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

// This file converts between kinko's key records and multisig descriptors
// and the BC-UR wallet types:
//
//   - crypto-hdkey / hdkey (BCR-2020-007): one extended public key with its
//     use-info (coin and network), origin keypath and parent fingerprint;
//   - crypto-account (BCR-2020-015): a signer's account keys for several
//     script types, from which the P2WSH multisig cosigner key is taken;
//   - crypto-output (BCR-2020-010): a descriptor as nested CBOR tags, keys
//     as tagged crypto-hdkey or crypto-eckey;
//   - output-descriptor (BCR-2023-010): the descriptor text with @0, @1…
//     placeholders and the keys as tagged hdkey/eckey.
//
// The multipath step <0;1> of kinko descriptors is carried as the
// child-pair path component of BCR-2020-007 ([0, false, 1, false] in the
// children keypath), so a wallet crosses with both branches and decodes to
// the same descriptor. Readers that predate child-pair components (some
// crypto-output implementations) may not understand it. A children path of
// /0/* written by another wallet is decoded as written (no change branch).
//
// The hdkey use-info is written as coin type 0 (bitcoin) with network 0
// (mainnet) or 1 (the test networks, which share tpub keys), as the
// registry defines it; SLIP-44 coin type 1 ("testnet, all coins") is also
// read as a test network.

// URTypeHDKey is the current registry name of crypto-hdkey (BCR-2020-007
// version 2, with tags 40303, 40304 and 40305). DecodeKeyRecordUR reads both.
const URTypeHDKey = "hdkey"

// CBOR tags of the wallet types (BCR-2020-006; version 2 types add 40000).
const (
	tagHDKey    = 303
	tagKeypath  = 304
	tagCoinInfo = 305
	tagECKey    = 306
	tagAddress  = 307
	tagOutput   = 308
	tagAccount  = 311
	tagV2       = 40000 // added to 303…307 by the version 2 types

	tagOutputDescriptor = 40308 // BCR-2023-010 output-descriptor

	tagSH          = 400
	tagWSH         = 401
	tagPK          = 402
	tagPKH         = 403
	tagWPKH        = 404
	tagCombo       = 405
	tagMulti       = 406
	tagSortedMulti = 407
	tagRaw         = 408
	tagTR          = 409
	tagCosigner    = 410
)

// scriptTagNames names the crypto-output script expression tags.
var scriptTagNames = map[uint64]string{
	tagSH: "sh", tagWSH: "wsh", tagPK: "pk", tagPKH: "pkh", tagWPKH: "wpkh",
	tagCombo: "combo", tagMulti: "multi", tagSortedMulti: "sortedmulti",
	tagRaw: "raw", tagTR: "tr", tagCosigner: "cosigner", tagAddress: "addr",
	tagAddress + tagV2: "addr",
}

// Caps on the wallet UR bodies, checked before decoding. A 20-key
// descriptor with full origins takes about 3 KB of CBOR.
const (
	maxWalletCBOR     = 64 << 10 // bytes of one body
	maxWalletArray    = 1024     // elements of one CBOR array (keypath components: 2 per step)
	maxWalletMapPairs = 64       // pairs of one CBOR map
	maxURKeys         = 20       // keys of one multisig, as wallet.ParseDescriptor allows
	maxAccountOutputs = 64       // output descriptors of one crypto-account
)

// walletDecMode decodes the wallet types: the limits of cborDecMode,
// tightened to what these small structures need, and duplicate map keys
// refused.
var walletDecMode = func() fxcbor.DecMode {
	opts := cborDecMode.DecOptions()
	opts.MaxArrayElements = maxWalletArray
	opts.MaxMapPairs = maxWalletMapPairs
	opts.DupMapKey = fxcbor.DupMapKeyEnforcedAPF
	dm, err := opts.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// walletEncMode encodes maps with their keys in ascending order, as the
// reference implementations (and dCBOR) do.
var walletEncMode = func() fxcbor.EncMode {
	em, err := fxcbor.EncOptions{Sort: fxcbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

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
		rec, err := decodeAccount(v, net)
		if err != nil {
			return nil, fmt.Errorf("crypto-account: %w", err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("ur type %s is not a key record (want crypto-hdkey, hdkey or crypto-account): %w",
		quoteShort(urType), ErrUnknownFormat)
}

// EncodeDescriptorUR encodes a multisig descriptor as a "crypto-output" UR
// body: sh 400, wsh 401, multi 406 or sortedmulti 407 around the keys. An
// extended key becomes a tagged crypto-hdkey (303) with use-info, origin
// and parent fingerprint, and its derivation steps as the children keypath
// (<0;1> as a child-pair component, * as a wildcard); a hex key becomes a
// crypto-eckey (306), or a chain-code-less crypto-hdkey when it has an
// origin. What the format cannot carry faithfully is refused: an origin that
// disagrees with its extended key (crypto-hdkey rebuilds the key from it),
// an extended key below the master without origin, a zero origin
// fingerprint, multipath steps of more than two alternatives. The result
// is checked to decode back to d.
func EncodeDescriptorUR(d *wallet.Descriptor) (urType string, cbor []byte, err error) {
	if d == nil {
		return "", nil, errors.New("airgap: crypto-output: no descriptor")
	}
	keys, err := splitCanonical(d)
	if err != nil {
		return "", nil, fmt.Errorf("crypto-output: %w", err)
	}
	items := make([]any, len(keys))
	for i, s := range keys {
		k, err := parseCanonicalKey(s, d.Network())
		if err != nil {
			return "", nil, fmt.Errorf("crypto-output: key %d: %w", i+1, err)
		}
		items[i], err = k.item()
		if err != nil {
			return "", nil, fmt.Errorf("crypto-output: key %d: %w", i+1, err)
		}
	}
	multiTag := uint64(tagMulti)
	if d.Sorted() {
		multiTag = tagSortedMulti
	}
	var script any = fxcbor.Tag{Number: multiTag, Content: map[uint64]any{
		1: uint64(d.Threshold()),
		2: items,
	}}
	switch d.ScriptType() {
	case wallet.P2WSH:
		script = fxcbor.Tag{Number: tagWSH, Content: script}
	case wallet.P2SHP2WSH:
		script = fxcbor.Tag{Number: tagSH, Content: fxcbor.Tag{Number: tagWSH, Content: script}}
	case wallet.P2SH:
		script = fxcbor.Tag{Number: tagSH, Content: script}
	default:
		return "", nil, fmt.Errorf("airgap: crypto-output: unknown script type %s", d.ScriptType())
	}
	body, err := walletEncMode.Marshal(script)
	if err != nil {
		return "", nil, fmt.Errorf("crypto-output: %w", err)
	}
	if len(body) > maxWalletCBOR {
		return "", nil, fmt.Errorf("crypto-output of %d bytes: %w", len(body), ErrTooLarge)
	}
	back, err := DecodeDescriptorUR(URTypeCryptoOutput, body, d.Network())
	if err != nil {
		return "", nil, fmt.Errorf("crypto-output: cannot be decoded back: %w", err)
	}
	if back.String() != d.String() {
		return "", nil, errors.New("airgap: crypto-output: does not decode back to the same descriptor")
	}
	return URTypeCryptoOutput, body, nil
}

// DecodeDescriptorUR decodes a multisig descriptor from the body of a
// "crypto-output" UR (BCR-2020-010: wsh, sh(wsh) or sh around multi or
// sortedmulti, keys as crypto-hdkey or crypto-eckey) or an
// "output-descriptor" UR (BCR-2023-010: the descriptor text with @N
// placeholders for the keys; its name and note are dropped). The result is
// what wallet.ParseDescriptor makes of the equivalent text, with net's
// family required of the keys (net nil: from the keys' use-info, Mainnet
// if none says otherwise).
//
// Refused: unknown tags, private keys, keys without origin below the master
// or with an origin that lacks its fingerprint, depth/path mismatches,
// derivation steps on a key without chain code, hardened steps or child
// ranges after a key, more than 20 keys, a threshold outside 1…keys, any
// other script expression, and bodies over 64 KiB.
func DecodeDescriptorUR(urType string, cbor []byte, net *wallet.Network) (*wallet.Descriptor, error) {
	var text string
	switch urType {
	case URTypeCryptoOutput:
		v, err := decodeWalletCBOR(urType, cbor)
		if err != nil {
			return nil, err
		}
		text, net, err = cryptoOutputText(v, net)
		if err != nil {
			return nil, fmt.Errorf("crypto-output: %w", err)
		}
	case URTypeOutputDescriptor:
		v, err := decodeWalletCBOR(urType, cbor)
		if err != nil {
			return nil, err
		}
		text, net, err = outputDescriptorText(v, net)
		if err != nil {
			return nil, fmt.Errorf("output-descriptor: %w", err)
		}
	default:
		return nil, fmt.Errorf("ur type %s is not a descriptor (want crypto-output or output-descriptor): %w",
			quoteShort(urType), ErrUnknownFormat)
	}
	d, err := wallet.ParseDescriptor(text, net)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", urType, err)
	}
	return d, nil
}

// decodeWalletCBOR checks the size of a wallet UR body and decodes it.
func decodeWalletCBOR(urType string, b []byte) (any, error) {
	if len(b) > maxWalletCBOR {
		return nil, fmt.Errorf("%s body of %d bytes (at most %d): %w", urType, len(b), maxWalletCBOR, ErrTooLarge)
	}
	if len(b) == 0 {
		return nil, formatErr(urType, "empty body")
	}
	var v any
	if err := walletDecMode.Unmarshal(b, &v); err != nil {
		var e1 *fxcbor.MaxArrayElementsError
		var e2 *fxcbor.MaxMapPairsError
		var e3 *fxcbor.MaxNestedLevelError
		if errors.As(err, &e1) || errors.As(err, &e2) || errors.As(err, &e3) {
			return nil, fmt.Errorf("%s: %v: %w", urType, err, ErrTooLarge)
		}
		return nil, &FormatError{Format: urType, Msg: err.Error()}
	}
	return v, nil
}

// Generic CBOR values as decoded into any.

// tagged returns the number and content of v if it is a CBOR tag.
func tagged(v any) (uint64, any, bool) {
	t, ok := v.(fxcbor.Tag)
	if !ok {
		return 0, nil, false
	}
	return t.Number, t.Content, true
}

// cborKind names the CBOR type of a decoded value, for messages.
func cborKind(v any) string {
	switch x := v.(type) {
	case uint64:
		return "unsigned integer"
	case int64:
		return "negative integer"
	case []byte:
		return "byte string"
	case string:
		return "text string"
	case []any:
		return "array"
	case map[any]any:
		return "map"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case fxcbor.Tag:
		return "tag " + strconv.FormatUint(x.Number, 10)
	}
	return "other value"
}

// unexpected reports a value of the wrong CBOR type.
func unexpected(format, what string, v any, want string) error {
	return formatErr(format, fmt.Sprintf("%s is a %s, want %s", what, cborKind(v), want))
}

func asMap(format, what string, v any) (map[any]any, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, unexpected(format, what, v, "map")
	}
	return m, nil
}

func asArray(format, what string, v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, unexpected(format, what, v, "array")
	}
	return a, nil
}

func asUint(format, what string, v any, max uint64) (uint64, error) {
	u, ok := v.(uint64)
	if !ok {
		return 0, unexpected(format, what, v, "unsigned integer")
	}
	if u > max {
		return 0, formatErr(format, fmt.Sprintf("%s %d out of range (at most %d)", what, u, max))
	}
	return u, nil
}

func asBool(format, what string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, unexpected(format, what, v, "boolean")
	}
	return b, nil
}

func asBytes(format, what string, v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, unexpected(format, what, v, "byte string")
	}
	return b, nil
}

func asText(format, what string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", unexpected(format, what, v, "text string")
	}
	return s, nil
}

// field looks up an unsigned integer key of a decoded map.
func field(m map[any]any, k uint64) (any, bool) {
	v, ok := m[k]
	return v, ok
}

// isTag reports whether n is tag base or its version 2 form.
func isTag(n, base uint64) bool { return n == base || n == base+tagV2 }

// unknownTag reports a tag the format does not define here.
func unknownTag(format string, n uint64, where string) error {
	return formatErr(format, fmt.Sprintf("unknown tag %d %s", n, where))
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

// eckeyText decodes a crypto-eckey map as a hex public key.
func eckeyText(v any) (string, error) {
	m, err := asMap("eckey", "key", v)
	if err != nil {
		return "", err
	}
	if x, ok := field(m, 1); ok {
		curve, err := asUint("eckey", "curve", x, math.MaxUint32)
		if err != nil {
			return "", err
		}
		if curve != 0 {
			return "", formatErr("eckey", fmt.Sprintf("curve %d is not secp256k1", curve))
		}
	}
	if x, ok := field(m, 2); ok {
		priv, err := asBool("eckey", "is-private", x)
		if err != nil {
			return "", err
		}
		if priv {
			return "", fmt.Errorf("%w: private key (crypto-eckey is-private)", wallet.ErrPrivateKey)
		}
	}
	x, ok := field(m, 3)
	if !ok {
		return "", formatErr("eckey", "no key data")
	}
	data, err := asBytes("eckey", "data", x)
	if err != nil {
		return "", err
	}
	switch {
	case len(data) == 33 && (data[0] == 0x02 || data[0] == 0x03):
	case len(data) == 65 && data[0] == 0x04:
	default:
		return "", formatErr("eckey", fmt.Sprintf("data of %d bytes is not a public key", len(data)))
	}
	return hex.EncodeToString(data), nil
}

// keyText decodes one tagged key of a descriptor (crypto-hdkey or
// crypto-eckey, either version) as a key expression, fitting *net to it.
func keyText(format string, i int, v any, net **wallet.Network) (string, error) {
	n, c, ok := tagged(v)
	if !ok {
		return "", unexpected(format, fmt.Sprintf("key %d", i+1), v, "tagged crypto-hdkey or crypto-eckey")
	}
	switch {
	case isTag(n, tagHDKey):
		h, err := parseHDKey(c)
		if err != nil {
			return "", fmt.Errorf("key %d: %w", i+1, err)
		}
		s, keyNet, err := h.descriptorKey(*net)
		if err != nil {
			return "", fmt.Errorf("key %d: %w", i+1, err)
		}
		if keyNet != nil {
			*net = keyNet
		}
		return s, nil
	case isTag(n, tagECKey):
		s, err := eckeyText(c)
		if err != nil {
			return "", fmt.Errorf("key %d: %w", i+1, err)
		}
		return s, nil
	case isTag(n, tagAddress):
		return "", fmt.Errorf("key %d: %w: an address is not a multisig key", i+1, wallet.ErrUnsupportedDescriptor)
	}
	return "", unknownTag(format, n, fmt.Sprintf("for key %d", i+1))
}

// Descriptors (BCR-2020-010 crypto-output, BCR-2023-010 output-descriptor).

// cryptoOutputText turns a crypto-output into descriptor text and the
// network its keys ask for.
func cryptoOutputText(v any, net *wallet.Network) (string, *wallet.Network, error) {
	const format = "crypto-output"
	if n, c, ok := tagged(v); ok && n == tagOutput {
		v = c
	}
	var wrap []string
	for {
		n, c, ok := tagged(v)
		if !ok {
			return "", nil, unexpected(format, "script expression", v, "tagged script expression")
		}
		name, known := scriptTagNames[n]
		if !known {
			return "", nil, unknownTag(format, n, "for a script expression")
		}
		switch n {
		case tagSH, tagWSH:
			if len(wrap) == 2 {
				return "", nil, fmt.Errorf("%w: %s nested too deeply", wallet.ErrInvalidDescriptor, shape(wrap, name+"()"))
			}
			wrap = append(wrap, name)
			v = c
			continue
		case tagMulti, tagSortedMulti:
		default:
			return "", nil, fmt.Errorf("%w: %s; kinko handles wsh(), sh(wsh()) and sh() around multi() or sortedmulti()",
				wallet.ErrUnsupportedDescriptor, shape(wrap, name+"()"))
		}
		switch strings.Join(wrap, "/") {
		case "wsh", "sh/wsh", "sh":
		case "":
			return "", nil, fmt.Errorf("%w: bare %s() has no address; use wsh(), sh(wsh()) or sh()", wallet.ErrUnsupportedDescriptor, name)
		default:
			return "", nil, fmt.Errorf("%w: %s", wallet.ErrInvalidDescriptor, shape(wrap, name+"()"))
		}
		m, err := asMap(format, name, c)
		if err != nil {
			return "", nil, err
		}
		tv, ok := field(m, 1)
		if !ok {
			return "", nil, formatErr(format, name+" without threshold")
		}
		threshold, err := asUint(format, "threshold", tv, math.MaxUint32)
		if err != nil {
			return "", nil, err
		}
		kv, ok := field(m, 2)
		if !ok {
			return "", nil, formatErr(format, name+" without keys")
		}
		items, err := asArray(format, "keys", kv)
		if err != nil {
			return "", nil, err
		}
		if err := checkMultisigCounts(threshold, len(items)); err != nil {
			return "", nil, err
		}
		keys := make([]string, len(items))
		for i, it := range items {
			if keys[i], err = keyText(format, i, it, &net); err != nil {
				return "", nil, err
			}
		}
		body := name + "(" + strconv.FormatUint(threshold, 10) + "," + strings.Join(keys, ",") + ")"
		return shape(wrap, body), net, nil
	}
}

// checkMultisigCounts refuses key counts outside 1…20 and thresholds
// outside 1…keys.
func checkMultisigCounts(threshold uint64, keys int) error {
	switch {
	case keys == 0:
		return fmt.Errorf("%w: multisig without keys", wallet.ErrInvalidDescriptor)
	case keys > maxURKeys:
		return fmt.Errorf("%w: %d keys, at most %d", wallet.ErrTooManyKeys, keys, maxURKeys)
	case threshold < 1 || threshold > uint64(keys):
		return fmt.Errorf("%w: threshold %d of %d keys", wallet.ErrThreshold, threshold, keys)
	}
	return nil
}

// shape writes inner wrapped in the script expressions of wrap:
// shape([sh wsh], "x") = "sh(wsh(x))".
func shape(wrap []string, inner string) string {
	var b strings.Builder
	for _, w := range wrap {
		b.WriteString(w)
		b.WriteByte('(')
	}
	b.WriteString(inner)
	b.WriteString(strings.Repeat(")", len(wrap)))
	return b.String()
}

// outputDescriptorText turns an output-descriptor into descriptor text and
// the network its keys ask for.
func outputDescriptorText(v any, net *wallet.Network) (string, *wallet.Network, error) {
	const format = "output-descriptor"
	if n, c, ok := tagged(v); ok {
		if n != tagOutputDescriptor {
			return "", nil, unknownTag(format, n, "for an output-descriptor")
		}
		v = c
	}
	m, err := asMap(format, "output-descriptor", v)
	if err != nil {
		return "", nil, err
	}
	sv, ok := field(m, 1)
	if !ok {
		return "", nil, formatErr(format, "no source text")
	}
	src, err := asText(format, "source", sv)
	if err != nil {
		return "", nil, err
	}
	var items []any
	if kv, ok := field(m, 2); ok {
		if items, err = asArray(format, "keys", kv); err != nil {
			return "", nil, err
		}
	}
	if len(items) > maxURKeys {
		return "", nil, fmt.Errorf("%w: %d keys, at most %d", wallet.ErrTooManyKeys, len(items), maxURKeys)
	}
	for k, what := range map[uint64]string{3: "name", 4: "note"} {
		if x, ok := field(m, k); ok {
			if _, err := asText(format, what, x); err != nil {
				return "", nil, err
			}
		}
	}
	keys := make([]string, len(items))
	for i, it := range items {
		if keys[i], err = keyText(format, i, it, &net); err != nil {
			return "", nil, err
		}
	}
	text, err := substitutePlaceholders(src, keys)
	if err != nil {
		return "", nil, err
	}
	return text, net, nil
}

// substitutePlaceholders replaces @0, @1… in src by keys[0], keys[1]…
func substitutePlaceholders(src string, keys []string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		if src[i] != '@' {
			b.WriteByte(src[i])
			continue
		}
		j := i + 1
		for j < len(src) && j-i <= 3 && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		num := src[i+1 : j]
		if num == "" || len(num) > 1 && num[0] == '0' || len(num) > 2 {
			return "", formatErr("output-descriptor", "malformed key placeholder in the source text")
		}
		n, _ := strconv.Atoi(num)
		if n >= len(keys) {
			return "", formatErr("output-descriptor", fmt.Sprintf("placeholder @%d but %d keys", n, len(keys)))
		}
		b.WriteString(keys[n])
		i = j - 1
	}
	return b.String(), nil
}

// Accounts (BCR-2020-015 crypto-account).

// accountEntry is one output descriptor of a crypto-account.
type accountEntry struct {
	shape string   // "wsh(cosigner(KEY))", "pkh(KEY)", …
	key   *urHDKey // nil unless the key is a crypto-hdkey
}

// describe names the entry and its key's path for messages.
func (e accountEntry) describe() string {
	if e.key != nil && e.key.origin != nil {
		if p, err := e.key.origin.plainPath("origin"); err == nil {
			return e.shape + " at " + p.String()
		}
	}
	return e.shape
}

// isP2WSHCosigner reports whether the entry is a P2WSH cosigner key at a
// BIP-48 path m/48h/coin h/account h/2h.
func (e accountEntry) isP2WSHCosigner() bool {
	if e.key == nil || e.key.origin == nil || (e.shape != "wsh(cosigner(KEY))" && e.shape != "wsh(KEY)") {
		return false
	}
	p, err := e.key.origin.plainPath("origin")
	if err != nil || len(p) != 4 {
		return false
	}
	h := wallet.Hardened
	return p[0] == 48|h && p[1] >= h && p[2] >= h && p[3] == 2|h
}

// decodeAccount takes the P2WSH cosigner key of a crypto-account.
func decodeAccount(v any, net *wallet.Network) (*wallet.KeyRecord, error) {
	const format = "crypto-account"
	if n, c, ok := tagged(v); ok {
		if n != tagAccount {
			return nil, unknownTag(format, n, "for a crypto-account")
		}
		v = c
	}
	m, err := asMap(format, "account", v)
	if err != nil {
		return nil, err
	}
	fv, ok := field(m, 1)
	if !ok {
		return nil, formatErr(format, "no master-fingerprint")
	}
	u, err := asUint(format, "master-fingerprint", fv, math.MaxUint32)
	if err != nil {
		return nil, err
	}
	var masterFP wallet.Fingerprint
	binary.BigEndian.PutUint32(masterFP[:], uint32(u))
	ov, ok := field(m, 2)
	if !ok {
		return nil, formatErr(format, "no output-descriptors")
	}
	outs, err := asArray(format, "output-descriptors", ov)
	if err != nil {
		return nil, err
	}
	if len(outs) > maxAccountOutputs {
		return nil, fmt.Errorf("%d output descriptors (at most %d): %w", len(outs), maxAccountOutputs, ErrTooLarge)
	}
	var found []string
	var chosen []accountEntry
	for i, o := range outs {
		e, err := parseAccountEntry(o)
		if err != nil {
			return nil, fmt.Errorf("output descriptor %d: %w", i+1, err)
		}
		if e.key != nil {
			if err := e.key.checkPublic(); err != nil {
				return nil, fmt.Errorf("output descriptor %d: %w", i+1, err)
			}
		}
		found = append(found, e.describe())
		if e.isP2WSHCosigner() {
			chosen = append(chosen, e)
		}
	}
	switch {
	case len(chosen) == 0:
		held := "nothing"
		if len(found) > 0 {
			held = strings.Join(found, ", ")
		}
		return nil, formatErr(format, "no P2WSH multisig cosigner key, wsh(cosigner(KEY)) at m/48h/coin h/account h/2h; it holds "+held)
	case len(chosen) > 1:
		return nil, formatErr(format, fmt.Sprintf("%d P2WSH multisig cosigner keys; expected one", len(chosen)))
	}
	rec, err := chosen[0].key.keyRecord(net, &masterFP)
	if err != nil {
		return nil, err
	}
	if coin := rec.Origin.Path[1] &^ wallet.Hardened; coin != rec.Key.Network().CoinType {
		return nil, fmt.Errorf("%w: cosigner key at %s is for coin type %d, but the key is for %s",
			wallet.ErrNetworkMismatch, rec.Origin.Path, coin, rec.Key.Network())
	}
	return rec, nil
}

// parseAccountEntry decodes one output descriptor of a crypto-account
// (tagged 308 or, in BCR-2020-015's first revision, untagged).
func parseAccountEntry(v any) (accountEntry, error) {
	const format = "crypto-account"
	if n, c, ok := tagged(v); ok && n == tagOutput {
		v = c
	}
	var wrap []string
	for {
		n, c, ok := tagged(v)
		if !ok {
			return accountEntry{}, unexpected(format, "output descriptor", v, "tagged script expression")
		}
		switch {
		case isTag(n, tagHDKey):
			h, err := parseHDKey(c)
			if err != nil {
				return accountEntry{}, err
			}
			return accountEntry{shape: shape(wrap, "KEY"), key: h}, nil
		case isTag(n, tagECKey):
			if _, err := eckeyText(c); err != nil {
				return accountEntry{}, err
			}
			return accountEntry{shape: shape(wrap, "KEY")}, nil
		case n == tagMulti || n == tagSortedMulti || isTag(n, tagAddress) || n == tagRaw:
			return accountEntry{shape: shape(wrap, scriptTagNames[n]+"(…)")}, nil
		}
		name, known := scriptTagNames[n]
		if !known {
			return accountEntry{}, unknownTag(format, n, "in an output descriptor")
		}
		if len(wrap) == 3 {
			return accountEntry{}, formatErr(format, "script expressions nested too deeply")
		}
		wrap = append(wrap, name)
		v = c
	}
}

// Encoding kinko descriptors.

// splitCanonical returns the key expressions of d's canonical text.
func splitCanonical(d *wallet.Descriptor) ([]string, error) {
	body, _, _ := strings.Cut(d.String(), "#")
	fn := "multi("
	if d.Sorted() {
		fn = "sortedmulti("
	}
	var open string
	switch d.ScriptType() {
	case wallet.P2WSH:
		open = "wsh("
	case wallet.P2SHP2WSH:
		open = "sh(wsh("
	case wallet.P2SH:
		open = "sh("
	default:
		return nil, fmt.Errorf("unknown script type %s", d.ScriptType())
	}
	closing := strings.Repeat(")", strings.Count(open, "(")+1)
	if !strings.HasPrefix(body, open+fn) || !strings.HasSuffix(body, closing) {
		return nil, errors.New("unexpected descriptor text")
	}
	args := strings.Split(body[len(open+fn):len(body)-len(closing)], ",")
	if len(args) < 2 || args[0] != strconv.Itoa(d.Threshold()) {
		return nil, errors.New("unexpected descriptor text")
	}
	return args[1:], nil
}

// canonicalKey is one key expression of a kinko descriptor.
type canonicalKey struct {
	origin *wallet.KeyOrigin
	xpub   *wallet.ExtendedKey // nil for a hex key
	pub    []byte              // hex key
	steps  []uint32
	multi  []uint32
	post   []uint32
	wild   bool
}

// parseCanonicalKey parses a key expression as kinko writes it:
// "[fp/path]xpub/steps/<a;b>/steps/*" or "[fp/path]hex".
func parseCanonicalKey(s string, net *wallet.Network) (*canonicalKey, error) {
	k := &canonicalKey{}
	if strings.HasPrefix(s, "[") {
		inner, rest, ok := strings.Cut(s[1:], "]")
		if !ok {
			return nil, errors.New("unexpected key origin")
		}
		fps, ps, _ := strings.Cut(inner, "/")
		fp, err := wallet.ParseFingerprint(fps)
		if err != nil {
			return nil, err
		}
		p := wallet.Path{}
		if ps != "" {
			if p, err = wallet.ParsePath(ps); err != nil {
				return nil, err
			}
		}
		k.origin = &wallet.KeyOrigin{Fingerprint: fp, Path: p}
		s = rest
	}
	ks, rest, hasSteps := strings.Cut(s, "/")
	if (len(ks) == 66 || len(ks) == 130) && !hasSteps {
		if pub, err := hex.DecodeString(ks); err == nil {
			k.pub = pub
			return k, nil
		}
	}
	xk, err := wallet.ParseExtendedKey(ks, net)
	if err != nil {
		return nil, err
	}
	k.xpub = xk
	if !hasSteps {
		return k, nil
	}
	elems := strings.Split(rest, "/")
	for i, e := range elems {
		switch {
		case e == "*" && i == len(elems)-1:
			k.wild = true
		case strings.HasPrefix(e, "<") && strings.HasSuffix(e, ">") && k.multi == nil:
			for _, a := range strings.Split(e[1:len(e)-1], ";") {
				n, err := strconv.ParseUint(a, 10, 31)
				if err != nil {
					return nil, fmt.Errorf("unexpected multipath step: %w", err)
				}
				k.multi = append(k.multi, uint32(n))
			}
		default:
			n, err := strconv.ParseUint(e, 10, 31)
			if err != nil {
				return nil, fmt.Errorf("unexpected derivation step: %w", err)
			}
			if k.multi != nil {
				k.post = append(k.post, uint32(n))
			} else {
				k.steps = append(k.steps, uint32(n))
			}
		}
	}
	return k, nil
}

// item returns the key as a tagged crypto-hdkey or crypto-eckey.
func (k *canonicalKey) item() (any, error) {
	if k.xpub == nil {
		if k.origin == nil {
			return fxcbor.Tag{Number: tagECKey, Content: map[uint64]any{3: k.pub}}, nil
		}
		// crypto-eckey has no origin: a chain-code-less crypto-hdkey
		// carries one.
		if len(k.pub) != 33 {
			return nil, errors.New("an uncompressed key with an origin cannot be written (crypto-hdkey key-data is 33 bytes)")
		}
		if k.origin.Fingerprint == (wallet.Fingerprint{}) {
			return nil, errors.New("origin fingerprint 00000000 cannot be written (BCR-2020-007 source-fingerprint is non-zero)")
		}
		return fxcbor.Tag{Number: tagHDKey, Content: map[uint64]any{
			3: k.pub,
			6: keypathTag(k.origin.Path, &k.origin.Fingerprint, -1),
		}}, nil
	}
	if k.origin != nil {
		if err := (&wallet.KeyRecord{Origin: *k.origin, Key: k.xpub}).Validate(); err != nil {
			return nil, fmt.Errorf("%w (crypto-hdkey rebuilds the xpub from its origin)", err)
		}
	} else if k.xpub.Depth() != 0 {
		return nil, fmt.Errorf("key at depth %d without origin: crypto-hdkey cannot carry its child number", k.xpub.Depth())
	}
	m, err := xpubHDKeyMap(k.xpub, k.origin)
	if err != nil {
		return nil, err
	}
	var comps []any
	for _, s := range k.steps {
		comps = append(comps, uint64(s), false)
	}
	if k.multi != nil {
		if len(k.multi) != 2 {
			return nil, fmt.Errorf("multipath step of %d alternatives: crypto-keypath has pairs only", len(k.multi))
		}
		comps = append(comps, []any{uint64(k.multi[0]), false, uint64(k.multi[1]), false})
		for _, s := range k.post {
			comps = append(comps, uint64(s), false)
		}
	}
	if k.wild {
		comps = append(comps, []any{}, false)
	}
	if len(comps) > 0 {
		m[7] = fxcbor.Tag{Number: tagKeypath, Content: map[uint64]any{1: comps}}
	}
	return fxcbor.Tag{Number: tagHDKey, Content: m}, nil
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
