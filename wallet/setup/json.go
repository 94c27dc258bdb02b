package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/wallet"
)

// Caravan's wallet configuration (Unchained's Caravan coordinator): name,
// addressType P2SH | P2SH-P2WSH | P2WSH, network, quorum {requiredSigners,
// totalSigners} and extendedPublicKeys [{name, bip32Path, xpub, xfp}]. Its
// wallets are always sortedmulti (BIP-67) with /0/* receive and /1/*
// change branches.
type caravanFile struct {
	Name        string `json:"name"`
	AddressType string `json:"addressType"`
	Network     string `json:"network"`
	Client      *struct {
		Type string `json:"type"`
	} `json:"client,omitempty"`
	Quorum struct {
		RequiredSigners int `json:"requiredSigners"`
		TotalSigners    int `json:"totalSigners"`
	} `json:"quorum"`
	ExtendedPublicKeys   []caravanKey `json:"extendedPublicKeys"`
	StartingAddressIndex int          `json:"startingAddressIndex"`
}

type caravanKey struct {
	Name      string `json:"name"`
	Bip32Path string `json:"bip32Path"`
	Xpub      string `json:"xpub"`
	XFP       string `json:"xfp"`
	Method    string `json:"method,omitempty"`
}

// Specter Desktop's wallet backup: label, blockheight, descriptor (the
// receive descriptor, /0/*, or one with <0;1>) and devices.
type specterFile struct {
	Label       string          `json:"label"`
	Blockheight int64           `json:"blockheight"`
	Descriptor  string          `json:"descriptor"`
	Devices     []specterDevice `json:"devices"`
}

type specterDevice struct {
	Type  string `json:"type"`
	Label string `json:"label"`
}

// readJSON tells Caravan's file from Specter's by their fields.
func readJSON(b []byte, net *wallet.Network) (*Setup, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, &Error{Format: Caravan, Err: fmt.Errorf("%w: JSON: %v", ErrInvalid, err)}
	}
	switch {
	case probe["extendedPublicKeys"] != nil:
		return readCaravan(b, net)
	case probe["descriptor"] != nil:
		return readSpecter(b, net)
	case probe["xfp"] != nil:
		return nil, &Error{Format: Caravan, Err: fmt.Errorf("%w: a JSON key export (Coldcard's), not a wallet: give it to 'kinko wallet create --key'", ErrUnknownFormat)}
	}
	return nil, &Error{Format: Caravan, Err: fmt.Errorf("%w: JSON with neither extendedPublicKeys (Caravan) nor descriptor (Specter)", ErrUnknownFormat)}
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	return dec.Decode(v)
}

func readCaravan(b []byte, net *wallet.Network) (*Setup, error) {
	const f = Caravan
	var c caravanFile
	if err := strictJSON(b, &c); err != nil {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: JSON: %v", ErrInvalid, err)}
	}
	st, err := coldcardFormat(c.AddressType)
	if err != nil {
		return nil, fieldErr(f, "addressType", err)
	}
	var fileNet *wallet.Network
	if c.Network != "" {
		if fileNet, err = wallet.ParseNetwork(c.Network); err != nil {
			return nil, fieldErr(f, "network", fmt.Errorf("%w: %v", ErrInvalid, err))
		}
	}
	q := c.Quorum
	if q.TotalSigners != len(c.ExtendedPublicKeys) {
		return nil, fieldErr(f, "quorum", invalidf("totalSigners %d, but %d extendedPublicKeys", q.TotalSigners, len(c.ExtendedPublicKeys)))
	}
	if q.RequiredSigners < 1 || q.RequiredSigners > q.TotalSigners {
		return nil, fieldErr(f, "quorum", invalidf("requiredSigners %d of %d", q.RequiredSigners, q.TotalSigners))
	}
	records := make([]*wallet.KeyRecord, len(c.ExtendedPublicKeys))
	for i, k := range c.ExtendedPublicKeys {
		field := fmt.Sprintf("extendedPublicKeys[%d]", i)
		fp, err := wallet.ParseFingerprint(strings.ToLower(k.XFP))
		if err != nil {
			return nil, fieldErr(f, field+".xfp", err)
		}
		p, err := wallet.ParsePath(k.Bip32Path)
		if err != nil {
			return nil, fieldErr(f, field+".bip32Path", err)
		}
		r, err := keyRecord(fp, p, k.Xpub)
		if err != nil {
			return nil, fieldErr(f, field, err)
		}
		if err := checkSLIP132(k.Xpub, st); err != nil {
			return nil, fieldErr(f, field+".xpub", err)
		}
		records[i] = r
	}
	d, err := wallet.NewMultisig(nil, st, q.RequiredSigners, records)
	if err != nil {
		return nil, &Error{Format: f, Err: err}
	}
	d2, known, err := resolve(f, body(d), net, fileNet)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Name: c.Name, Descriptor: d2, NetworkKnown: known, Birthday: -1}, nil
}

func readSpecter(b []byte, net *wallet.Network) (*Setup, error) {
	const f = Specter
	var s specterFile
	if err := strictJSON(b, &s); err != nil {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: JSON: %v", ErrInvalid, err)}
	}
	d, err := wallet.ParseDescriptor(strings.TrimSpace(s.Descriptor), net)
	if err != nil {
		return nil, fieldErr(f, "descriptor", err)
	}
	w, ok := widen(d)
	if !ok {
		return nil, fieldErr(f, "descriptor", fmt.Errorf("%w: every key must end in /0/* (or /<0;1>/*)", ErrNoChange))
	}
	if s.Blockheight < 0 {
		return nil, fieldErr(f, "blockheight", invalidf("negative"))
	}
	d2, known, err := resolve(f, w, net, nil)
	if err != nil {
		return nil, err
	}
	return &Setup{Format: f, Name: s.Label, Descriptor: d2, NetworkKnown: known, Birthday: s.Blockheight}, nil
}
