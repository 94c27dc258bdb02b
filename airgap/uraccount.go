package airgap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	fxcbor "github.com/fxamacker/cbor/v2"

	"github.com/kinko-project/kinko/wallet"
)

// crypto-account (BCR-2020-015): a signer's account keys.

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

// isCosigner reports whether e is where a crypto-account holds the
// multisig cosigner key of script type st: wsh(cosigner(KEY)) at BIP-48
// m/48h/coin h/account h/2h, sh(wsh(cosigner(KEY))) at …/1h, and
// sh(cosigner(KEY)) at BIP-45 m/45h.
func isCosigner(e accountEntry, st wallet.ScriptType) bool {
	if e.key == nil || e.key.origin == nil {
		return false
	}
	p, err := e.key.origin.plainPath("origin")
	if err != nil {
		return false
	}
	h := wallet.Hardened
	switch st {
	case wallet.P2WSH:
		return (e.shape == "wsh(cosigner(KEY))" || e.shape == "wsh(KEY)") &&
			len(p) == 4 && p[0] == 48|h && p[1] >= h && p[2] >= h && p[3] == 2|h
	case wallet.P2SHP2WSH:
		return (e.shape == "sh(wsh(cosigner(KEY)))" || e.shape == "sh(wsh(KEY))") &&
			len(p) == 4 && p[0] == 48|h && p[1] >= h && p[2] >= h && p[3] == 1|h
	case wallet.P2SH:
		return (e.shape == "sh(cosigner(KEY))" || e.shape == "sh(KEY)") && len(p) == 1 && p[0] == 45|h
	}
	return false
}

// cosignerWhere describes where the key of st is expected, for messages.
func cosignerWhere(st wallet.ScriptType) string {
	switch st {
	case wallet.P2SHP2WSH:
		return "P2SH-P2WSH multisig cosigner key, sh(wsh(cosigner(KEY))) at m/48h/coin h/account h/1h"
	case wallet.P2SH:
		return "P2SH multisig cosigner key, sh(cosigner(KEY)) at m/45h"
	}
	return "P2WSH multisig cosigner key, wsh(cosigner(KEY)) at m/48h/coin h/account h/2h"
}

// DecodeAccountUR takes from a crypto-account (BCR-2020-015) the multisig
// cosigner key of script type st: the P2WSH one (…/2h) for wsh, the
// P2SH-P2WSH one (…/1h) for sh-wsh, the BIP-45 one for sh. An account
// without it is refused, naming what it holds.
func DecodeAccountUR(cbor []byte, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
	v, err := decodeWalletCBOR(URTypeCryptoAccount, cbor)
	if err != nil {
		return nil, err
	}
	rec, err := decodeAccount(v, st, net)
	if err != nil {
		return nil, fmt.Errorf("crypto-account: %w", err)
	}
	return rec, nil
}

// decodeAccount takes the cosigner key of script type st of a crypto-account.
func decodeAccount(v any, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
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
		if isCosigner(e, st) {
			chosen = append(chosen, e)
		}
	}
	switch {
	case len(chosen) == 0:
		held := "nothing"
		if len(found) > 0 {
			held = strings.Join(found, ", ")
		}
		return nil, formatErr(format, "no "+cosignerWhere(st)+"; it holds "+held)
	case len(chosen) > 1:
		return nil, formatErr(format, fmt.Sprintf("%d keys for %s; expected one", len(chosen), st))
	}
	rec, err := chosen[0].key.keyRecord(net, &masterFP)
	if err != nil {
		return nil, err
	}
	if st == wallet.P2SH {
		return rec, nil
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

// AccountKey is one cosigner key of a crypto-account: its script type
// (wsh, sh-wsh or sh) and its record.
type AccountKey struct {
	Script wallet.ScriptType
	Record *wallet.KeyRecord
}

// EncodeAccountUR encodes a signer's multisig cosigner keys as a
// crypto-account (BCR-2020-015, revised: each output descriptor tagged
// 308): the master fingerprint of the records' origins, and for each key
// wsh(cosigner(KEY)), sh(wsh(cosigner(KEY))) or sh(cosigner(KEY)). Every
// record must share that master fingerprint and sit at the path its type
// expects. What it writes, DecodeAccountUR reads back.
func EncodeAccountUR(keys []AccountKey) (urType string, cbor []byte, err error) {
	if len(keys) == 0 {
		return "", nil, errors.New("crypto-account: no keys")
	}
	fp := keys[0].Record.Origin.Fingerprint
	var outs []any
	for _, k := range keys {
		r := k.Record
		if r == nil || r.Key == nil {
			return "", nil, errors.New("crypto-account: no key")
		}
		if err := r.Validate(); err != nil {
			return "", nil, fmt.Errorf("crypto-account: %w", err)
		}
		if r.Origin.Fingerprint != fp {
			return "", nil, errors.New("crypto-account: keys of different master fingerprints")
		}
		m, err := xpubHDKeyMap(r.Key, &r.Origin)
		if err != nil {
			return "", nil, fmt.Errorf("crypto-account: %w", err)
		}
		var item any = fxcbor.Tag{Number: tagCosigner, Content: fxcbor.Tag{Number: tagHDKey, Content: m}}
		switch k.Script {
		case wallet.P2WSH:
			item = fxcbor.Tag{Number: tagWSH, Content: item}
		case wallet.P2SHP2WSH:
			item = fxcbor.Tag{Number: tagSH, Content: fxcbor.Tag{Number: tagWSH, Content: item}}
		case wallet.P2SH:
			item = fxcbor.Tag{Number: tagSH, Content: item}
		default:
			return "", nil, fmt.Errorf("crypto-account: %w %s for a cosigner key", wallet.ErrUnknownScriptType, k.Script)
		}
		outs = append(outs, fxcbor.Tag{Number: tagOutput, Content: item})
	}
	body := map[uint64]any{1: binary.BigEndian.Uint32(fp[:]), 2: outs}
	b, err := walletEncMode.Marshal(body)
	if err != nil {
		return "", nil, fmt.Errorf("crypto-account: %w", err)
	}
	for _, k := range keys {
		back, err := DecodeAccountUR(b, k.Script, k.Record.Key.Network())
		if err != nil || back.String() != k.Record.String() {
			return "", nil, fmt.Errorf("crypto-account: %s key does not read back: %v", k.Script, err)
		}
	}
	return URTypeCryptoAccount, b, nil
}
