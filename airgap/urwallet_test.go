package airgap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	fxcbor "github.com/fxamacker/cbor/v2"

	"github.com/kinko-project/kinko/wallet"
)

// urWalletVectors mirrors testdata/urwallet_vectors.json (see
// testdata/README.md).
type urWalletVectors struct {
	HDKey []struct {
		Name, Source, Type, CBORHex, UR string
		Master                          bool
		KeyData, ChainCode              string
		Network, OriginPath             string
		ParentFingerprint               string
		XKey                            string
	}
	Descriptors []struct {
		Name, Source, Type, CBORHex, UR string
		Text, Descriptor, Refused       string
		Threshold, Keys                 int
	}
	Accounts []struct {
		Name, Source, CBORHex, UR, Record string
	}
}

func loadURWalletVectors(t testing.TB) *urWalletVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/urwallet_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v urWalletVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.HDKey) == 0 || len(v.Descriptors) == 0 || len(v.Accounts) == 0 {
		t.Fatal("vectors missing")
	}
	return &v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPaperUR decodes a single-part UR string of a paper with URDecoder
// and checks that it carries the paper's CBOR.
func checkPaperUR(t *testing.T, ur, wantType string, wantCBOR []byte) {
	t.Helper()
	if ur == "" {
		return
	}
	d := NewURDecoder()
	if err := d.Receive(ur); err != nil {
		t.Fatalf("ur: %v", err)
	}
	typ, body, err := d.Result()
	if err != nil {
		t.Fatal(err)
	}
	if typ != wantType || !bytes.Equal(body, wantCBOR) {
		t.Fatalf("ur decodes to %s %x, want %s %x", typ, body, wantType, wantCBOR)
	}
}

func TestURWalletHDKeyVectors(t *testing.T) {
	for _, v := range loadURWalletVectors(t).HDKey {
		t.Run(v.Name, func(t *testing.T) {
			body := mustHex(t, v.CBORHex)
			checkPaperUR(t, v.UR, v.Type, body)
			val, err := decodeWalletCBOR(v.Type, body)
			if err != nil {
				t.Fatal(err)
			}
			h, err := parseHDKey(val)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(h.keyData) != v.KeyData || hex.EncodeToString(h.chainCode) != v.ChainCode {
				t.Fatalf("key %x chain code %x", h.keyData, h.chainCode)
			}
			_, err = DecodeKeyRecordUR(v.Type, body, nil)
			if v.Master {
				// The BIP-32 test vector 1 master key: rebuild the xprv
				// from the fields, and check the record is refused.
				if !h.master {
					t.Fatal("is-master not read")
				}
				var b [78]byte
				copy(b[0:4], wallet.Mainnet.XPrv[:])
				copy(b[13:45], h.chainCode)
				copy(b[45:], h.keyData)
				k, err := wallet.ParseExtendedKeyBytes(b[:], nil)
				if err != nil || k.String() != v.XKey {
					t.Fatalf("xprv %v %v", k, err)
				}
				if !errors.Is(err2(DecodeKeyRecordUR(v.Type, body, nil)), wallet.ErrPrivateKey) {
					t.Fatalf("master key not refused as private")
				}
				return
			}
			// The testnet public key at m/44'/1'/1'/0/1.
			fam, err := h.family()
			if err != nil || fam.Name != v.Network {
				t.Fatalf("network %v %v", fam, err)
			}
			p, err := h.originPath()
			if err != nil || p.String() != v.OriginPath {
				t.Fatalf("origin %v %v", p, err)
			}
			if !h.hasParentFP || h.parentFP.String() != v.ParentFingerprint {
				t.Fatalf("parent fingerprint %s", h.parentFP)
			}
			k, err := h.extendedKey(p, fam)
			if err != nil || k.String() != v.XKey {
				t.Fatalf("xpub %v %v", k, err)
			}
			// Its origin has no source fingerprint, which a key record
			// needs: refused, naming it.
			if !strings.Contains(fmt.Sprint(err2(DecodeKeyRecordUR(v.Type, body, nil))), "source-fingerprint") {
				t.Fatal("record without master fingerprint not refused")
			}
			if !errors.Is(err2(DecodeKeyRecordUR(v.Type, body, wallet.Mainnet)), wallet.ErrNetworkMismatch) {
				t.Fatal("testnet key accepted for mainnet")
			}
		})
	}
}

// err2 returns the error of a two-valued call.
func err2[T any](_ T, err error) error { return err }

func TestURWalletDescriptorVectors(t *testing.T) {
	for _, v := range loadURWalletVectors(t).Descriptors {
		t.Run(v.Name, func(t *testing.T) {
			body := mustHex(t, v.CBORHex)
			checkPaperUR(t, v.UR, v.Type, body)
			d, err := DecodeDescriptorUR(v.Type, body, nil)
			switch v.Refused {
			case "unsupported":
				if !errors.Is(err, wallet.ErrUnsupportedDescriptor) {
					t.Fatalf("want unsupported, got %v", err)
				}
				return
			case "private":
				if !errors.Is(err, wallet.ErrPrivateKey) {
					t.Fatalf("want private key refused, got %v", err)
				}
				return
			case "":
			default:
				t.Fatalf("unknown refusal %q", v.Refused)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := wallet.ParseDescriptor(v.Descriptor, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != want.String() {
				t.Fatalf("decoded\n %s\nwant\n %s", d, want)
			}
			keys, err := splitCanonical(d)
			if err != nil || d.Threshold() != v.Threshold || len(keys) != v.Keys {
				t.Fatalf("threshold %d, %d keys (%v)", d.Threshold(), len(keys), err)
			}
			// Back through crypto-output and a UR.
			typ, out, err := EncodeDescriptorUR(d)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := NewUREncoder(typ, out, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			typ, out, _ = decodeURParts(t, enc.NextPart, 100)
			back, err := DecodeDescriptorUR(typ, out, nil)
			if err != nil || back.String() != d.String() {
				t.Fatalf("round trip: %v %v", back, err)
			}
		})
	}
}

func TestURWalletAccountVectors(t *testing.T) {
	for _, v := range loadURWalletVectors(t).Accounts {
		t.Run(v.Name, func(t *testing.T) {
			body := mustHex(t, v.CBORHex)
			checkPaperUR(t, v.UR, URTypeCryptoAccount, body)
			// sh-wsh takes the BIP-48 1h key of the same account, wsh the
			// 2h one, sh the BIP-45 one (which only the revised vector has).
			shwsh, err := DecodeAccountUR(body, wallet.P2SHP2WSH, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := shwsh.Origin.Path.String(); got != "m/48h/0h/0h/1h" || shwsh.Origin.Fingerprint.String() != v.Record[1:9] {
				t.Fatalf("sh-wsh key %s", shwsh)
			}
			wsh, err := DecodeAccountUR(body, wallet.P2WSH, nil)
			if err != nil || wsh.String() != v.Record {
				t.Fatalf("wsh key %v %v", wsh, err)
			}
			if sh, err := DecodeAccountUR(body, wallet.P2SH, nil); err == nil && sh.Origin.Path.String() != "m/45h" ||
				err != nil && !strings.Contains(err.Error(), "no P2SH multisig cosigner key") {
				t.Fatalf("sh: %v %v", sh, err)
			}
			// Written back as an account of those two keys, each reads back.
			typ, out, err := EncodeAccountUR([]AccountKey{{wallet.P2SHP2WSH, shwsh}, {wallet.P2WSH, wsh}})
			if err != nil || typ != URTypeCryptoAccount {
				t.Fatal(err)
			}
			for st, want := range map[wallet.ScriptType]*wallet.KeyRecord{wallet.P2SHP2WSH: shwsh, wallet.P2WSH: wsh} {
				back, err := DecodeAccountUR(out, st, nil)
				if err != nil || back.String() != want.String() {
					t.Fatalf("%s: %v %v", st, back, err)
				}
			}
			for _, net := range []*wallet.Network{nil, wallet.Mainnet} {
				rec, err := DecodeKeyRecordUR(URTypeCryptoAccount, body, net)
				if err != nil {
					t.Fatal(err)
				}
				if rec.String() != v.Record {
					t.Fatalf("record\n %s\nwant\n %s", rec, v.Record)
				}
			}
			if !errors.Is(err2(DecodeKeyRecordUR(URTypeCryptoAccount, body, wallet.Testnet)), wallet.ErrNetworkMismatch) {
				t.Fatal("mainnet account accepted for testnet")
			}
			// Without its P2WSH cosigner entry the account is refused,
			// listing what it holds.
			val := decodeAny(t, body)
			m := val.(map[any]any)
			var kept []any
			for _, o := range m[uint64(2)].([]any) {
				e, err := parseAccountEntry(o)
				if err != nil {
					t.Fatal(err)
				}
				if !isCosigner(e, wallet.P2WSH) {
					kept = append(kept, o)
				}
			}
			m[uint64(2)] = kept
			_, err = DecodeKeyRecordUR(URTypeCryptoAccount, encodeAny(t, m), nil)
			for _, want := range []string{"no P2WSH multisig cosigner key", "pkh(KEY) at m/44h/0h/0h", "sh(wsh(", "at m/48h/0h/0h/1h", "tr(KEY) at m/86h/0h/0h"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v lacks %q", err, want)
				}
			}
		})
	}
}

// decodeAny and encodeAny convert between CBOR and generic values, to
// build malformed inputs.
func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := walletDecMode.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encodeAny(t testing.TB, v any) []byte {
	t.Helper()
	b, err := walletEncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testRecords returns three cosigner records of script type st on net,
// from fixed seeds.
func testRecords(t testing.TB, net *wallet.Network, st wallet.ScriptType) []*wallet.KeyRecord {
	t.Helper()
	var recs []*wallet.KeyRecord
	for i := range 3 {
		seed := sha256.Sum256([]byte(fmt.Sprintf("kinko urwallet test seed %d", i)))
		m, err := wallet.NewMaster(seed[:], net)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(net, st, 0))
		if err != nil {
			t.Fatal(err)
		}
		m.Zero()
		recs = append(recs, rec)
	}
	return recs
}

// throughUR sends a UR body through the fountain encoder and decoder.
func throughUR(t testing.TB, typ string, body []byte) (string, []byte) {
	t.Helper()
	enc, err := NewUREncoder(typ, body, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	gotTyp, got, _ := decodeURParts(t, enc.NextPart, 10*enc.SeqLen()+10)
	if gotTyp != typ || !bytes.Equal(got, body) {
		t.Fatalf("ur changed the body")
	}
	return gotTyp, got
}

func TestURWalletRoundTrip(t *testing.T) {
	for _, net := range []*wallet.Network{wallet.Testnet, wallet.Mainnet, wallet.Signet} {
		for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2SHP2WSH, wallet.P2SH} {
			t.Run(net.Name+"/"+st.String(), func(t *testing.T) {
				recs := testRecords(t, net, st)
				for _, rec := range recs {
					typ, body, err := EncodeKeyRecordUR(rec)
					if err != nil {
						t.Fatal(err)
					}
					if typ != URTypeCryptoHDKey {
						t.Fatalf("type %s", typ)
					}
					typ, body = throughUR(t, typ, body)
					back, err := DecodeKeyRecordUR(typ, body, net)
					if err != nil || back.String() != rec.String() || back.Key.Network() != net {
						t.Fatalf("record %v %v, want %s", back, err, rec)
					}
					// Without a network, the use-info tells the family.
					back, err = DecodeKeyRecordUR(typ, body, nil)
					if err != nil || back.String() != rec.String() || back.Key.Network() != net.Family() {
						t.Fatalf("record without network: %v %v", back, err)
					}
				}
				d, err := wallet.NewMultisig(net, st, 2, recs)
				if err != nil {
					t.Fatal(err)
				}
				typ, body, err := EncodeDescriptorUR(d)
				if err != nil {
					t.Fatal(err)
				}
				if typ != URTypeCryptoOutput {
					t.Fatalf("type %s", typ)
				}
				typ, body = throughUR(t, typ, body)
				back, err := DecodeDescriptorUR(typ, body, net)
				if err != nil {
					t.Fatal(err)
				}
				if back.String() != d.String() || back.Network() != net || !back.HasChange() {
					t.Fatalf("descriptor\n %s\nwant\n %s", back, d)
				}
				for _, change := range []bool{false, true} {
					a, err := d.Derive(change, 0)
					if err != nil {
						t.Fatal(err)
					}
					b, err := back.Derive(change, 0)
					if err != nil || a.Address != b.Address {
						t.Fatalf("address %v %v, want %s", b, err, a.Address)
					}
				}
				back, err = DecodeDescriptorUR(typ, body, nil)
				if err != nil || back.String() != d.String() {
					t.Fatalf("descriptor without network: %v %v", back, err)
				}
			})
		}
	}
}

// TestURWalletRoundTripShapes sends descriptors of other shapes than
// NewMultisig's through crypto-output, and checks the ones it cannot carry
// are refused.
func TestURWalletRoundTripShapes(t *testing.T) {
	recs := testRecords(t, wallet.Testnet, wallet.P2WSH)
	k := make([]string, len(recs))
	x := make([]string, len(recs))
	for i, r := range recs {
		k[i] = r.String()
		x[i] = r.Key.String()
	}
	master, err := wallet.NewMaster(bytes.Repeat([]byte{7}, 32), wallet.Testnet)
	if err != nil {
		t.Fatal(err)
	}
	mpub := master.Neuter()
	pub := hex.EncodeToString(recs[2].Key.PublicKey())
	fp := recs[0].Origin.Fingerprint.String()
	for _, s := range []string{
		"wsh(multi(2," + k[0] + "/<0;1>/*," + k[1] + "/<0;1>/*," + k[2] + "/<0;1>/*))",
		"wsh(sortedmulti(1," + k[0] + "/0/*," + k[1] + "/0/*))",
		"sh(wsh(sortedmulti(2," + k[0] + "/7/<2;3>/5/*," + k[1] + "/7/<2;3>/5/*)))",
		"wsh(sortedmulti(2," + k[0] + "," + k[1] + "," + k[2] + "))",
		"wsh(multi(2," + k[0] + "/<1;0>/*," + mpub.String() + "/<0;1>/*))",
		"sh(multi(2," + k[0] + "," + pub + "))",
		"wsh(sortedmulti(2," + k[0] + ",[" + fp + "/1h/2]" + pub + "))",
		"wsh(sortedmulti(1,[" + mpub.Fingerprint().String() + "]" + mpub.String() + "/<0;1>/*," + k[1] + "/<0;1>/*))",
	} {
		d, err := wallet.ParseDescriptor(s, wallet.Testnet)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		typ, body, err := EncodeDescriptorUR(d)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		back, err := DecodeDescriptorUR(typ, body, nil)
		if err != nil || back.String() != d.String() {
			t.Fatalf("%s: %v %v", s, back, err)
		}
	}
	for _, c := range []struct{ desc, err string }{
		{"wsh(sortedmulti(1,[" + fp + "/48h/1h]" + x[0] + "/0/*," + k[1] + "/0/*))", "has 2 elements"},
		{"wsh(sortedmulti(1,[" + fp + "/48h/1h/0h/1h]" + x[0] + "/0/*," + k[1] + "/0/*))", "ends otherwise"},
		{"wsh(sortedmulti(1," + x[0] + "/0/*," + k[1] + "/0/*))", "without origin"},
		{"wsh(sortedmulti(1," + k[0] + "/<0;1;2>/*," + k[1] + "/<0;1;2>/*))", "pairs only"},
		{"wsh(sortedmulti(1,[00000000]" + mpub.String() + "/0/*," + k[1] + "/0/*))", "00000000"},
	} {
		d, err := wallet.ParseDescriptor(c.desc, wallet.Testnet)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if _, _, err := EncodeDescriptorUR(d); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: got %v, want %q", c.desc, err, c.err)
		}
	}
}

// testDescriptorValue returns a 2-of-3 testnet P2WSH crypto-output body as
// a generic value, and its keys array.
func testDescriptorValue(t testing.TB) (any, []any) {
	t.Helper()
	d, err := wallet.NewMultisig(wallet.Testnet, wallet.P2WSH, 2, testRecords(t, wallet.Testnet, wallet.P2WSH))
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := EncodeDescriptorUR(d)
	if err != nil {
		t.Fatal(err)
	}
	v := decodeAny(t, body)
	multi := v.(fxcbor.Tag).Content.(fxcbor.Tag).Content.(map[any]any)
	return v, multi[uint64(2)].([]any)
}

// hdkeyOf returns the map of the i-th key of a descriptor value.
func hdkeyOf(keys []any, i int) map[any]any {
	return keys[i].(fxcbor.Tag).Content.(map[any]any)
}

func TestURWalletRefusals(t *testing.T) {
	recs := testRecords(t, wallet.Testnet, wallet.P2WSH)
	_, recBody, err := EncodeKeyRecordUR(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	record := func(edit func(m map[any]any)) []byte {
		m := decodeAny(t, recBody).(map[any]any)
		edit(m)
		return encodeAny(t, m)
	}
	descriptor := func(edit func(v any, keys []any) any) []byte {
		v, keys := testDescriptorValue(t)
		if nv := edit(v, keys); nv != nil {
			v = nv
		}
		return encodeAny(t, v)
	}
	origin := func(m map[any]any) map[any]any { return m[uint64(6)].(fxcbor.Tag).Content.(map[any]any) }
	eckey := fxcbor.Tag{Number: tagECKey, Content: map[any]any{uint64(3): recs[0].Key.PublicKey()}}
	manyKeys := func(n int) []any {
		keys := make([]any, n)
		for i := range keys {
			keys[i] = eckey
		}
		return keys
	}
	multi := func(threshold uint64, keys []any) any {
		return fxcbor.Tag{Number: tagWSH, Content: fxcbor.Tag{Number: tagSortedMulti, Content: map[any]any{uint64(1): threshold, uint64(2): keys}}}
	}
	big := make([]byte, maxWalletCBOR+1)
	big[0], big[1], big[2] = 0x5a, 0, 1 // byte string header; size alone refuses it
	deep := bytes.Repeat([]byte{0x81}, 100)
	deep = append(deep, 0x00)
	wide := []byte{0x99, 0x08, 0x00} // array of 2048 elements
	wide = append(wide, make([]byte, 2048)...)

	type dec func([]byte) error
	asRecord := func(typ string) dec {
		return func(b []byte) error { return err2(DecodeKeyRecordUR(typ, b, nil)) }
	}
	asDescriptor := func(typ string, net *wallet.Network) dec {
		return func(b []byte) error { return err2(DecodeDescriptorUR(typ, b, net)) }
	}
	for _, c := range []struct {
		name string
		dec  dec
		in   []byte
		is   error  // errors.Is target, or nil
		msg  string // substring of the message, or ""
	}{
		// Unknown tags.
		{"hdkey use-info tag", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			m[uint64(5)] = fxcbor.Tag{Number: 999, Content: m[uint64(5)].(fxcbor.Tag).Content}
		}), nil, "unknown tag 999"},
		{"hdkey origin tag", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			m[uint64(6)] = fxcbor.Tag{Number: 305, Content: origin(m)}
		}), nil, "unknown tag 305"},
		{"output script tag", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(v any, _ []any) any {
			return fxcbor.Tag{Number: 499, Content: v.(fxcbor.Tag).Content}
		}), nil, "unknown tag 499"},
		{"output key tag", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			keys[1] = fxcbor.Tag{Number: 40309, Content: keys[1].(fxcbor.Tag).Content}
			return nil
		}), nil, "unknown tag 40309"},
		{"output-descriptor tag", asDescriptor(URTypeOutputDescriptor, nil), encodeAny(t, fxcbor.Tag{Number: 308, Content: map[any]any{uint64(1): "wsh(multi(1,@0))"}}), nil, "unknown tag 308"},
		{"account tag", asRecord(URTypeCryptoAccount), encodeAny(t, map[any]any{uint64(1): uint64(1), uint64(2): []any{fxcbor.Tag{Number: 420, Content: eckey}}}), nil, "unknown tag 420"},

		// Private keys.
		{"record is-private", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) { m[uint64(2)] = true }), wallet.ErrPrivateKey, ""},
		{"record is-master", asRecord(URTypeHDKey), record(func(m map[any]any) { m[uint64(1)] = true }), wallet.ErrPrivateKey, ""},
		{"record private key data", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			m[uint64(3)] = append([]byte{0}, bytes.Repeat([]byte{1}, 32)...)
		}), wallet.ErrPrivateKey, ""},
		{"descriptor hdkey is-private", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			hdkeyOf(keys, 2)[uint64(2)] = true
			return nil
		}), wallet.ErrPrivateKey, ""},
		{"descriptor eckey is-private", asDescriptor(URTypeCryptoOutput, nil), encodeAny(t, multi(1, []any{
			fxcbor.Tag{Number: tagECKey, Content: map[any]any{uint64(2): true, uint64(3): bytes.Repeat([]byte{1}, 32)}},
		})), wallet.ErrPrivateKey, ""},

		// Chain codes.
		{"ranged key without chain code", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			delete(hdkeyOf(keys, 0), uint64(4))
			return nil
		}), nil, "without chain code"},
		{"record without chain code", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) { delete(m, uint64(4)) }), nil, "no chain code"},

		// Counts.
		{"21 keys", asDescriptor(URTypeCryptoOutput, nil), encodeAny(t, multi(1, manyKeys(21))), wallet.ErrTooManyKeys, ""},
		{"21 placeholder keys", asDescriptor(URTypeOutputDescriptor, nil), encodeAny(t, map[any]any{
			uint64(1): "wsh(multi(1,@0))", uint64(2): manyKeys(21),
		}), wallet.ErrTooManyKeys, ""},
		{"no keys", asDescriptor(URTypeCryptoOutput, nil), encodeAny(t, multi(1, []any{})), wallet.ErrInvalidDescriptor, ""},
		{"threshold 0", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(v any, _ []any) any {
			v.(fxcbor.Tag).Content.(fxcbor.Tag).Content.(map[any]any)[uint64(1)] = uint64(0)
			return nil
		}), wallet.ErrThreshold, ""},
		{"threshold 4 of 3", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(v any, _ []any) any {
			v.(fxcbor.Tag).Content.(fxcbor.Tag).Content.(map[any]any)[uint64(1)] = uint64(4)
			return nil
		}), wallet.ErrThreshold, ""},
		{"threshold 2^40", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(v any, _ []any) any {
			v.(fxcbor.Tag).Content.(fxcbor.Tag).Content.(map[any]any)[uint64(1)] = uint64(1) << 40
			return nil
		}), nil, "out of range"},

		// Sizes.
		{"record over the size cap", asRecord(URTypeCryptoHDKey), big, ErrTooLarge, ""},
		{"account over the size cap", asRecord(URTypeCryptoAccount), big, ErrTooLarge, ""},
		{"crypto-output over the size cap", asDescriptor(URTypeCryptoOutput, nil), big, ErrTooLarge, ""},
		{"output-descriptor over the size cap", asDescriptor(URTypeOutputDescriptor, nil), big, ErrTooLarge, ""},
		{"deep nesting", asDescriptor(URTypeCryptoOutput, nil), deep, ErrTooLarge, ""},
		{"wide array", asDescriptor(URTypeCryptoOutput, nil), wide, ErrTooLarge, ""},

		// Depth and path.
		{"record depth/path mismatch", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			origin(m)[uint64(3)] = uint64(5)
		}), wallet.ErrOriginMismatch, ""},
		{"descriptor depth/path mismatch", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			origin(hdkeyOf(keys, 1))[uint64(3)] = uint64(3)
			return nil
		}), wallet.ErrOriginMismatch, ""},
		{"descriptor key without origin", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			delete(hdkeyOf(keys, 1), uint64(6))
			return nil
		}), nil, "no origin"},
		{"descriptor origin without fingerprint", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			delete(origin(hdkeyOf(keys, 1)), uint64(2))
			return nil
		}), nil, "without source-fingerprint"},
		{"descriptor key without parent fingerprint", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			delete(hdkeyOf(keys, 1), uint64(8))
			return nil
		}), nil, "no parent-fingerprint"},
		{"hardened child step", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			hdkeyOf(keys, 0)[uint64(7)] = keypathTag(wallet.Path{wallet.Hardened}, nil, -1)
			return nil
		}), wallet.ErrHardenedDerivation, ""},
		{"origin with a wildcard", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			o := origin(m)
			o[uint64(1)] = append(o[uint64(1)].([]any)[:6], []any{}, true)
		}), nil, "plain path"},

		// Networks.
		{"testnet key for mainnet", asDescriptor(URTypeCryptoOutput, wallet.Mainnet), descriptor(func(any, []any) any { return nil }), wallet.ErrNetworkMismatch, ""},
		{"mixed networks", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(_ any, keys []any) any {
			delete(hdkeyOf(keys, 2), uint64(5))
			return nil
		}), wallet.ErrNetworkMismatch, ""},
		{"ethereum key", asRecord(URTypeCryptoHDKey), record(func(m map[any]any) {
			m[uint64(5)] = fxcbor.Tag{Number: tagCoinInfo, Content: map[any]any{uint64(1): uint64(60)}}
		}), nil, "not bitcoin"},

		// Malformed CBOR and structure.
		{"duplicate map key", asRecord(URTypeCryptoHDKey), append(append([]byte{0xa6}, recBody[1:]...), recBody[1:37]...), nil, "duplicate"},
		{"trailing bytes", asRecord(URTypeCryptoHDKey), append(bytes.Clone(recBody), 0), nil, "extraneous"},
		{"empty body", asDescriptor(URTypeCryptoOutput, nil), nil, nil, "empty body"},
		{"wrong ur type", asDescriptor(URTypeCryptoPSBT, nil), recBody, ErrUnknownFormat, ""},
		{"bare multisig", asDescriptor(URTypeCryptoOutput, nil), descriptor(func(v any, _ []any) any { return v.(fxcbor.Tag).Content }), wallet.ErrUnsupportedDescriptor, ""},
		{"wsh(cosigner)", asDescriptor(URTypeCryptoOutput, nil), encodeAny(t, fxcbor.Tag{Number: tagWSH, Content: fxcbor.Tag{Number: tagCosigner, Content: eckey}}), wallet.ErrUnsupportedDescriptor, ""},
		{"placeholder out of range", asDescriptor(URTypeOutputDescriptor, nil), encodeAny(t, map[any]any{
			uint64(1): "wsh(multi(1,@1))", uint64(2): []any{eckey},
		}), nil, "placeholder @1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.dec(c.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %q does not wrap %q", err, c.is)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q lacks %q", err, c.msg)
			}
		})
	}
}

// TestURWalletEncodeRefusals checks the encoders' argument checks.
func TestURWalletEncodeRefusals(t *testing.T) {
	if _, _, err := EncodeKeyRecordUR(nil); err == nil {
		t.Error("nil record accepted")
	}
	if _, _, err := EncodeDescriptorUR(nil); err == nil {
		t.Error("nil descriptor accepted")
	}
	m, err := wallet.NewMaster(bytes.Repeat([]byte{9}, 32), wallet.Testnet)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := EncodeKeyRecordUR(&wallet.KeyRecord{Origin: wallet.KeyOrigin{Fingerprint: m.Fingerprint(), Path: wallet.Path{}}, Key: m}); !errors.Is(err, wallet.ErrPrivateKey) {
		t.Errorf("private record: %v", err)
	}
	rec := testRecords(t, wallet.Testnet, wallet.P2WSH)[0]
	bad := &wallet.KeyRecord{Origin: wallet.KeyOrigin{Fingerprint: rec.Origin.Fingerprint, Path: rec.Origin.Path[:3]}, Key: rec.Key}
	if _, _, err := EncodeKeyRecordUR(bad); !errors.Is(err, wallet.ErrOriginMismatch) {
		t.Errorf("mismatched origin: %v", err)
	}
	// The master key's own record (depth 0) crosses.
	pub := m.Neuter()
	master := &wallet.KeyRecord{Origin: wallet.KeyOrigin{Fingerprint: pub.Fingerprint(), Path: wallet.Path{}}, Key: pub}
	typ, body, err := EncodeKeyRecordUR(master)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := DecodeKeyRecordUR(typ, body, wallet.Regtest); err != nil || back.String() != master.String() || back.Key.Network() != wallet.Regtest {
		t.Fatalf("master record: %v %v", back, err)
	}
}

func FuzzDecodeDescriptorUR(f *testing.F) {
	v := loadURWalletVectors(f)
	for _, d := range v.Descriptors {
		f.Add(mustHex(f, d.CBORHex))
	}
	for _, a := range v.Accounts {
		f.Add(mustHex(f, a.CBORHex))
	}
	for _, h := range v.HDKey {
		f.Add(mustHex(f, h.CBORHex))
	}
	for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2SHP2WSH, wallet.P2SH} {
		recs := testRecords(f, wallet.Testnet, st)
		d, err := wallet.NewMultisig(wallet.Testnet, st, 2, recs)
		if err != nil {
			f.Fatal(err)
		}
		_, body, err := EncodeDescriptorUR(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
		_, body, err = EncodeKeyRecordUR(recs[0])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []string{URTypeCryptoOutput, URTypeOutputDescriptor} {
			d, err := DecodeDescriptorUR(typ, b, nil)
			if err != nil {
				continue
			}
			// Whatever decodes is a descriptor kinko parses back as is.
			again, err := wallet.ParseDescriptor(d.String(), d.Network())
			if err != nil || again.String() != d.String() {
				t.Fatalf("%s: %s does not parse back: %v", typ, d, err)
			}
		}
		for _, typ := range []string{URTypeCryptoHDKey, URTypeCryptoAccount} {
			rec, err := DecodeKeyRecordUR(typ, b, nil)
			if err != nil {
				continue
			}
			if err := rec.Validate(); err != nil {
				t.Fatalf("%s: invalid record %s: %v", typ, rec, err)
			}
		}
		for _, st := range []wallet.ScriptType{wallet.P2SHP2WSH, wallet.P2SH} {
			if rec, err := DecodeAccountUR(b, st, nil); err == nil {
				if err := rec.Validate(); err != nil {
					t.Fatalf("account %s: invalid record %s: %v", st, rec, err)
				}
			}
		}
	})
}
