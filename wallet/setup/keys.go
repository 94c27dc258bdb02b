package setup

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
)

// A cosigner's key arrives in many exports. ReadKey takes each and picks
// the key of the wallet's script type:
//
//   - a key record "[fingerprint/path]xpub" (kinko, Sparrow, Specter), the
//     key also in its SLIP-132 form (Zpub, Vpub, Ypub, Upub);
//   - Coldcard's multisig xpub export (JSON: "xfp" with "p2wsh_deriv" and
//     "p2wsh" and the like, or the newer "p2wsh_key_exp"), and Coldcard's
//     generic JSON (its "bip48_2", "bip48_1" and "bip45" sections);
//   - a BIP-129 key record (round 1, unencrypted), whose signature by the
//     key is verified;
//   - ur:crypto-hdkey and ur:crypto-account (the key of the script type:
//     …/2h for wsh, …/1h for sh-wsh).

// ErrSignature is returned for a BSMS key record whose signature does
// not verify.
var ErrSignature = errors.New("signature does not verify")

// keyRecordTitle names a key record in errors.
const keyRecordTitle = "key record"

// ReadKey reads a cosigner's key for a multisig of script type st (wsh,
// sh-wsh or sh) from any export listed above, detected by its content.
// The key must be of net's family (net may be nil) and agree with its
// origin.
func ReadKey(b []byte, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", keyRecordTitle, ErrInvalid, len(b), MaxSize)
	}
	text := strings.TrimSpace(strings.ReplaceAll(string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))), "\r\n", "\n"))
	switch {
	case strings.HasPrefix(text, "{"):
		return readColdcardKey([]byte(text), st, net)
	case strings.HasPrefix(text, "BSMS "):
		return readBSMSKey(text, net)
	case len(text) > 3 && strings.EqualFold(text[:3], "ur:"):
		kind, payload, err := airgap.DecodeBytes([]byte(text))
		if err != nil {
			return nil, err
		}
		typ, _ := strings.CutPrefix(kind, "ur:")
		return FromKeyUR(typ, payload, st, net)
	}
	return parseRecord(text, st, net)
}

// FromKeyUR reads a cosigner's key from the body of a crypto-hdkey,
// hdkey or crypto-account UR, taking from an account the key of st.
func FromKeyUR(urType string, cbor []byte, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
	if urType == airgap.URTypeCryptoAccount {
		return airgap.DecodeAccountUR(cbor, st, net)
	}
	rec, err := airgap.DecodeKeyRecordUR(urType, cbor, net)
	if err != nil {
		return nil, err
	}
	if err := checkPurpose(rec, st); err != nil {
		return nil, fmt.Errorf("%s: %w", urType, err)
	}
	return rec, nil
}

// checkPurpose refuses a BIP-48 key of the other script type: …/1h is
// sh-wsh's, …/2h wsh's, …/3h tr's. Keys at other paths are taken as given.
func checkPurpose(rec *wallet.KeyRecord, st wallet.ScriptType) error {
	p := rec.Origin.Path
	if len(p) != 4 || p[0] != 48|wallet.Hardened {
		return nil
	}
	var is wallet.ScriptType
	switch p[3] {
	case 1 | wallet.Hardened:
		is = wallet.P2SHP2WSH
	case 2 | wallet.Hardened:
		is = wallet.P2WSH
	case 3 | wallet.Hardened:
		is = wallet.P2TR
	default:
		return nil
	}
	if is != st {
		return fmt.Errorf("%w: the key at %s is BIP-48's %s key, the wallet is %s", ErrScriptType, p, is, st)
	}
	return nil
}

// parseRecord parses "[fingerprint/path]xpub", the key in any version
// (SLIP-132 forms checked against st).
func parseRecord(s string, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
	rec, err := wallet.ParseKeyRecord(s, net)
	if err != nil {
		return nil, err
	}
	if _, key, ok := strings.Cut(s, "]"); ok {
		if err := checkSLIP132(strings.TrimSpace(key), st); err != nil {
			return nil, fmt.Errorf("%s: %w", keyRecordTitle, err)
		}
	}
	if err := checkPurpose(rec, st); err != nil {
		return nil, fmt.Errorf("%s: %w", keyRecordTitle, err)
	}
	return rec, nil
}

// coldcardPrefix is the field prefix of each script type in Coldcard's
// multisig xpub export, and the section of its generic JSON.
func coldcardPrefix(st wallet.ScriptType) (prefix, section string) {
	switch st {
	case wallet.P2SHP2WSH:
		return "p2sh_p2wsh", "bip48_1"
	case wallet.P2SH:
		return "p2sh", "bip45"
	}
	return "p2wsh", "bip48_2"
}

func readColdcardKey(b []byte, st wallet.ScriptType, net *wallet.Network) (*wallet.KeyRecord, error) {
	const title = "Coldcard key export"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: JSON: %v", title, ErrInvalid, err)
	}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		if v, ok := m[k]; ok {
			_ = json.Unmarshal(v, &s)
		}
		return s
	}
	prefix, section := coldcardPrefix(st)
	if exp := str(m, prefix+"_key_exp"); exp != "" {
		rec, err := parseRecord(exp, st, net)
		if err != nil {
			return nil, fmt.Errorf("%s: %s_key_exp: %w", title, prefix, err)
		}
		return rec, nil
	}
	xfp := str(m, "xfp")
	fp, err := wallet.ParseFingerprint(strings.ToLower(xfp))
	if err != nil {
		return nil, fmt.Errorf("%s: xfp: %w", title, err)
	}
	deriv, key := str(m, prefix+"_deriv"), str(m, prefix)
	field := prefix
	if deriv == "" && key == "" {
		var sec map[string]json.RawMessage
		if v, ok := m[section]; ok {
			if err := json.Unmarshal(v, &sec); err != nil {
				return nil, fmt.Errorf("%s: %s: %w: %v", title, section, ErrInvalid, err)
			}
			deriv, key, field = str(sec, "deriv"), str(sec, "xpub"), section
		}
	}
	if deriv == "" || key == "" {
		return nil, fmt.Errorf("%s: %w: no %s key (%s_deriv and %s, or %s)", title, ErrScriptType, st, prefix, prefix, section)
	}
	p, err := wallet.ParsePath(deriv)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", title, field, err)
	}
	rec, err := keyRecord(fp, p, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", title, field, err)
	}
	if net != nil && !wallet.SameFamily(net, rec.Key.Network()) {
		return nil, fmt.Errorf("%s: %s: %w: a %s key, not for %s", title, field, wallet.ErrNetworkMismatch, rec.Key.Network(), net)
	}
	if net != nil {
		if rec, err = wallet.ParseKeyRecord(rec.String(), net); err != nil {
			return nil, err
		}
	}
	if err := checkSLIP132(key, st); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", title, field, err)
	}
	if err := checkPurpose(rec, st); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", title, field, err)
	}
	return rec, nil
}

// ColdcardKeyJSON writes a signer's cosigner keys as Coldcard's multisig
// xpub export does: "xfp", "account", and for each key "<type>_deriv",
// "<type>" and "<type>_key_exp".
func ColdcardKeyJSON(keys []airgap.AccountKey, account uint32) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("coldcard key export: no keys")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  \"xfp\": %q,\n  \"account\": %d", strings.ToUpper(keys[0].Record.Origin.Fingerprint.String()), account)
	for _, k := range keys {
		prefix, _ := coldcardPrefix(k.Script)
		r := k.Record
		fmt.Fprintf(&b, ",\n  %q: %q,\n  %q: %q,\n  %q: %q", prefix+"_deriv", apostrophes(r.Origin.Path), prefix, r.Key.String(), prefix+"_key_exp", r.String())
	}
	b.WriteString("\n}\n")
	return []byte(b.String()), nil
}

// A BIP-129 key record (round 1, unencrypted): "BSMS 1.0", the token "00",
// the key with its origin, a description of at most 80 characters, and the
// key's signature of the first four lines (legacy signed message, as
// Bitcoin Core's signmessage).

const bsmsNoToken = "00"

// bsmsMessageHash is the hash a legacy signed message signs.
func bsmsMessageHash(msg string) []byte {
	var buf bytes.Buffer
	const magic = "Bitcoin Signed Message:\n"
	buf.WriteByte(byte(len(magic)))
	buf.WriteString(magic)
	writeVarInt(&buf, uint64(len(msg)))
	buf.WriteString(msg)
	h := sha256.Sum256(buf.Bytes())
	h = sha256.Sum256(h[:])
	return h[:]
}

func writeVarInt(b *bytes.Buffer, n uint64) {
	switch {
	case n < 0xfd:
		b.WriteByte(byte(n))
	case n <= 0xffff:
		b.WriteByte(0xfd)
		b.WriteByte(byte(n))
		b.WriteByte(byte(n >> 8))
	default:
		b.WriteByte(0xfe)
		for i := 0; i < 4; i++ {
			b.WriteByte(byte(n >> (8 * i)))
		}
	}
}

// BSMSKeyRecord writes a signer's key record for BIP-129's first round,
// unencrypted, signed with priv, the private key of rec's key.
func BSMSKeyRecord(rec *wallet.KeyRecord, priv *btcec.PrivateKey, description string) ([]byte, error) {
	if len(description) > 80 || strings.ContainsAny(description, "\r\n") {
		return nil, errors.New("bsms key record: the description must be one line of at most 80 characters")
	}
	if !bytes.Equal(priv.PubKey().SerializeCompressed(), rec.Key.PublicKey()) {
		return nil, errors.New("bsms key record: the private key is not the record's")
	}
	body := strings.Join([]string{bsmsVersion, bsmsNoToken, apostropheRecord(rec), description}, "\n")
	sig := ecdsa.SignCompact(priv, bsmsMessageHash(body), true)
	return []byte(body + "\n" + base64.StdEncoding.EncodeToString(sig) + "\n"), nil
}

// apostropheRecord writes a record as BIP-129's examples do, ' for
// hardened steps.
func apostropheRecord(r *wallet.KeyRecord) string {
	return "[" + r.Origin.Fingerprint.String() + strings.TrimPrefix(apostrophes(r.Origin.Path), "m") + "]" + r.Key.String()
}

func readBSMSKey(text string, net *wallet.Network) (*wallet.KeyRecord, error) {
	const title = "BSMS key record"
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	if len(lines) != 5 {
		return nil, fmt.Errorf("%s: %w: %d lines, a key record has 5 (version, token, key, description, signature)", title, ErrInvalid, len(lines))
	}
	if lines[0] != bsmsVersion {
		return nil, fmt.Errorf("%s: line 1: %w: version %q, kinko reads %q", title, ErrInvalid, clip(lines[0]), bsmsVersion)
	}
	if len(lines[3]) > 80 {
		return nil, fmt.Errorf("%s: line 4: %w: description over 80 characters", title, ErrInvalid)
	}
	rec, err := wallet.ParseKeyRecord(lines[2], net)
	if err != nil {
		return nil, fmt.Errorf("%s: line 3: %w", title, err)
	}
	pub, ok, err := recoverBSMS(lines)
	if err != nil {
		return nil, fmt.Errorf("%s: line 5: %w", title, err)
	}
	if !ok || !bytes.Equal(pub, rec.Key.PublicKey()) {
		return nil, fmt.Errorf("%s: line 5: %w: not signed by the key of line 3", title, ErrSignature)
	}
	return rec, nil
}

// recoverBSMS returns the compressed public key that signed the first four
// lines of a key record; ok is false if the signature is for an
// uncompressed key.
func recoverBSMS(lines []string) (pub []byte, ok bool, err error) {
	sig, err := base64.StdEncoding.DecodeString(lines[4])
	if err != nil || len(sig) != 65 {
		return nil, false, fmt.Errorf("%w: not a base64 signature of 65 bytes", ErrSignature)
	}
	pk, compressed, err := ecdsa.RecoverCompact(sig, bsmsMessageHash(strings.Join(lines[:4], "\n")))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return pk.SerializeCompressed(), compressed, nil
}
