package setup

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
)

// URForm is how a crypto-output carries the receive and change branches.
type URForm string

// The crypto-output forms Write and EncodeUR write.
const (
	// URReceive writes each key's children as /0/*, the form of
	// BCR-2020-010's examples, which every crypto-output reader accepts
	// (Keystone, Sparrow, BlueWallet); readers take /1/* as the change
	// branch. The default.
	URReceive URForm = "receive"
	// URChildPair writes the children as the child pair <0;1>/* of
	// BCR-2020-007 (BIP-389's multipath step), which carries both branches
	// but which readers that predate child pairs misread.
	URChildPair URForm = "pair"
)

// Options tell Write what the descriptor does not hold.
type Options struct {
	Name     string // the wallet's name (Coldcard, Caravan, Specter)
	Birthday int64  // Specter's blockheight; 0 if unknown
	URForm   URForm // the crypto-output form; "" is URReceive
}

// Write writes the wallet d, a multisig with receive and change branches
// (every key ending in /<0;1>/*), in format f. Coldcard's file and
// Caravan's JSON hold only sortedmulti wallets whose keys carry their
// origin and nothing after the xpub but /<0;1>/*; other wallets are
// refused for them. What Write writes, Read reads back to d.
func Write(d *wallet.Descriptor, f Format, opts Options) ([]byte, error) {
	if err := checkWallet(f, d); err != nil {
		return nil, err
	}
	switch f {
	case Descriptor:
		return []byte(d.String() + "\n"), nil
	case Pair:
		recv, err := branchText(d, 0)
		if err != nil {
			return nil, &Error{Format: f, Err: err}
		}
		change, _ := branchText(d, 1)
		return []byte(recv + "\n" + change + "\n"), nil
	case UR:
		typ, cbor, err := EncodeUR(d, opts.URForm)
		if err != nil {
			return nil, err
		}
		enc, err := airgap.NewUREncoder(typ, cbor, len(cbor)+1, 0)
		if err != nil {
			return nil, &Error{Format: f, Err: err}
		}
		return []byte(enc.Parts(1)[0] + "\n"), nil
	}
	if !d.IsMultisig() {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: a %s file holds a multisig, not a single-key wallet", ErrInvalid, f)}
	}
	switch f {
	case Coldcard:
		return writeColdcard(d, opts)
	case Caravan:
		return writeCaravan(d, opts)
	case Specter:
		return writeSpecter(d, opts)
	case BSMS:
		return writeBSMS(d)
	}
	return nil, fmt.Errorf("unknown wallet file format %q", f)
}

// EncodeUR returns the UR type and CBOR body of d as a crypto-output in
// the given form ("" is URReceive).
func EncodeUR(d *wallet.Descriptor, form URForm) (urType string, cbor []byte, err error) {
	if err := checkWallet(UR, d); err != nil {
		return "", nil, err
	}
	src := d
	switch form {
	case "", URReceive:
		recv, err := branchText(d, 0)
		if err != nil {
			return "", nil, &Error{Format: UR, Err: err}
		}
		if src, err = wallet.ParseDescriptor(recv, d.Network()); err != nil {
			return "", nil, &Error{Format: UR, Err: err}
		}
	case URChildPair:
	default:
		return "", nil, fmt.Errorf("unknown crypto-output form %q (want receive or pair)", form)
	}
	urType, cbor, err = airgap.EncodeDescriptorUR(src)
	if err != nil {
		return "", nil, &Error{Format: UR, Err: err}
	}
	return urType, cbor, nil
}

// plainKeys checks that d is what the key-list formats (Coldcard,
// Caravan) can carry: sortedmulti over keys with their origins, each
// followed by /<0;1>/* alone, and returns its key records.
func plainKeys(f Format, d *wallet.Descriptor) ([]*wallet.KeyRecord, error) {
	if !d.Sorted() {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: a %s holds sortedmulti wallets only; this one is multi() (keys in a fixed order)", ErrInvalid, f.title())}
	}
	keys := d.Keys()
	re, err := wallet.NewMultisig(d.Network(), d.ScriptType(), d.Threshold(), keys)
	if err != nil || re.String() != d.String() {
		return nil, &Error{Format: f, Err: fmt.Errorf("%w: a %s needs every key as [origin]xpub/<0;1>/*", ErrInvalid, f.title())}
	}
	return keys, nil
}

// apostrophes writes a path with ' for hardened steps, as Coldcard and
// Caravan do.
func apostrophes(p wallet.Path) string { return strings.ReplaceAll(p.String(), "h", "'") }

func coldcardFormatName(st wallet.ScriptType) string {
	switch st {
	case wallet.P2WSH:
		return "P2WSH"
	case wallet.P2SHP2WSH:
		return "P2SH-P2WSH"
	}
	return "P2SH"
}

// coldcardName makes a name Coldcard takes: at most 20 characters of
// printable ASCII.
func coldcardName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && b.Len() < 20 {
			b.WriteRune(r)
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		return "kinko"
	}
	return strings.TrimSpace(b.String())
}

func writeColdcard(d *wallet.Descriptor, opts Options) ([]byte, error) {
	keys, err := plainKeys(Coldcard, d)
	if err != nil {
		return nil, err
	}
	if len(keys) > 15 {
		return nil, &Error{Format: Coldcard, Err: fmt.Errorf("%w: Coldcard takes at most 15 keys", ErrInvalid)}
	}
	common := true
	for _, k := range keys[1:] {
		if !k.Origin.Path.Equal(keys[0].Origin.Path) {
			common = false
		}
	}
	var b strings.Builder
	b.WriteString("# Coldcard multisig setup file (written by kinko)\n#\n")
	fmt.Fprintf(&b, "Name: %s\n", coldcardName(opts.Name))
	fmt.Fprintf(&b, "Policy: %d of %d\n", d.Threshold(), len(keys))
	if common {
		fmt.Fprintf(&b, "Derivation: %s\n", apostrophes(keys[0].Origin.Path))
	}
	fmt.Fprintf(&b, "Format: %s\n\n", coldcardFormatName(d.ScriptType()))
	for _, k := range keys {
		if !common {
			fmt.Fprintf(&b, "Derivation: %s\n", apostrophes(k.Origin.Path))
		}
		fmt.Fprintf(&b, "%s: %s\n", strings.ToUpper(k.Origin.Fingerprint.String()), k.Key)
	}
	return []byte(b.String()), nil
}

func writeCaravan(d *wallet.Descriptor, opts Options) ([]byte, error) {
	keys, err := plainKeys(Caravan, d)
	if err != nil {
		return nil, err
	}
	c := caravanFile{
		Name:        opts.Name,
		AddressType: coldcardFormatName(d.ScriptType()),
		Network:     d.Network().Name,
		Client: &struct {
			Type string `json:"type"`
		}{"public"},
	}
	c.Quorum.RequiredSigners = d.Threshold()
	c.Quorum.TotalSigners = len(keys)
	for i, k := range keys {
		c.ExtendedPublicKeys = append(c.ExtendedPublicKeys, caravanKey{
			Name: fmt.Sprintf("key %d", i+1), Bip32Path: apostrophes(k.Origin.Path),
			Xpub: k.Key.String(), XFP: k.Origin.Fingerprint.String(), Method: "text",
		})
	}
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func writeSpecter(d *wallet.Descriptor, opts Options) ([]byte, error) {
	recv, err := branchText(d, 0)
	if err != nil {
		return nil, &Error{Format: Specter, Err: err}
	}
	s := specterFile{Label: opts.Name, Blockheight: max(opts.Birthday, 0), Descriptor: recv}
	for i, k := range d.Keys() {
		s.Devices = append(s.Devices, specterDevice{Type: "other", Label: fmt.Sprintf("key %d (%s)", i+1, k.Origin.Fingerprint)})
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func writeBSMS(d *wallet.Descriptor) ([]byte, error) {
	tmpl, ok := replaceBranch(body(d), "/<0;1>/*", "/**", len(d.Keys()))
	if !ok {
		return nil, &Error{Format: BSMS, Err: fmt.Errorf("%w: every key must end in /<0;1>/*", ErrInvalid)}
	}
	first, err := d.Derive(false, 0)
	if err != nil {
		return nil, &Error{Format: BSMS, Err: err}
	}
	return []byte(bsmsVersion + "\n" + tmpl + "\n/0/*,/1/*\n" + first.Address + "\n"), nil
}
