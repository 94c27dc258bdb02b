package wallet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/btcec/v2"
)

type descVectorFile struct {
	Checksums []struct {
		Source, Name, Desc string
		OK                 bool
	}
	Keys []struct {
		Source, Name, Key, Expect, Neutered string
	}
	Descriptors []struct {
		Source, Desc, Expect, Wrap, Neutered, Note, Group string
		Branch                                            int
		Scripts, Addresses                                []string
	}
}

func loadDescVectors(t testing.TB) descVectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/descriptors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f descVectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// errByName maps the expectations of testdata/descriptors.json to errors.
var errByName = map[string]error{
	"private":                  ErrPrivateKey,
	"hardened":                 ErrHardenedDerivation,
	"ErrPrivateKey":            ErrPrivateKey,
	"ErrHardenedDerivation":    ErrHardenedDerivation,
	"ErrDuplicateKey":          ErrDuplicateKey,
	"ErrThreshold":             ErrThreshold,
	"ErrTooManyKeys":           ErrTooManyKeys,
	"ErrMultipathMismatch":     ErrMultipathMismatch,
	"ErrDescriptorChecksum":    ErrDescriptorChecksum,
	"ErrInvalidDescriptor":     ErrInvalidDescriptor,
	"ErrInvalidFingerprint":    ErrInvalidFingerprint,
	"ErrUnsupportedDescriptor": ErrUnsupportedDescriptor,
	"ErrUncompressedKey":       ErrUncompressedKey,
}

// neuter rewrites a descriptor the way a watch-only exporter would: each
// xprv becomes its xpub and each WIF key its hex public key; a checksum is
// dropped. It is how the BIP vectors written with private keys are checked
// against kinko, which refuses private keys.
func neuter(t testing.TB, s string) string {
	t.Helper()
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	tokens := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(",()[]/", r) })
	for _, tok := range tokens {
		if k, err := ParseExtendedKey(tok, nil); err == nil && k.IsPrivate() {
			s = strings.ReplaceAll(s, tok, k.Neuter().String())
			continue
		}
		if payload, version, err := base58.CheckDecode(tok); err == nil && version == 0x80 && len(tok) > 50 {
			_, pub := btcec.PrivKeyFromBytes(payload[:32])
			h := hex.EncodeToString(pub.SerializeUncompressed())
			if len(payload) == 33 {
				h = hex.EncodeToString(pub.SerializeCompressed())
			}
			s = strings.ReplaceAll(s, tok, h)
		}
	}
	return s
}

func wrapDesc(s, wrap string) string {
	if wrap == "" {
		return s
	}
	return wrap + "(" + s + ")"
}

func TestDescriptorChecksumVectors(t *testing.T) {
	f := loadDescVectors(t)
	for _, c := range f.Checksums {
		_, err := splitChecksum(c.Desc)
		if c.OK != (err == nil) {
			t.Errorf("%s (%s): %v", c.Name, c.Desc, err)
		}
	}
	if sum, err := DescriptorChecksum("raw(deadbeef)"); err != nil || sum != "89f8spxm" {
		t.Errorf("raw(deadbeef): %s %v", sum, err)
	}
}

// TestKeyExpressionVectors checks the key expressions of BIP-380 and the
// multipath key expressions of BIP-389, each as the only key of
// sh(multi(1,KEY)).
func TestKeyExpressionVectors(t *testing.T) {
	f := loadDescVectors(t)
	for _, c := range f.Keys {
		desc := "sh(multi(1," + c.Key + "))"
		d, err := ParseDescriptor(desc, nil)
		expect := c.Expect
		if expect == "private" {
			if !errors.Is(err, ErrPrivateKey) {
				t.Errorf("%s %s: got %v, want a private key refusal", c.Source, c.Name, err)
				continue
			}
			if strings.Contains(err.Error(), c.Key) {
				t.Errorf("%s %s: error quotes the key", c.Source, c.Name)
			}
			expect = c.Neutered
			if expect == "" {
				expect = "ok"
			}
			desc = neuter(t, desc)
			d, err = ParseDescriptor(desc, nil)
		} else if expect == "invalid" {
			desc = neuter(t, desc)
			d, err = ParseDescriptor(desc, nil)
		}
		switch expect {
		case "ok":
			if err != nil {
				t.Errorf("%s %s: %v", c.Source, c.Name, err)
				continue
			}
			checkRoundTrip(t, d, nil)
			if _, err := d.Derive(false, 0); err != nil {
				t.Errorf("%s %s: derive: %v", c.Source, c.Name, err)
			}
		case "invalid":
			if err == nil {
				t.Errorf("%s %s: accepted %s", c.Source, c.Name, desc)
			} else if errors.Is(err, ErrPrivateKey) {
				t.Errorf("%s %s: refused only for its private key: %v", c.Source, c.Name, err)
			}
		default:
			if want := errByName[expect]; !errors.Is(err, want) {
				t.Errorf("%s %s: got %v, want %v", c.Source, c.Name, err, want)
			}
		}
	}
}

// checkRoundTrip checks that the canonical string parses to itself and
// derives the same scripts.
func checkRoundTrip(t *testing.T, d *Descriptor, net *Network) {
	t.Helper()
	d2, err := ParseDescriptor(d.String(), net)
	if err != nil {
		t.Errorf("canonical %s: %v", d, err)
		return
	}
	if d2.String() != d.String() {
		t.Errorf("canonical form unstable:\n%s\n%s", d, d2)
	}
	if strings.Contains(d.String(), "'") {
		t.Errorf("canonical form uses ': %s", d)
	}
	a, errA := d.Derive(false, 0)
	b, errB := d2.Derive(false, 0)
	if (errA == nil) != (errB == nil) || errA == nil && !bytes.Equal(a.ScriptPubKey, b.ScriptPubKey) {
		t.Errorf("%s: reparsed descriptor derives differently", d)
	}
}

// TestDescriptorVectors checks the descriptors of BIP-383, BIP-389,
// BIP-381/382 (invalid ones), BIP-129 and Bitcoin Core's descriptor tests:
// valid ones derive the scripts or addresses given, invalid ones are
// refused for the reason given.
func TestDescriptorVectors(t *testing.T) {
	f := loadDescVectors(t)
	type member struct {
		d      *Descriptor
		branch int
	}
	groups := map[string][]member{}
	for n, c := range f.Descriptors {
		name := c.Source + " #" + strconv.Itoa(n+1)
		desc := wrapDesc(c.Desc, c.Wrap)
		d, err := ParseDescriptor(desc, nil)
		expect := c.Expect
		if expect == "private" {
			if !errors.Is(err, ErrPrivateKey) {
				t.Errorf("%s: got %v, want a private key refusal", name, err)
				continue
			}
			expect = c.Neutered
			if expect == "" {
				expect = "ok"
			}
			if expect == "ErrHardenedDerivation" && len(c.Scripts) > 0 && strings.Count(c.Desc, "xprv") == 1 {
				checkHardenedScripts(t, name, c.Desc, c.Scripts)
			}
			desc = wrapDesc(neuter(t, c.Desc), c.Wrap)
			d, err = ParseDescriptor(desc, nil)
		}
		if expect == "invalid" {
			if err == nil || errors.Is(err, ErrPrivateKey) {
				t.Errorf("%s: got %v, want a refusal", name, err)
			}
			continue
		}
		if expect != "ok" {
			want, ok := errByName[expect]
			if !ok {
				t.Fatalf("%s: unknown expectation %q", name, expect)
			}
			if !errors.Is(err, want) {
				t.Errorf("%s: got %v, want %v", name, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkRoundTrip(t, d, nil)
		for i, want := range c.Scripts {
			dv, err := d.Derive(false, uint32(i))
			if err != nil {
				t.Errorf("%s index %d: %v", name, i, err)
				continue
			}
			got := dv.ScriptPubKey
			if c.Wrap != "" {
				got = dv.Script // the BIP gives the bare multisig script
			}
			if hex.EncodeToString(got) != want {
				t.Errorf("%s index %d:\n got %x\nwant %s", name, i, got, want)
			}
		}
		for i, want := range c.Addresses {
			dv, err := d.Derive(false, uint32(i))
			if err != nil || dv.Address != want {
				t.Errorf("%s index %d: address %v, %v; want %s", name, i, dv, err, want)
			}
		}
		if c.Group != "" {
			groups[c.Group] = append(groups[c.Group], member{d, c.Branch})
		}
	}
	// BIP-389: each branch of a multipath descriptor is the descriptor it
	// expands into.
	if len(groups) != 2 {
		t.Errorf("%d multipath groups", len(groups))
	}
	for g, ms := range groups {
		var multi *Descriptor
		for _, m := range ms {
			if m.branch < 0 {
				multi = m.d
			}
		}
		if multi == nil || !multi.HasChange() || len(ms) < 3 {
			t.Fatalf("group %s incomplete", g)
		}
		for _, m := range ms {
			if m.branch < 0 {
				continue
			}
			for i := uint32(0); i < 3; i++ {
				a, err := multi.deriveBranch(m.branch, i)
				if err != nil {
					t.Fatal(err)
				}
				b, err := m.d.Derive(false, i)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Script, b.Script) {
					t.Errorf("group %s branch %d index %d: %x != %x", g, m.branch, i, a.Script, b.Script)
				}
			}
		}
	}
}

// hardenedWildcard matches an xprv with steps ending in a hardened
// wildcard, as in BIP-382's sh(wpkh(xprv…/10/20/30/40/*')).
var hardenedWildcard = regexp.MustCompile(`(xprv[1-9A-HJ-NP-Za-km-z]+)((?:/[0-9]+)*)/\*['h]`)

// checkHardenedScripts checks a single-key vector whose key ends in a
// hardened wildcard, which kinko refuses after an xpub: child i is derived with the
// vector's xprv and written as a hex key, and the descriptor so made must
// give script i.
func checkHardenedScripts(t *testing.T, name, desc string, scripts []string) {
	t.Helper()
	m := hardenedWildcard.FindStringSubmatch(desc)
	if m == nil {
		t.Fatalf("%s: no xprv with a hardened wildcard", name)
	}
	k, err := ParseExtendedKey(m[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	path, err := ParsePath("m" + m[2])
	if err != nil {
		t.Fatal(err)
	}
	base, err := k.Derive(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range scripts {
		c, err := base.Child(Hardened + uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		hexDesc := strings.Replace(desc, m[0], hex.EncodeToString(c.PublicKey()), 1)
		d, err := ParseDescriptor(hexDesc, nil)
		if err != nil {
			t.Errorf("%s child %d: %v", name, i, err)
			continue
		}
		dv, err := d.Derive(false, 0)
		if err != nil || hex.EncodeToString(dv.ScriptPubKey) != want {
			t.Errorf("%s child %d: script %x (%v), want %s", name, i, dv.ScriptPubKey, err, want)
		}
	}
}

// testRecords returns n key records of distinct test masters at the
// standard account path of st.
func testRecords(t testing.TB, net *Network, st ScriptType, n int) ([]*ExtendedKey, []*KeyRecord) {
	t.Helper()
	masters := make([]*ExtendedKey, n)
	recs := make([]*KeyRecord, n)
	for i := range recs {
		masters[i] = testMaster(t, byte(7*i+1), net)
		r, err := NewKeyRecord(masters[i], AccountPath(net, st, 0))
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = r
	}
	return masters, recs
}

func TestNewMultisig(t *testing.T) {
	for _, net := range []*Network{Mainnet, Testnet, Regtest} {
		for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH} {
			masters, recs := testRecords(t, net, st, 3)
			d, err := NewMultisig(net, st, 2, recs)
			if err != nil {
				t.Fatal(err)
			}
			if d.Network() != net || d.ScriptType() != st || d.Threshold() != 2 || !d.Sorted() || !d.IsRange() || !d.HasChange() {
				t.Fatalf("%s: wrong properties", d)
			}
			s := d.String()
			if !strings.HasPrefix(s, map[ScriptType]string{P2WSH: "wsh(sortedmulti(2,[", P2SHP2WSH: "sh(wsh(sortedmulti(2,[", P2SH: "sh(sortedmulti(2,["}[st]) {
				t.Errorf("descriptor %s", s)
			}
			for _, r := range recs {
				if !strings.Contains(s, r.String()+"/<0;1>/*") {
					t.Errorf("%s lacks %s/<0;1>/*", s, r)
				}
			}
			checkRoundTrip(t, d, net)
			d2, err := ParseDescriptor(s, net)
			if err != nil || d2.Network() != net {
				t.Fatalf("%s on %s: %v", s, net, err)
			}
			// Keys come back as given, in order, and validate.
			keys := d2.Keys()
			for i, r := range keys {
				if r.String() != recs[i].String() || r.Validate() != nil {
					t.Errorf("key %d: %s", i, r)
				}
			}
			// The key order does not matter for sortedmulti.
			rev := []*KeyRecord{recs[2], recs[0], recs[1]}
			d3, _ := NewMultisig(net, st, 2, rev)
			for _, change := range []bool{false, true} {
				for i := uint32(0); i < 5; i++ {
					a, err := d.Derive(change, i)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := d3.Derive(change, i)
					if a.Address != b.Address {
						t.Errorf("key order changes address %d", i)
					}
					checkDerived(t, d, a, masters, change, i)
				}
			}
		}
	}
}

// checkDerived checks a derived script against the script type and each
// key against private derivation from its master along the full origin
// path.
func checkDerived(t *testing.T, d *Descriptor, dv *Derived, masters []*ExtendedKey, change bool, index uint32) {
	t.Helper()
	if dv.Change != change || dv.Index != index {
		t.Errorf("derived change %v index %d", dv.Change, dv.Index)
	}
	switch d.ScriptType() {
	case P2WSH:
		h := sha256.Sum256(dv.Script)
		if !bytes.Equal(dv.WitnessScript, dv.Script) || dv.RedeemScript != nil || !bytes.Equal(dv.ScriptPubKey, append([]byte{0, 32}, h[:]...)) {
			t.Error("wsh scripts")
		}
	case P2SHP2WSH:
		h := sha256.Sum256(dv.Script)
		if !bytes.Equal(dv.WitnessScript, dv.Script) || !bytes.Equal(dv.RedeemScript, append([]byte{0, 32}, h[:]...)) ||
			!bytes.Equal(dv.ScriptPubKey, append(append([]byte{0xa9, 20}, Hash160(dv.RedeemScript)...), 0x87)) {
			t.Error("sh(wsh) scripts")
		}
	case P2SH:
		if dv.WitnessScript != nil || !bytes.Equal(dv.RedeemScript, dv.Script) ||
			!bytes.Equal(dv.ScriptPubKey, append(append([]byte{0xa9, 20}, Hash160(dv.Script)...), 0x87)) {
			t.Error("sh scripts")
		}
	case P2WPKH:
		if len(dv.Keys) != 1 || !bytes.Equal(dv.Script, append([]byte{0, 20}, Hash160(dv.Keys[0].PubKey)...)) ||
			dv.WitnessScript != nil || dv.RedeemScript != nil || !bytes.Equal(dv.ScriptPubKey, dv.Script) {
			t.Error("wpkh scripts")
		}
	case P2SHP2WPKH:
		if len(dv.Keys) != 1 || !bytes.Equal(dv.Script, append([]byte{0, 20}, Hash160(dv.Keys[0].PubKey)...)) ||
			dv.WitnessScript != nil || !bytes.Equal(dv.RedeemScript, dv.Script) ||
			!bytes.Equal(dv.ScriptPubKey, append(append([]byte{0xa9, 20}, Hash160(dv.Script)...), 0x87)) {
			t.Error("sh(wpkh) scripts")
		}
	}
	if a, err := AddressFromScript(dv.ScriptPubKey, d.Network()); err != nil || a != dv.Address {
		t.Errorf("address %s: %v", dv.Address, err)
	}
	spks, err := d.DeriveScriptPubKeys(change, index, 1)
	if err != nil || !bytes.Equal(spks[0], dv.ScriptPubKey) {
		t.Errorf("DeriveScriptPubKeys disagrees with Derive at %d: %v", index, err)
	}
	branch := uint32(0)
	if change {
		branch = 1
	}
	for i, k := range dv.Keys {
		if i > 0 && d.Sorted() && bytes.Compare(dv.Keys[i-1].PubKey, k.PubKey) >= 0 {
			t.Error("keys not sorted")
		}
		p := k.Origin.Path
		if n := len(p); n < 3 || p[n-2] != branch || p[n-1] != index {
			t.Errorf("origin path %s", p)
		}
		found := false
		for _, m := range masters {
			if m.Fingerprint() != k.Origin.Fingerprint {
				continue
			}
			ck, err := m.Derive(p)
			if err != nil {
				t.Fatal(err)
			}
			found = bytes.Equal(ck.PublicKey(), k.PubKey)
		}
		if !found {
			t.Errorf("key %d does not derive from master %s at %s", i, k.Origin.Fingerprint, p)
		}
		if d.IsMultisig() && !bytes.Contains(dv.Script, k.PubKey) {
			t.Errorf("key %d not in script", i)
		}
	}
}

func TestDeriveScriptPubKeys(t *testing.T) {
	_, recs := testRecords(t, Testnet, P2WSH, 3)
	d, _ := NewMultisig(Testnet, P2WSH, 2, recs)
	for _, change := range []bool{false, true} {
		spks, err := d.DeriveScriptPubKeys(change, 10, 20)
		if err != nil || len(spks) != 20 {
			t.Fatal(err)
		}
		for i, s := range spks {
			dv, _ := d.Derive(change, uint32(10+i))
			if !bytes.Equal(s, dv.ScriptPubKey) {
				t.Errorf("index %d differs", 10+i)
			}
		}
	}
	if s, err := d.DeriveScriptPubKeys(false, 0, 0); err != nil || len(s) != 0 {
		t.Errorf("count 0: %v %v", s, err)
	}
	if _, err := d.DeriveScriptPubKeys(false, Hardened-2, 3); !errors.Is(err, ErrHardenedDerivation) {
		t.Errorf("beyond 2^31: %v", err)
	}
	if s, err := d.DeriveScriptPubKeys(false, Hardened-2, 2); err != nil || len(s) != 2 {
		t.Errorf("up to 2^31-1: %v", err)
	}
}

// TestKeysWithoutOrigin checks keys written without origin: their own
// fingerprint stands in, as in a PSBT made by Bitcoin Core.
func TestKeysWithoutOrigin(t *testing.T) {
	const xpub = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
	const pk = "0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600"
	d, err := ParseDescriptor("wsh(multi(1,"+xpub+"/7/8,[deadbeef/1h]"+pk+"))", nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ParseExtendedKey(xpub, nil)
	keys := d.Keys()
	if len(keys) != 1 || keys[0].Origin.Fingerprint != k.Fingerprint() || len(keys[0].Origin.Path) != 0 {
		t.Errorf("keys %v", keys)
	}
	if !errors.Is(keys[0].Validate(), ErrOriginMismatch) {
		t.Error("a depth-4 key without origin validates")
	}
	dv, err := d.Derive(false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o := dv.Keys[0].Origin; o.Fingerprint != k.Fingerprint() || o.String() != k.Fingerprint().String()+"/7/8" {
		t.Errorf("origin %s", o)
	}
	if o := dv.Keys[1].Origin; o.String() != "deadbeef/1h" || hex.EncodeToString(dv.Keys[1].PubKey) != pk {
		t.Errorf("origin %s", o)
	}
	if d.IsRange() || d.HasChange() {
		t.Error("non-ranged")
	}
	// BIP-380 allows an origin that does not match the key (here a depth-4
	// key with a 3-step origin); kinko parses it, and Validate tells.
	d, err = ParseDescriptor("sh(multi(1,[deadbeef/0h/1h/2h]"+xpub+"/3/4/5/*))", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Keys()[0].Validate(); !errors.Is(err, ErrOriginMismatch) {
		t.Errorf("Validate: %v", err)
	}
}

// TestDescriptorRefusals has one case for each refusal ParseDescriptor
// promises.
func TestDescriptorRefusals(t *testing.T) {
	masters, recs := testRecords(t, Testnet, P2WSH, 22)
	tpub := func(i int) string { return "[" + recs[i].Origin.String() + "]" + recs[i].Key.String() }
	keys := func(n int, suffix string) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, tpub(i)+suffix)
		}
		return strings.Join(parts, ",")
	}
	_, mainRecs := testRecords(t, Mainnet, P2WSH, 1)
	xpub := "[" + mainRecs[0].Origin.String() + "]" + mainRecs[0].Key.String()
	acct, _ := masters[0].Derive(recs[0].Origin.Path)
	tprv := acct.String()
	const wif = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
	var uncompressed []string
	for i := 0; i < 8; i++ {
		pk, _ := btcec.ParsePubKey(recs[i].Key.PublicKey())
		uncompressed = append(uncompressed, hex.EncodeToString(pk.SerializeUncompressed()))
	}
	good := "wsh(sortedmulti(2," + keys(3, "/<0;1>/*") + "))"
	if _, err := ParseDescriptor(good, nil); err != nil {
		t.Fatal(err)
	}
	sum, _ := DescriptorChecksum(good)
	badSum := []byte(sum)
	badSum[0] ^= 1
	for _, c := range []struct {
		name string
		desc string
		net  *Network
		err  error
	}{
		{"m > n", "wsh(sortedmulti(4," + keys(3, "/0/*") + "))", nil, ErrThreshold},
		{"m = 0", "wsh(sortedmulti(0," + keys(3, "/0/*") + "))", nil, ErrThreshold},
		{"m not a number", "wsh(sortedmulti(x," + keys(3, "/0/*") + "))", nil, ErrThreshold},
		{"n > 15 in sh", "sh(sortedmulti(2," + keys(16, "/0/*") + "))", nil, ErrTooManyKeys},
		{"n > 20 in wsh", "wsh(sortedmulti(2," + keys(21, "/0/*") + "))", nil, ErrTooManyKeys},
		{"n > 20 in sh(wsh)", "sh(wsh(sortedmulti(2," + keys(21, "/0/*") + ")))", nil, ErrTooManyKeys},
		{"duplicate xpub", "wsh(sortedmulti(2," + tpub(0) + "/0/*," + tpub(1) + "/0/*," + tpub(0) + "/1/*))", nil, ErrDuplicateKey},
		{"duplicate hex key", "sh(multi(1," + uncompressed[0] + "," + uncompressed[1] + "," + uncompressed[0] + "))", nil, ErrDuplicateKey},
		{"mixed networks", "wsh(sortedmulti(2," + keys(2, "/0/*") + "," + xpub + "/0/*))", nil, ErrNetworkMismatch},
		{"tpub on mainnet", good, Mainnet, ErrNetworkMismatch},
		{"xpub on regtest", "wsh(sortedmulti(1," + xpub + "/0/*))", Regtest, ErrNetworkMismatch},
		{"uncompressed in wsh", "wsh(multi(1," + uncompressed[0] + "))", nil, ErrUncompressedKey},
		{"uncompressed in sh(wsh)", "sh(wsh(multi(1," + uncompressed[0] + ")))", nil, ErrUncompressedKey},
		{"bad checksum", good + "#" + string(badSum), nil, ErrDescriptorChecksum},
		{"short checksum", good + "#" + sum[:7], nil, ErrDescriptorChecksum},
		{"hardened wildcard h", "wsh(sortedmulti(2," + keys(3, "/0/*h") + "))", nil, ErrHardenedDerivation},
		{"hardened wildcard '", "wsh(sortedmulti(2," + keys(3, "/0/*'") + "))", nil, ErrHardenedDerivation},
		{"hardened step after xpub", "wsh(sortedmulti(2," + keys(3, "/0h/*") + "))", nil, ErrHardenedDerivation},
		{"hardened multipath", "wsh(sortedmulti(2," + keys(3, "/<0h;1h>/*") + "))", nil, ErrHardenedDerivation},
		{"tprv", "wsh(sortedmulti(2," + keys(2, "/0/*") + ",[" + recs[0].Origin.String() + "]" + tprv + "/0/*))", nil, ErrPrivateKey},
		{"WIF", "sh(multi(1," + wif + "))", nil, ErrPrivateKey},
		{"multipath lengths", "wsh(sortedmulti(2," + keys(2, "/<0;1>/*") + "," + tpub(2) + "/<0;1;2>/*))", nil, ErrMultipathMismatch},
		{"ranged and non-ranged", "wsh(sortedmulti(2," + keys(2, "/0/*") + "," + tpub(2) + "/0/0))", nil, ErrMixedRange},
		{"ranged and hex key", "sh(multi(1," + tpub(0) + "/0/*," + uncompressed[1] + "))", nil, ErrMixedRange},
		{"P2SH script over 520 bytes", "sh(multi(1," + strings.Join(uncompressed, ",") + "))", nil, ErrScriptTooLarge},
		{"trailing garbage", good + "x", nil, ErrInvalidDescriptor},
		{"trailing parenthesis", good + ")", nil, ErrInvalidDescriptor},
		{"trailing space", good + " ", nil, ErrInvalidDescriptor},
		{"garbage after checksum", good + "#" + sum + "x", nil, ErrDescriptorChecksum},
		{"two multipath steps", "wsh(sortedmulti(2," + keys(3, "/<0;1>/<2;3>/*") + "))", nil, ErrInvalidDescriptor},
		{"repeated multipath index", "wsh(sortedmulti(2," + keys(3, "/<0;0>/*") + "))", nil, ErrInvalidDescriptor},
		{"wildcard not last", "wsh(sortedmulti(2," + keys(3, "/*/0") + "))", nil, ErrInvalidDescriptor},
		{"empty step", "wsh(sortedmulti(2," + keys(3, "//*") + "))", nil, ErrInvalidDescriptor},
		{"H marker", "wsh(sortedmulti(2," + strings.Replace(keys(3, "/0/*"), "48h", "48H", 1) + "))", nil, ErrInvalidDescriptor},
		{"steps after hex key", "sh(multi(1," + uncompressed[0] + "/0))", nil, ErrInvalidDescriptor},
		{"bare multisig", "sortedmulti(2," + keys(3, "/0/*") + ")", nil, ErrUnsupportedDescriptor},
		{"pkh", "pkh(" + tpub(0) + "/0/*)", nil, ErrUnsupportedDescriptor},
		{"sh(pkh)", "sh(pkh(" + tpub(0) + "/0/*))", nil, ErrUnsupportedDescriptor},
		{"uncompressed in wpkh", "wpkh(" + uncompressed[0] + ")", nil, ErrUncompressedKey},
		{"uncompressed in sh(wpkh)", "sh(wpkh(" + uncompressed[0] + "))", nil, ErrUncompressedKey},
		{"wpkh inside wsh", "wsh(wpkh(" + tpub(0) + "/0/*))", nil, ErrInvalidDescriptor},
		{"wpkh inside sh(wsh)", "sh(wsh(wpkh(" + tpub(0) + "/0/*)))", nil, ErrInvalidDescriptor},
		{"wpkh inside sh(sh)", "sh(sh(wpkh(" + tpub(0) + "/0/*)))", nil, ErrInvalidDescriptor},
		{"two keys in wpkh", "wpkh(" + keys(2, "/0/*") + ")", nil, ErrInvalidDescriptor},
		{"multi in wpkh", "wpkh(sortedmulti(1," + keys(2, "/0/*") + "))", nil, ErrInvalidDescriptor},
		{"empty wpkh", "wpkh()", nil, ErrInvalidDescriptor},
		{"threshold in wpkh", "wpkh(1," + tpub(0) + "/0/*)", nil, ErrInvalidDescriptor},
		{"wpkh unclosed", "wpkh(" + tpub(0) + "/0/*", nil, ErrInvalidDescriptor},
		{"tprv in wpkh", "wpkh([" + recs[0].Origin.String() + "]" + tprv + "/<0;1>/*)", nil, ErrPrivateKey},
		{"WIF in sh(wpkh)", "sh(wpkh(" + wif + "))", nil, ErrPrivateKey},
		{"hardened step in wpkh", "wpkh(" + tpub(0) + "/0h/*)", nil, ErrHardenedDerivation},
		{"tpub wpkh on mainnet", "wpkh(" + tpub(0) + "/<0;1>/*)", Mainnet, ErrNetworkMismatch},
		{"wpkh bad checksum", "wpkh(" + tpub(0) + "/<0;1>/*)#" + string(badSum), nil, ErrDescriptorChecksum},
		{"tr", "tr(" + tpub(0) + "/0/*)", nil, ErrUnsupportedDescriptor},
		{"empty", "", nil, ErrInvalidDescriptor},
		{"no keys", "wsh(sortedmulti(1))", nil, ErrInvalidDescriptor},
		{"empty key", "wsh(sortedmulti(1," + tpub(0) + "/0/*,))", nil, ErrInvalidDescriptor},
		{"unknown function", "wsh(foo(1," + tpub(0) + "/0/*))", nil, ErrInvalidDescriptor},
		{"bad pubkey", "sh(multi(1,020000000000000000000000000000000000000000000000000000000000000007))", nil, ErrInvalidPublicKey},
		{"hybrid pubkey", "sh(multi(1,06" + uncompressed[0][2:] + "))", nil, ErrInvalidPublicKey},
		{"bad xpub", "wsh(sortedmulti(1," + tpub(0)[:len(tpub(0))-1] + "1/0/*))", nil, ErrChecksum},
	} {
		_, err := ParseDescriptor(c.desc, c.net)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
		if err != nil && (strings.Contains(err.Error(), tprv) || strings.Contains(err.Error(), wif)) {
			t.Errorf("%s: error quotes a private key", c.name)
		}
	}

	d, _ := ParseDescriptor("wsh(sortedmulti(2,"+keys(3, "/0/*")+"))", nil)
	if _, err := d.Derive(true, 0); !errors.Is(err, ErrNoChange) {
		t.Errorf("change without multipath: %v", err)
	}
	if _, err := d.DeriveScriptPubKeys(true, 0, 1); !errors.Is(err, ErrNoChange) {
		t.Errorf("change without multipath: %v", err)
	}
	if _, err := d.Derive(false, Hardened); !errors.Is(err, ErrHardenedDerivation) {
		t.Errorf("index 2^31: %v", err)
	}
	fixed, _ := ParseDescriptor("wsh(sortedmulti(2,"+keys(3, "/0/5")+"))", nil)
	if _, err := fixed.Derive(false, 1); !errors.Is(err, ErrNotRanged) {
		t.Errorf("index 1 of a non-ranged descriptor: %v", err)
	}
	if s, err := fixed.DeriveScriptPubKeys(false, 0, 1); err != nil || len(s) != 1 {
		t.Errorf("non-ranged scripts: %v", err)
	}

	// NewMultisig refusals.
	private := &KeyRecord{Origin: recs[0].Origin, Key: acct}
	for _, c := range []struct {
		name string
		net  *Network
		st   ScriptType
		m    int
		keys []*KeyRecord
		err  error
	}{
		{"m > n", Testnet, P2WSH, 4, recs[:3], ErrThreshold},
		{"m = 0", Testnet, P2WSH, 0, recs[:3], ErrThreshold},
		{"n > 15 in sh", Testnet, P2SH, 2, recs[:16], ErrTooManyKeys},
		{"n > 20", Testnet, P2WSH, 2, recs[:21], ErrTooManyKeys},
		{"duplicate", Testnet, P2WSH, 2, []*KeyRecord{recs[0], recs[1], recs[0]}, ErrDuplicateKey},
		{"network", Mainnet, P2WSH, 2, recs[:3], ErrNetworkMismatch},
		{"mixed networks", nil, P2WSH, 1, []*KeyRecord{recs[0], mainRecs[0]}, ErrNetworkMismatch},
		{"private key", Testnet, P2WSH, 1, []*KeyRecord{recs[1], private}, ErrPrivateKey},
		{"origin", Testnet, P2WSH, 1, []*KeyRecord{{Origin: KeyOrigin{Path: Path{1}}, Key: recs[0].Key}}, ErrOriginMismatch},
		{"script type", Testnet, ScriptType(9), 1, recs[:1], ErrUnknownScriptType},
		{"single-key type", Testnet, P2WPKH, 1, recs[:1], ErrUnknownScriptType},
		{"single-key type sh-wpkh", Testnet, P2SHP2WPKH, 1, recs[:1], ErrUnknownScriptType},
	} {
		if _, err := NewMultisig(c.net, c.st, c.m, c.keys); !errors.Is(err, c.err) {
			t.Errorf("NewMultisig %s: got %v, want %v", c.name, err, c.err)
		}
	}
}

// TestDescriptorForms checks the accepted spellings and the canonical form.
func TestDescriptorForms(t *testing.T) {
	_, recs := testRecords(t, Testnet, P2WSH, 2)
	k0, k1 := recs[0].Key.String(), recs[1].Key.String()
	o0 := strings.ReplaceAll(recs[0].Origin.String(), "h", "'")
	// SLIP-132 Vpub, ' markers, upper-case fingerprint, leading zeros.
	vpub := withVersion(t, k1, 0x02575483)
	in := "wsh(multi(02,[" + strings.ToUpper(o0[:8]) + o0[8:] + "]" + k0 + "/00/*,[" + recs[1].Origin.String() + "]" + vpub + "/0/*))"
	d, err := ParseDescriptor(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "wsh(multi(2,[" + recs[0].Origin.String() + "]" + k0 + "/0/*,[" + recs[1].Origin.String() + "]" + k1 + "/0/*))"
	sum, _ := DescriptorChecksum(want)
	if d.String() != want+"#"+sum || d.Checksum() != sum {
		t.Errorf("canonical\n got %s\nwant %s#%s", d, want, sum)
	}
	if d.Sorted() || d.Network() != Testnet {
		t.Error("properties")
	}
	// Regtest given: tpubs accepted, regtest addresses.
	dr, err := ParseDescriptor(want, Regtest)
	if err != nil {
		t.Fatal(err)
	}
	dv, _ := dr.Derive(false, 0)
	if !strings.HasPrefix(dv.Address, "bcrt1q") || dr.Network() != Regtest || dr.String() != d.String() {
		t.Errorf("regtest: %s %s", dv.Address, dr.Network())
	}
	// No extended keys: mainnet unless told.
	hexDesc := "wsh(multi(1,0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600))"
	dh, _ := ParseDescriptor(hexDesc, nil)
	if dh.Network() != Mainnet {
		t.Error("hex-only descriptor network")
	}
	dh, _ = ParseDescriptor(hexDesc, Signet)
	if dv, _ := dh.Derive(false, 0); !strings.HasPrefix(dv.Address, "tb1q") {
		t.Errorf("signet address %s", dv.Address)
	}
}
