package airgap

import (
	"errors"
	"fmt"
	"strconv"

	fxcbor "github.com/fxamacker/cbor/v2"
)

// The ur*.go files convert between kinko's key records and multisig
// descriptors and the BC-UR wallet types (urhdkey.go, uroutput.go,
// uraccount.go; this file holds their tags, limits and CBOR helpers):
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
