package wallet

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testMaster(t testing.TB, seedByte byte, net *Network) *ExtendedKey {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = seedByte + byte(i)
	}
	m, err := NewMaster(seed, net)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeyRecordRoundTrip(t *testing.T) {
	for _, net := range []*Network{Mainnet, Testnet, Regtest} {
		for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH} {
			m := testMaster(t, 1, net)
			p := AccountPath(net, st, 0)
			r, err := NewKeyRecord(m, p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Key.IsPrivate() || !r.Origin.Path.Equal(p) || r.Origin.Fingerprint != m.Fingerprint() {
				t.Fatalf("record %s", r)
			}
			s := r.String()
			wantPrefix := "[" + m.Fingerprint().String() + strings.TrimPrefix(p.String(), "m") + "]"
			if !strings.HasPrefix(s, wantPrefix) {
				t.Errorf("record %s, want prefix %s", s, wantPrefix)
			}
			r2, err := ParseKeyRecord(s, net)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			if r2.String() != s || r2.Key.Network() != net {
				t.Errorf("round trip %s → %s (%s)", s, r2, r2.Key.Network())
			}
			// Other hardened markers and white space.
			end := strings.IndexByte(s, ']')
			alt := strings.ReplaceAll(s[:end], "h", "'") + s[end:]
			if r3, err := ParseKeyRecord("  "+alt+"\n", net); err != nil || r3.String() != s {
				t.Errorf("%s: %v", alt, err)
			}
		}
	}
}

func TestKeyRecordRefusals(t *testing.T) {
	m := testMaster(t, 1, Testnet)
	fp := m.Fingerprint().String()
	acct, _ := m.Derive(AccountPath(Testnet, P2WSH, 0)) // private, m/48h/1h/0h/2h
	tpub := acct.Neuter().String()
	child1, _ := m.Child(Hardened + 48)
	for _, c := range []struct {
		name, rec string
		net       *Network
		err       error
	}{
		{"xprv", "[" + fp + "/48h/1h/0h/2h]" + acct.String(), nil, ErrPrivateKey},
		{"short origin", "[" + fp + "/48h/1h/0h]" + tpub, nil, ErrOriginMismatch},
		{"long origin", "[" + fp + "/48h/1h/0h/2h/0]" + tpub, nil, ErrOriginMismatch},
		{"child index", "[" + fp + "/48h/1h/0h/1h]" + tpub, nil, ErrOriginMismatch},
		{"unhardened last", "[" + fp + "/48h/1h/0h/2]" + tpub, nil, ErrOriginMismatch},
		{"parent fingerprint", "[00000000/48h]" + child1.Neuter().String(), nil, ErrOriginMismatch},
		{"master fingerprint", "[00000000]" + m.Neuter().String(), nil, ErrOriginMismatch},
		{"network", "[" + fp + "/48h/1h/0h/2h]" + tpub, Mainnet, ErrNetworkMismatch},
		{"bad fingerprint", "[" + fp[:7] + "/48h/1h/0h/2h]" + tpub, nil, ErrInvalidFingerprint},
		{"bad path", "[" + fp + "/48h/1h//2h]" + tpub, nil, ErrInvalidPath},
		{"bad key", "[" + fp + "/48h/1h/0h/2h]" + tpub[:len(tpub)-1] + "x", nil, ErrChecksum},
	} {
		_, err := ParseKeyRecord(c.rec, c.net)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), acct.String()) {
			t.Errorf("%s: error quotes the private key", c.name)
		}
	}
	for _, s := range []string{"", tpub, "[" + fp + "/48h/1h/0h/2h" + tpub,
		"[" + fp + "/48h/1h/0h/2h]" + tpub + "/0/*", "[" + fp + "/48h/1h/0h/2h][" + fp + "]" + tpub} {
		if _, err := ParseKeyRecord(s, nil); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	// The parsed xprv must not survive in any form: the record is refused
	// before it is returned.
	if r, err := ParseKeyRecord("["+fp+"/48h/1h/0h/2h]"+acct.String(), nil); r != nil || err == nil {
		t.Error("xprv record returned")
	}
}

func TestNewKeyRecordErrors(t *testing.T) {
	m := testMaster(t, 1, Mainnet)
	c, _ := m.Child(Hardened)
	if _, err := NewKeyRecord(c, Path{1}); !errors.Is(err, ErrOriginMismatch) {
		t.Errorf("non-master: %v", err)
	}
	if _, err := NewKeyRecord(m.Neuter(), AccountPath(Mainnet, P2WSH, 0)); !errors.Is(err, ErrDeriveHardenedFromPublic) {
		t.Errorf("hardened from xpub: %v", err)
	}
	// A public master may derive unhardened paths.
	r, err := NewKeyRecord(m.Neuter(), Path{1, 2})
	if err != nil || r.Validate() != nil {
		t.Errorf("unhardened from xpub: %v", err)
	}
}

func TestAccountPath(t *testing.T) {
	for _, c := range []struct {
		net  *Network
		st   ScriptType
		acct uint32
		want string
	}{
		{Mainnet, P2WSH, 0, "m/48h/0h/0h/2h"},
		{Testnet, P2WSH, 0, "m/48h/1h/0h/2h"},
		{Regtest, P2SHP2WSH, 3, "m/48h/1h/3h/1h"},
		{Signet, P2WSH, 7, "m/48h/1h/7h/2h"},
		{Mainnet, P2SH, 0, "m/45h"},
		{Mainnet, P2WPKH, 0, "m/84h/0h/0h"},
		{Testnet, P2WPKH, 2, "m/84h/1h/2h"},
		{Regtest, P2SHP2WPKH, 0, "m/49h/1h/0h"},
	} {
		if got := AccountPath(c.net, c.st, c.acct).String(); got != c.want {
			t.Errorf("%s %s %d: %s, want %s", c.net, c.st, c.acct, got, c.want)
		}
	}
	for _, f := range []func(){
		func() { AccountPath(Mainnet, P2WSH, Hardened) },
		func() { AccountPath(Mainnet, ScriptType(0), 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func TestScriptType(t *testing.T) {
	names := map[ScriptType]string{P2WSH: "wsh", P2SHP2WSH: "sh-wsh", P2SH: "sh", P2WPKH: "wpkh", P2SHP2WPKH: "sh-wpkh", P2TR: "tr"}
	for st, name := range names {
		got, err := ParseScriptType(st.String())
		if err != nil || got != st || st.String() != name {
			t.Errorf("%s: %v %v", st, got, err)
		}
	}
	for in, want := range map[string]ScriptType{"P2WSH": P2WSH, "p2sh-p2wsh": P2SHP2WSH, "p2sh": P2SH, "P2WPKH": P2WPKH, "p2sh-p2wpkh": P2SHP2WPKH, "P2TR": P2TR} {
		if got, err := ParseScriptType(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"pkh", "tr-wsh", "wsh-wpkh", ""} {
		if _, err := ParseScriptType(bad); !errors.Is(err, ErrUnknownScriptType) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestKeyOriginString(t *testing.T) {
	fp, _ := hex.DecodeString("d34db33f")
	o := KeyOrigin{Fingerprint: Fingerprint(fp), Path: Path{48 + Hardened, 1 + Hardened, Hardened, 2 + Hardened}}
	if o.String() != "d34db33f/48h/1h/0h/2h" {
		t.Errorf("got %s", o)
	}
	if (KeyOrigin{Fingerprint: Fingerprint(fp)}).String() != "d34db33f" {
		t.Error("empty path")
	}
}
