package setup

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/wallet"
)

const (
	k1   = "[f5e40371/48h/1h/0h/2h]tpubDDwhmNj4Mb8fjPy6qMmBGQCLkSWP2ZU5JU8abmyWCNJw3r4EsZwWd4QQ7d3MExx51LSKFy6EtsewjVoREAA7rswbam6iUJDDkSepGpEX6rT"
	s1   = "[f5e40371/48h/1h/0h/1h]tpubDDwhmNj4Mb8fhAHuBxZjT3bhQKsenYjK3wwUHjQrgKE1MTppLfnkGjqeiirEdf3DosgLYzRmujJARif1NCE1irEemKrs6TfGHbKzJRRhckj"
	k1V  = "[f5e40371/48h/1h/0h/2h]Vpub5kodm3HyuuedBaZPf7fpUP1moBA6NHfcEt9WbhQ8UDdgpYKz4S9aKcHDdszsH5utdcjn22PNKfWJPuhSh8doXTEmcx4y2MP1WmCzKgZjQ4J"
	seed = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
)

func keyOf(s string) string { _, k, _ := strings.Cut(s, "]"); return k }

// TestBIP129KeyRecords verifies the signatures of BIP-129's key records.
func TestBIP129KeyRecords(t *testing.T) {
	recs := strings.Split(string(readFile(t, "bip129-keys.txt")), "---\n")
	if len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		lines := strings.Split(strings.TrimSpace(r), "\n")
		_, key, _ := strings.Cut(lines[2], "]")
		if len(key) == 66 {
			// A plain public key: kinko's wallets need an xpub, but the
			// signature still verifies.
			pub, _, err := recoverBSMS(lines)
			if err != nil || hex.EncodeToString(pub) != key {
				t.Fatalf("record %d: %v", i+1, err)
			}
			continue
		}
		rec, err := ReadKey([]byte(r), wallet.P2WSH, wallet.Mainnet)
		if err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		if keyOf(rec.String()) != key {
			t.Fatalf("record %d: %s", i+1, rec)
		}
		// Any change to the signed lines breaks the signature.
		bad := strings.Replace(r, "Signer", "Signor", 1)
		if _, err := ReadKey([]byte(bad), wallet.P2WSH, nil); !errors.Is(err, ErrSignature) {
			t.Fatalf("record %d altered: %v", i+1, err)
		}
	}
}

func TestBSMSKeyRecordRoundTrip(t *testing.T) {
	s, _ := hex.DecodeString(seed)
	m, err := wallet.NewMaster(s, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(wallet.Regtest, wallet.P2WSH, 0))
	if err != nil {
		t.Fatal(err)
	}
	if rec.String() != k1 {
		t.Fatalf("test key %s", rec)
	}
	acct, _ := m.Derive(rec.Origin.Path)
	priv, _ := acct.PrivateKey()
	out, err := BSMSKeyRecord(rec, priv, "kinko signer a")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadKey(out, wallet.P2WSH, wallet.Regtest)
	if err != nil || back.String() != rec.String() {
		t.Fatalf("%v %v\n%s", back, err, out)
	}
	other, _ := m.Derive(wallet.Path{1})
	op, _ := other.PrivateKey()
	if _, err := BSMSKeyRecord(rec, op, "x"); err == nil {
		t.Fatal("signed with another key")
	}
	if _, err := BSMSKeyRecord(rec, priv, strings.Repeat("x", 81)); err == nil {
		t.Fatal("long description")
	}
}

func TestColdcardKeyExports(t *testing.T) {
	old := `{"xfp": "F5E40371", "account": 0, "p2sh_deriv": "m/45'", "p2wsh_deriv": "m/48'/1'/0'/2'", "p2wsh": "` + keyOf(k1) +
		`", "p2sh_p2wsh_deriv": "m/48'/1'/0'/1'", "p2sh_p2wsh": "` + keyOf(s1) + `"}`
	generic := `{"chain": "XTN", "xfp": "F5E40371", "account": 0, "bip48_2": {"deriv": "m/48'/1'/0'/2'", "xpub": "` + keyOf(k1) +
		`", "name": "p2wsh"}, "bip48_1": {"deriv": "m/48'/1'/0'/1'", "xpub": "` + keyOf(s1) + `"}}`
	keyExp := `{"xfp": "F5E40371", "p2wsh_key_exp": "` + k1 + `", "p2sh_p2wsh_key_exp": "` + s1 + `"}`
	written, err := ColdcardKeyJSON([]airgap.AccountKey{{Script: wallet.P2SHP2WSH, Record: mustRecord(t, s1)}, {Script: wallet.P2WSH, Record: mustRecord(t, k1)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{"old": old, "generic": generic, "key_exp": keyExp, "written": string(written)} {
		for st, want := range map[wallet.ScriptType]string{wallet.P2WSH: k1, wallet.P2SHP2WSH: s1} {
			rec, err := ReadKey([]byte(in), st, wallet.Regtest)
			if err != nil || rec.String() != want {
				t.Fatalf("%s %s: %v %v", name, st, rec, err)
			}
		}
		if _, err := ReadKey([]byte(in), wallet.P2SH, nil); !errors.Is(err, ErrScriptType) {
			t.Fatalf("%s sh: %v", name, err)
		}
	}
	bad := strings.Replace(old, "F5E40371", "AAAAAAAA", 1)
	bad = strings.Replace(bad, "m/48'/1'/0'/2'", "m/48'/1'/0'", 1)
	if _, err := ReadKey([]byte(bad), wallet.P2WSH, nil); !errors.Is(err, wallet.ErrOriginMismatch) {
		t.Fatalf("bad derivation: %v", err)
	}
}

func mustRecord(t *testing.T, s string) *wallet.KeyRecord {
	t.Helper()
	r, err := wallet.ParseKeyRecord(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKeyScriptTypes(t *testing.T) {
	if r, err := ReadKey([]byte(k1V), wallet.P2WSH, wallet.Regtest); err != nil || r.String() != k1 {
		t.Fatalf("Vpub record: %v %v", r, err)
	}
	for _, c := range []struct {
		in string
		st wallet.ScriptType
	}{{k1V, wallet.P2SHP2WSH}, {k1, wallet.P2SHP2WSH}, {s1, wallet.P2WSH}} {
		if _, err := ReadKey([]byte(c.in), c.st, nil); !errors.Is(err, ErrScriptType) {
			t.Fatalf("%s for %s: %v", c.in[:30], c.st, err)
		}
	}
	// A crypto-account gives each script type its own key.
	typ, body, err := airgap.EncodeAccountUR([]airgap.AccountKey{{Script: wallet.P2SHP2WSH, Record: mustRecord(t, s1)}, {Script: wallet.P2WSH, Record: mustRecord(t, k1)}})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := airgap.NewUREncoder(typ, body, len(body)+1, 0)
	ur := enc.Parts(1)[0]
	for st, want := range map[wallet.ScriptType]string{wallet.P2WSH: k1, wallet.P2SHP2WSH: s1} {
		r, err := ReadKey([]byte(ur), st, wallet.Regtest)
		if err != nil || r.String() != want {
			t.Fatalf("account %s: %v %v", st, r, err)
		}
	}
	// A crypto-hdkey of the other type is refused.
	typ, body, _ = airgap.EncodeKeyRecordUR(mustRecord(t, s1))
	if _, err := FromKeyUR(typ, body, wallet.P2WSH, nil); !errors.Is(err, ErrScriptType) {
		t.Fatalf("hdkey: %v", err)
	}
}

func FuzzReadKey(f *testing.F) {
	f.Add([]byte(k1))
	f.Add([]byte(`{"xfp": "F5E40371", "p2wsh_key_exp": "` + k1 + `"}`))
	for _, r := range strings.Split(bip129KeysSeed, "---\n") {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, st := range []wallet.ScriptType{wallet.P2WSH, wallet.P2SHP2WSH} {
			rec, err := ReadKey(b, st, nil)
			if err == nil {
				if err := rec.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

const bip129KeysSeed = "BSMS 1.0\n00\n[1cf0bf7e/48'/0'/0'/2']xpub6FL8FhxNNUVnG64YurPd16AfGyvFLhh7S2uSsDqR3Qfcm6o9jtcMYwh6DvmcBF9qozxNQmTCVvWtxLpKTnhVLN3Pgnu2D3pAoXYFgVyd8Yz\nSigner 1 key\nIB7v+qi1b+Xrwm/3bF+Rjl8QbIJ/FMQ40kUsOOQo1SqUWn5QlFWbBD8BKPRetfo1L1N7DmYjVscZNsmMrqRJGWw=\n"
