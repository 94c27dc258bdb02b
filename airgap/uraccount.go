package airgap

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

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
