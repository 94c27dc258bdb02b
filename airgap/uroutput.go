package airgap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	fxcbor "github.com/fxamacker/cbor/v2"

	"github.com/kinko-project/kinko/wallet"
)

// crypto-output (BCR-2020-010) and output-descriptor (BCR-2023-010): a wallet's descriptor.

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
