package wallet

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/base58"
)

type bip32File struct {
	Valid []struct {
		Name   string
		Seed   string
		Chains []struct{ Path, XPub, XPrv string }
	}
	Invalid []struct{ Key, Reason string }
}

func loadBIP32(t testing.TB) bip32File {
	t.Helper()
	b, err := os.ReadFile("testdata/bip32.json")
	if err != nil {
		t.Fatal(err)
	}
	var f bip32File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBIP32Vectors checks every chain of BIP-32 test vectors 1-4: derived
// from the seed, parsed back, and (for non-hardened steps) derived from the
// parent's public key.
func TestBIP32Vectors(t *testing.T) {
	f := loadBIP32(t)
	if len(f.Valid) != 4 {
		t.Fatalf("want 4 valid vectors, have %d", len(f.Valid))
	}
	n := 0
	for _, v := range f.Valid {
		seed, err := hex.DecodeString(v.Seed)
		if err != nil {
			t.Fatal(err)
		}
		master, err := NewMaster(seed, Mainnet)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		var prevPub *ExtendedKey
		var prevPath Path
		for _, c := range v.Chains {
			n++
			p, err := ParsePath(c.Path)
			if err != nil {
				t.Fatalf("%s %s: %v", v.Name, c.Path, err)
			}
			if p.String() != c.Path {
				t.Errorf("path %q prints as %q", c.Path, p)
			}
			k, err := master.Derive(p)
			if err != nil {
				t.Fatalf("%s %s: %v", v.Name, c.Path, err)
			}
			if got := k.String(); got != c.XPrv {
				t.Errorf("%s %s: xprv\n got %s\nwant %s", v.Name, c.Path, got, c.XPrv)
			}
			pub := k.Neuter()
			if got := pub.String(); got != c.XPub {
				t.Errorf("%s %s: xpub\n got %s\nwant %s", v.Name, c.Path, got, c.XPub)
			}
			if int(k.Depth()) != len(p) {
				t.Errorf("%s %s: depth %d", v.Name, c.Path, k.Depth())
			}
			if len(p) > 0 && k.ChildIndex() != p[len(p)-1] {
				t.Errorf("%s %s: child index %d", v.Name, c.Path, k.ChildIndex())
			}
			// Parse both forms back and print them again.
			for _, s := range []string{c.XPrv, c.XPub} {
				pk, err := ParseExtendedKey(s, nil)
				if err != nil {
					t.Fatalf("%s %s: parse: %v", v.Name, c.Path, err)
				}
				if pk.String() != s || pk.Network() != Mainnet {
					t.Errorf("%s %s: round trip %s", v.Name, c.Path, pk)
				}
				if pk.IsPrivate() != strings.HasPrefix(s, "xprv") {
					t.Errorf("%s %s: IsPrivate %v", v.Name, c.Path, pk.IsPrivate())
				}
				raw := pk.Serialize()
				rk, err := ParseExtendedKeyBytes(raw[:], Mainnet)
				if err != nil || rk.String() != s {
					t.Errorf("%s %s: raw round trip: %v", v.Name, c.Path, err)
				}
				if string(pk.PublicKey()) != string(k.PublicKey()) || string(pk.ChainCode()) != string(k.ChainCode()) ||
					pk.Fingerprint() != k.Fingerprint() || pk.ParentFingerprint() != k.ParentFingerprint() {
					t.Errorf("%s %s: parsed key differs from derived key", v.Name, c.Path)
				}
			}
			// Public derivation from the previous chain's xpub.
			if prevPub != nil && len(p) == len(prevPath)+1 && p[len(p)-1] < Hardened {
				c2, err := prevPub.Child(p[len(p)-1])
				if err != nil {
					t.Fatal(err)
				}
				if c2.String() != c.XPub {
					t.Errorf("%s %s: public derivation gives %s", v.Name, c.Path, c2)
				}
			}
			if prevPub != nil && len(p) == len(prevPath)+1 && p[len(p)-1] >= Hardened {
				if _, err := prevPub.Child(p[len(p)-1]); !errors.Is(err, ErrDeriveHardenedFromPublic) {
					t.Errorf("%s %s: hardened from public: %v", v.Name, c.Path, err)
				}
			}
			prevPub, prevPath = pub, p
		}
	}
	if n != 17 {
		t.Errorf("checked %d chains, want 17", n)
	}
}

// TestBIP32Invalid checks that every key of BIP-32 test vector 5 is refused
// for the reason the BIP gives.
func TestBIP32Invalid(t *testing.T) {
	reasons := map[string]error{
		"pubkey version / prvkey mismatch":            ErrPublicVersionPrivateKey,
		"prvkey version / pubkey mismatch":            ErrPrivateVersionPublicKey,
		"invalid pubkey prefix 04":                    ErrInvalidKeyPrefix,
		"invalid prvkey prefix 04":                    ErrInvalidKeyPrefix,
		"invalid pubkey prefix 01":                    ErrInvalidKeyPrefix,
		"invalid prvkey prefix 01":                    ErrInvalidKeyPrefix,
		"zero depth with non-zero parent fingerprint": ErrZeroDepthParent,
		"zero depth with non-zero index":              ErrZeroDepthIndex,
		"unknown extended key version":                ErrUnknownVersion,
		"private key 0 not in 1..n-1":                 ErrInvalidPrivateKey,
		"private key n not in 1..n-1":                 ErrInvalidPrivateKey,
		"invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007": ErrInvalidPublicKey,
		"invalid checksum": ErrChecksum,
	}
	f := loadBIP32(t)
	if len(f.Invalid) != 16 {
		t.Fatalf("want 16 invalid keys, have %d", len(f.Invalid))
	}
	for _, v := range f.Invalid {
		want, ok := reasons[v.Reason]
		if !ok {
			t.Fatalf("no expectation for %q", v.Reason)
		}
		for _, net := range []*Network{nil, Mainnet} {
			_, err := ParseExtendedKey(v.Key, net)
			if !errors.Is(err, want) {
				t.Errorf("%s (%s): got %v, want %v", v.Key[:12], v.Reason, err, want)
				continue
			}
			// The prefix byte is named in the message.
			if strings.Contains(v.Reason, "prefix") && !strings.Contains(err.Error(), v.Reason[len(v.Reason)-2:]) {
				t.Errorf("%s: message %q does not name the prefix", v.Reason, err)
			}
			if strings.Contains(err.Error(), v.Key) {
				t.Errorf("%s: message quotes the key", v.Reason)
			}
		}
	}
}

func TestExtendedKeyNetworks(t *testing.T) {
	master, err := NewMaster(make([]byte, 32), Testnet)
	if err != nil {
		t.Fatal(err)
	}
	tpub := master.Neuter().String()
	if !strings.HasPrefix(tpub, "tpub") || !strings.HasPrefix(master.String(), "tprv") {
		t.Fatalf("testnet key prints as %s", tpub)
	}
	for _, c := range []struct {
		key  string
		net  *Network
		want *Network
		err  error
	}{
		{tpub, nil, Testnet, nil},
		{tpub, Testnet, Testnet, nil},
		{tpub, Regtest, Regtest, nil},
		{tpub, Signet, Signet, nil},
		{tpub, Mainnet, nil, ErrNetworkMismatch},
		{master.String(), Mainnet, nil, ErrNetworkMismatch},
		{"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", nil, Mainnet, nil},
		{"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", Regtest, nil, ErrNetworkMismatch},
		{"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", Signet, nil, ErrNetworkMismatch},
	} {
		k, err := ParseExtendedKey(c.key, c.net)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s on %v: got %v, want %v", c.key[:8], c.net, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s on %v: %v", c.key[:8], c.net, err)
			continue
		}
		if k.Network() != c.want {
			t.Errorf("%s on %v: network %v, want %v", c.key[:8], c.net, k.Network(), c.want)
		}
		if k.String() != c.key {
			t.Errorf("%s on %v: prints as %s", c.key[:8], c.net, k)
		}
	}
}

// withVersion re-encodes a base58check extended key with other version
// bytes.
func withVersion(t testing.TB, key string, version uint32) string {
	t.Helper()
	payload, v0, err := base58.CheckDecode(key)
	if err != nil {
		t.Fatal(err)
	}
	raw := append([]byte{v0}, payload...)
	raw[0], raw[1], raw[2], raw[3] = byte(version>>24), byte(version>>16), byte(version>>8), byte(version)
	return base58.CheckEncode(raw[1:], raw[0])
}

func TestSLIP132(t *testing.T) {
	const xpub = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
	const xprv = "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"
	k, _ := ParseExtendedKey(xpub, nil)
	tk, err := ParseExtendedKeyBytes(withVersionRaw(k, 0x043587cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	tpub := tk.String()
	tprv := withVersion(t, xprv, 0x04358394)
	cases := []struct {
		prefix  string
		base    string
		version uint32
		want    string
	}{
		{"ypub", xpub, 0x049d7cb2, xpub}, {"zpub", xpub, 0x04b24746, xpub},
		{"Ypub", xpub, 0x0295b43f, xpub}, {"Zpub", xpub, 0x02aa7ed3, xpub},
		{"yprv", xprv, 0x049d7878, xprv}, {"zprv", xprv, 0x04b2430c, xprv},
		{"Yprv", xprv, 0x0295b005, xprv}, {"Zprv", xprv, 0x02aa7a99, xprv},
		{"upub", xpub, 0x044a5262, tpub}, {"vpub", xpub, 0x045f1cf6, tpub},
		{"Upub", xpub, 0x024289ef, tpub}, {"Vpub", xpub, 0x02575483, tpub},
		{"uprv", xprv, 0x044a4e28, tprv}, {"vprv", xprv, 0x045f18bc, tprv},
		{"Uprv", xprv, 0x024285b5, tprv}, {"Vprv", xprv, 0x02575048, tprv},
	}
	for _, c := range cases {
		s := withVersion(t, c.base, c.version)
		if !strings.HasPrefix(s, c.prefix) {
			t.Fatalf("version %08x encodes as %s…, want %s", c.version, s[:4], c.prefix)
		}
		k, err := ParseExtendedKey(s, nil)
		if err != nil {
			t.Errorf("%s: %v", c.prefix, err)
			continue
		}
		if k.String() != c.want {
			t.Errorf("%s: converted to %s, want %s", c.prefix, k, c.want)
		}
		if strings.HasPrefix(c.want, "t") {
			if _, err := ParseExtendedKey(s, Mainnet); !errors.Is(err, ErrNetworkMismatch) {
				t.Errorf("%s on mainnet: %v", c.prefix, err)
			}
		}
	}
}

func withVersionRaw(k *ExtendedKey, version uint32) []byte {
	raw := k.Serialize()
	raw[0], raw[1], raw[2], raw[3] = byte(version>>24), byte(version>>16), byte(version>>8), byte(version)
	return raw[:]
}

func TestExtendedKeyErrors(t *testing.T) {
	if _, err := NewMaster(make([]byte, 15), Mainnet); !errors.Is(err, ErrInvalidSeed) {
		t.Errorf("15-byte seed: %v", err)
	}
	if _, err := NewMaster(make([]byte, 65), Mainnet); !errors.Is(err, ErrInvalidSeed) {
		t.Errorf("65-byte seed: %v", err)
	}
	if _, err := NewMaster(make([]byte, 16), nil); err == nil {
		t.Error("nil network accepted")
	}
	for _, s := range []string{"", "xpub", "0OIl", strings.Repeat("x", 200),
		"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet"} {
		if _, err := ParseExtendedKey(s, nil); !errors.Is(err, ErrInvalidLength) && !errors.Is(err, ErrChecksum) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseExtendedKeyBytes(make([]byte, 77), nil); !errors.Is(err, ErrInvalidLength) {
		t.Errorf("77 bytes: %v", err)
	}
	const xpub = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8"
	k, _ := ParseExtendedKey(xpub, nil)
	if _, err := k.PrivateKey(); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("PrivateKey of xpub: %v", err)
	}
	if _, err := k.Derive(Path{1, Hardened}); !errors.Is(err, ErrDeriveHardenedFromPublic) {
		t.Errorf("hardened derive from xpub: %v", err)
	}
}

func TestZero(t *testing.T) {
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	m, _ := NewMaster(seed, Mainnet)
	pub := m.PublicKey()
	priv, err := m.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	if string(priv.PubKey().SerializeCompressed()) != string(pub) {
		t.Fatal("private key does not match public key")
	}
	m.Zero()
	if m.IsPrivate() {
		t.Error("still private after Zero")
	}
	if _, err := m.PrivateKey(); err == nil {
		t.Error("PrivateKey after Zero")
	}
	if _, err := m.Child(0); !errors.Is(err, ErrZeroed) {
		t.Errorf("Child after Zero: %v", err)
	}
	if string(m.PublicKey()) != string(pub) {
		t.Error("public key changed by Zero")
	}
	if m.priv != [32]byte{} || m.chainCode != [32]byte{} {
		t.Error("private material left after Zero")
	}
}

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Path
		str  string
	}{
		{"m", Path{}, "m"},
		{"", Path{}, "m"},
		{"m/48h/1h/0h/2h", Path{48 + Hardened, 1 + Hardened, Hardened, 2 + Hardened}, "m/48h/1h/0h/2h"},
		{"48'/0H/7", Path{48 + Hardened, Hardened, 7}, "m/48h/0h/7"},
		{"m/2147483647h/2147483647", Path{0xffffffff, 0x7fffffff}, "m/2147483647h/2147483647"},
	} {
		p, err := ParsePath(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !p.Equal(c.want) || p.String() != c.str {
			t.Errorf("%q: got %v (%s)", c.in, []uint32(p), p)
		}
	}
	for _, in := range []string{"m/", "/1", "1//2", "1/", "m/2147483648", "m/2147483648h", "m/4294967295",
		"m/-1", "m/+1", "m/1x", "m/h", "m/1hh", "M/1", "m/ 1", "m/0x10", "m/1'h"} {
		if _, err := ParsePath(in); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	fp, err := ParseFingerprint("D34DB33F")
	if err != nil || fp.String() != "d34db33f" {
		t.Errorf("got %v %v", fp, err)
	}
	for _, s := range []string{"", "d34db33", "d34db33f0", "g34db33f", "d34db33 "} {
		if _, err := ParseFingerprint(s); !errors.Is(err, ErrInvalidFingerprint) {
			t.Errorf("%q: %v", s, err)
		}
	}
	// BIP-32 vector 1: m/0h's parent fingerprint is the master's.
	seed, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	m, _ := NewMaster(seed, Mainnet)
	if m.Fingerprint().String() != "3442193e" {
		t.Errorf("master fingerprint %s", m.Fingerprint())
	}
	c, _ := m.Child(Hardened)
	if c.ParentFingerprint() != m.Fingerprint() {
		t.Error("parent fingerprint")
	}
}
