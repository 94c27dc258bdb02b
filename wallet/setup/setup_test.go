package setup

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/wallet"
)

// treasury is the 2-of-3 wsh wallet of the hand-written test files.
const treasury = "wsh(sortedmulti(2,[f5e40371/48h/1h/0h/2h]tpubDDwhmNj4Mb8fjPy6qMmBGQCLkSWP2ZU5JU8abmyWCNJw3r4EsZwWd4QQ7d3MExx51LSKFy6EtsewjVoREAA7rswbam6iUJDDkSepGpEX6rT/<0;1>/*,[ed4b6b44/48h/1h/0h/2h]tpubDEgRCPbTyi7B7uQ7CMNoQnq8fYszFPF5hf2x1iBHEq3fjtyt1C26dmPmZQekpvMDqQGx3t7qpU55dQJKsidfb2fdCCJy3ae1VrH42KrU2Q1/<0;1>/*,[f8fdaf32/48h/1h/0h/2h]tpubDE9mcNhT2dtsdkT7ttz87yzBnTS3v9KMgWdUKRiXqoaNjQZh8DkMv6j6yXPnhuPAxDbea9hrQ85AtffsMUWomqvMEdsBeVfjoHq9BHxjCwU/<0;1>/*))#ypge9wf6"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAddresses checks that got derives the same first receive and change
// addresses as want.
func sameAddresses(t *testing.T, got, want *wallet.Descriptor) {
	t.Helper()
	for _, change := range []bool{false, true} {
		for _, i := range []uint32{0, 1, 99} {
			a, err := got.Derive(change, i)
			if err != nil {
				t.Fatal(err)
			}
			b, err := want.Derive(change, i)
			if err != nil {
				t.Fatal(err)
			}
			if a.Address != b.Address {
				t.Fatalf("change %v index %d: address %s, want %s", change, i, a.Address, b.Address)
			}
		}
	}
}

func TestReadFiles(t *testing.T) {
	want, err := wallet.ParseDescriptor(treasury, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file     string
		format   Format
		name     string
		known    bool // network told by the file
		birthday int64
	}{
		{"coldcard-2of3.txt", Coldcard, "Treasury", false, -1},
		{"coldcard-vpub.txt", Coldcard, "Treasury Vpub", false, -1},
		{"caravan-2of3.json", Caravan, "Treasury", true, -1},
		{"specter-2of3.json", Specter, "Treasury", false, 2500000},
		{"sparrow-export.txt", Pair, "", false, -1},
		{"pair.txt", Pair, "", false, -1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b := readFile(t, c.file)
			s, err := Read(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != c.format || s.Name != c.name || s.NetworkKnown != c.known || s.Birthday != c.birthday {
				t.Fatalf("got format %s name %q known %v birthday %d", s.Format, s.Name, s.NetworkKnown, s.Birthday)
			}
			if !c.known && s.Descriptor.Network() != wallet.Testnet {
				t.Fatalf("network %s without one given", s.Descriptor.Network())
			}
			s, err = Read(b, wallet.Regtest)
			if err != nil {
				t.Fatal(err)
			}
			if s.Descriptor.String() != want.String() {
				t.Fatalf("descriptor\n%s\nwant\n%s", s.Descriptor, want)
			}
			if s.Descriptor.Network() != wallet.Regtest {
				t.Fatalf("network %s", s.Descriptor.Network())
			}
			sameAddresses(t, s.Descriptor, want)
		})
	}
}

func TestColdcardPerKeyDerivation(t *testing.T) {
	s, err := Read(readFile(t, "coldcard-perkey.txt"), wallet.Testnet)
	if err != nil {
		t.Fatal(err)
	}
	keys := s.Descriptor.Keys()
	if got := keys[2].Origin.Path.String(); got != "m/48h/1h/0h/1h" {
		t.Fatalf("third key's path %s", got)
	}
	if got := keys[0].Origin.Path.String(); got != "m/48h/1h/0h/2h" {
		t.Fatalf("first key's path %s", got)
	}
	// Written back, each key keeps its own Derivation line.
	out, err := Write(s.Descriptor, Coldcard, Options{Name: s.Name})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(out), "Derivation:") != 3 {
		t.Fatalf("per-key derivations not written:\n%s", out)
	}
	back, err := Read(out, wallet.Testnet)
	if err != nil {
		t.Fatal(err)
	}
	if back.Descriptor.String() != s.Descriptor.String() {
		t.Fatal("per-key derivation file does not read back")
	}
}

// TestBIP129 reads BIP-129's own descriptor records.
func TestBIP129(t *testing.T) {
	cases := []struct {
		file, first string
	}{
		{"bip129-2of2-xpub.bsms", "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej"},
		{"bip129-2of2-standard.bsms", "bc1qhs4u273g4azq7kqqpe6vh5wfhasfmrq7nheyzsnq77humd7rwtkqagvakf"},
		{"bip129-2of3-nested.bsms", "3GzMtFXahiu4TpGNGFc4bHMvAcvz5vVQrT"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			s, err := Read(readFile(t, c.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != BSMS || !s.NetworkKnown || s.Descriptor.Network() != wallet.Mainnet {
				t.Fatalf("format %s known %v network %s", s.Format, s.NetworkKnown, s.Descriptor.Network())
			}
			first, _ := s.Descriptor.Derive(false, 0)
			if first.Address != c.first {
				t.Fatalf("first address %s", first.Address)
			}
			// The template's /** with /0/*,/1/* is the <0;1> wallet.
			recv, _ := branchText(s.Descriptor, 0)
			r, err := wallet.ParseDescriptor(recv, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := r.Derive(false, 0)
			if a.Address != c.first {
				t.Fatalf("receive descriptor's first address %s", a.Address)
			}
			out, err := Write(s.Descriptor, BSMS, Options{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := Read(out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if back.Descriptor.String() != s.Descriptor.String() {
				t.Fatal("written record reads back differently")
			}
		})
	}
	// The record of plain keys has one address, not a wallet kinko can
	// watch.
	_, err := Read(readFile(t, "bip129-1of2-pubkeys.bsms"), nil)
	if !errors.Is(err, ErrNoChange) || !strings.Contains(err.Error(), "BSMS record: line 2: ") {
		t.Fatalf("plain-key record: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	descs := []string{
		treasury,
		// unsorted multi, nested segwit, from BIP-129's third record
		"sh(wsh(multi(2,[793cc70b/48'/0'/0'/1']xpub6ErVmcYYHmavsMgxEcTZyzN5sqth1ZyRpFNJC26ij1wYGC2SBKYrgt9yariSbn7HLRoZUvhUhmPfsRTPrdhhGFscpPZzmch6UTdmRP1aZUj/<0;1>/*,[b3118e52/48'/0'/0'/1']xpub6Du5Jn6eYZE96ccmAc1ZTFPzdnzrvqfG4mpamDun2qZYKywoiQJMCbS3kWWMr6U3XW6s125RLsaPABWgv2yA749ieaMe67FxkTjMsbcxCch/<0;1>/*,[842bd2ed/48'/0'/0'/1']xpub6Ex81KopPkEt9hJiWHabYy8LNsSR4A7sUQoFBk9dR8XxHrr4p9HrYWN3NCf5uwfopHnQkCG7FYnZMztKbtRtbh6tzZC4xtHPbmVVxRSN7ic/<0;1>/*)))",
	}
	for _, ds := range descs {
		net := wallet.Regtest
		if !strings.Contains(ds, "tpub") {
			net = wallet.Mainnet
		}
		d, err := wallet.ParseDescriptor(ds, net)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats {
			t.Run(string(f), func(t *testing.T) {
				out, err := Write(d, f, Options{Name: "Vault", Birthday: 7})
				if (f == Coldcard || f == Caravan) && !d.Sorted() {
					if !errors.Is(err, ErrInvalid) {
						t.Fatalf("unsorted multi written as %s: %v", f, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				s, err := Read(out, net)
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if s.Descriptor.String() != d.String() {
					t.Fatalf("read back\n%s\nwant\n%s", s.Descriptor, d)
				}
				if s.Format != f {
					t.Fatalf("read back as %s", s.Format)
				}
				if (f == Coldcard || f == Caravan || f == Specter) && s.Name != "Vault" {
					t.Fatalf("name %q", s.Name)
				}
				sameAddresses(t, s.Descriptor, d)
			})
		}
	}
}

func TestURForms(t *testing.T) {
	d, err := wallet.ParseDescriptor(treasury, wallet.Testnet)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []URForm{URReceive, URChildPair} {
		out, err := Write(d, UR, Options{URForm: form})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(out), "ur:crypto-output/") {
			t.Fatalf("%s", out)
		}
		s, err := Read(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Descriptor.String() != d.String() || s.NetworkKnown {
			t.Fatalf("form %s: %s known %v", form, s.Descriptor, s.NetworkKnown)
		}
	}
	// The default carries /0/* children, not the child pair.
	typ, body, err := EncodeUR(d, "")
	if err != nil {
		t.Fatal(err)
	}
	pairTyp, pairBody, _ := EncodeUR(d, URChildPair)
	if typ != "crypto-output" || pairTyp != typ || string(body) == string(pairBody) || len(body) >= len(pairBody) {
		t.Fatalf("receive form %d bytes, pair form %d", len(body), len(pairBody))
	}
}

func TestRefusals(t *testing.T) {
	k1 := "tpubDDwhmNj4Mb8fjPy6qMmBGQCLkSWP2ZU5JU8abmyWCNJw3r4EsZwWd4QQ7d3MExx51LSKFy6EtsewjVoREAA7rswbam6iUJDDkSepGpEX6rT"
	k2 := "tpubDEgRCPbTyi7B7uQ7CMNoQnq8fYszFPF5hf2x1iBHEq3fjtyt1C26dmPmZQekpvMDqQGx3t7qpU55dQJKsidfb2fdCCJy3ae1VrH42KrU2Q1"
	depth1 := "tpubDA4xFJayJXUurTiFkcaBwdU71jGdwPWLScGHeQPnCpGqrd8nMbLEJTjHw8LTQjWwkHDVnWo5FH5YrzN2dXasqZgXryH7ZMsWYFikMKLPZuQ" // f5e40371/48h
	v1 := "Vpub5kodm3HyuuedBaZPf7fpUP1moBA6NHfcEt9WbhQ8UDdgpYKz4S9aKcHDdszsH5utdcjn22PNKfWJPuhSh8doXTEmcx4y2MP1WmCzKgZjQ4J"
	bsms := string(readFile(t, "bip129-2of2-xpub.bsms"))
	caravan := string(readFile(t, "caravan-2of3.json"))
	cases := []struct {
		name, in string
		net      *wallet.Network
		is       error
		msg      string
	}{
		{"bsms first address", strings.Replace(bsms, "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej", "bc1qhs4u273g4azq7kqqpe6vh5wfhasfmrq7nheyzsnq77humd7rwtkqagvakf", 1), nil,
			ErrAddressMismatch, "BSMS record: line 4: first address does not match the descriptor"},
		{"bsms version", strings.Replace(bsms, "BSMS 1.0", "BSMS 2.0", 1), nil, ErrInvalid, "BSMS record: line 1: "},
		{"bsms restrictions", strings.Replace(bsms, "/0/*,/1/*", "/0/*,/2/*", 1), nil, ErrInvalid, "BSMS record: line 3: "},
		{"bsms network", bsms, wallet.Testnet, wallet.ErrNetworkMismatch, "BSMS record: line 2: "},
		{"coldcard xfp", "Name: x\nPolicy: 1 of 2\nFormat: P2WSH\nDerivation: m/48'\nAAAAAAAA: " + depth1 + "\nDerivation: m/48'/1'/0'/2'\nED4B6B44: " + k2 + "\n", nil,
			wallet.ErrOriginMismatch, "Coldcard file: line 5: key origin does not match the key: XFP does not match the key"},
		{"coldcard depth", "Policy: 1 of 2\nFormat: P2WSH\nDerivation: m/48'/1'/0'\nF5E40371: " + k1 + "\nED4B6B44: " + k2 + "\n", nil,
			wallet.ErrOriginMismatch, "Coldcard file: line 4: "},
		{"coldcard script type", "Policy: 1 of 2\nFormat: P2SH-P2WSH\nDerivation: m/48'/1'/0'/2'\nF5E40371: " + v1 + "\nED4B6B44: " + k2 + "\n", nil,
			ErrScriptType, "Coldcard file: line 4: key of the wrong script type: a Vpub key is for wsh, the wallet is sh-wsh"},
		{"coldcard count", "Policy: 2 of 3\nFormat: P2WSH\nDerivation: m/48'/1'/0'/2'\nF5E40371: " + k1 + "\nED4B6B44: " + k2 + "\n", nil,
			ErrInvalid, "policy says 3 keys, the file has 2"},
		{"coldcard no derivation", "Policy: 1 of 2\nFormat: P2WSH\nF5E40371: " + k1 + "\n", nil, ErrInvalid, "line 3: "},
		{"coldcard policy", "Policy: 3 of 2\n", nil, ErrInvalid, "line 1: "},
		{"coldcard format", "Policy: 1 of 1\nFormat: P2TR\n", nil, ErrInvalid, "line 2: "},
		{"caravan network", caravan, wallet.Testnet, wallet.ErrNetworkMismatch, "the file is for regtest, not testnet"},
		{"caravan quorum", strings.Replace(caravan, `"totalSigners": 3`, `"totalSigners": 4`, 1), nil, ErrInvalid, "Caravan file: quorum: "},
		{"caravan xfp", strings.Replace(caravan, `"xfp": "f5e40371"`, `"xfp": "zz"`, 1), nil, wallet.ErrInvalidFingerprint, "Caravan file: extendedPublicKeys[0].xfp: "},
		{"json other", `{"a": 1}`, nil, ErrUnknownFormat, ""},
		{"key export", `{"xfp": "F5E40371", "p2wsh": "` + k1 + `"}`, nil, ErrUnknownFormat, "kinko wallet create --key"},
		{"receive only", strings.Split(string(readFile(t, "pair.txt")), "\n")[0], nil, ErrNoChange, ""},
		{"pair of two wallets", strings.Split(string(readFile(t, "pair.txt")), "\n")[0] + "\n" + strings.Replace(strings.Split(string(readFile(t, "pair.txt")), "\n")[0], "sortedmulti(2", "sortedmulti(1", 1), nil,
			ErrInvalid, "descriptor pair: line 2: "},
		{"bad checksum", treasury[:len(treasury)-1] + "q", nil, wallet.ErrDescriptorChecksum, ""},
		{"ur other", "ur:bytes/hdcxdwinvezm", nil, nil, "UR"},
		{"bsms key record", strings.Split(string(readFile(t, "bip129-keys.txt")), "---\n")[2], nil, ErrUnknownFormat, "kinko wallet create --key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read([]byte(c.in), c.net)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v, want %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q lacks %q", err, c.msg)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("not an *Error: %T", err)
			}
		})
	}
}

func TestWriteRefusals(t *testing.T) {
	single, err := wallet.ParseDescriptor("wpkh([73c5da0a/84h/1h/0h]tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/<0;1>/*)", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Coldcard, Caravan, Specter, BSMS} {
		if _, err := Write(single, f, Options{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s of a single key: %v", f, err)
		}
	}
	for _, f := range []Format{Descriptor, Pair} { // crypto-output here carries multisigs only
		out, err := Write(single, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Read(out, wallet.Testnet)
		if err != nil || s.Descriptor.String() != single.String() {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// A taproot wallet: only as descriptors.
	tr, err := wallet.ParseDescriptor("tr("+wallet.NUMSKey+",sortedmulti_a(1,[73c5da0a/48h/1h/0h/3h]tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/<0;1>/*))", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Coldcard, Caravan, Specter, BSMS, UR} {
		if _, err := Write(tr, f, Options{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "taproot") {
			t.Fatalf("%s of a taproot wallet: %v", f, err)
		}
	}
	if _, _, err := EncodeUR(tr, URReceive); !errors.Is(err, ErrInvalid) {
		t.Fatalf("crypto-output of a taproot wallet: %v", err)
	}
	for _, f := range []Format{Descriptor, Pair} {
		out, err := Write(tr, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Read(out, wallet.Testnet)
		if err != nil || s.Descriptor.String() != tr.String() {
			t.Fatalf("%s: %v", f, err)
		}
	}
	recvOnly, _ := wallet.ParseDescriptor(strings.ReplaceAll(treasury[:len(treasury)-9], "<0;1>", "0"), nil)
	if _, err := Write(recvOnly, Coldcard, Options{}); !errors.Is(err, ErrNoChange) {
		t.Fatalf("receive-only: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"coldcard-2of3.txt", "coldcard-perkey.txt", "caravan-2of3.json", "specter-2of3.json", "sparrow-export.txt", "bip129-2of2-xpub.bsms"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(treasury))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Read(b, nil)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error not an *Error: %v", err)
			}
			return
		}
		out, err := Write(s.Descriptor, Descriptor, Options{})
		if err != nil {
			t.Fatal(err)
		}
		back, err := Read(out, s.Descriptor.Network())
		if err != nil || back.Descriptor.String() != s.Descriptor.String() {
			t.Fatalf("%v: %s", err, out)
		}
	})
}

// TestBCRVectors reads the published crypto-output and output-descriptor
// examples kept with package airgap (BCR-2020-010 vector 5, whose keys'
// children end in /0/*, and BCR-2023-010 vector 4, whose keys carry
// <0;1>/*) as wallet setups.
func TestBCRVectors(t *testing.T) {
	b, err := os.ReadFile("../../airgap/testdata/urwallet_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Descriptors []struct {
			Name, Type, CBORHex, UR, Text string
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"BCR-2020-010 test vector 5: wsh(multi(1, xpub/1/0/*, [bd16bee5/0]xpub/0/0/*))":      "/0/<0;1>/*",
		"BCR-2023-010 test vector 4: wsh(sortedmulti(2,@0,@1,@2)) named \"Satoshi's Stash\"": "/<0;1>/*",
	}
	seen := 0
	for _, c := range v.Descriptors {
		suffix, ok := want[c.Name]
		if !ok {
			continue
		}
		seen++
		body, err := hex.DecodeString(c.CBORHex)
		if err != nil {
			t.Fatal(err)
		}
		s, err := FromUR(c.Type, body, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !strings.Contains(s.Descriptor.String(), suffix) || !s.Descriptor.HasChange() || !s.NetworkKnown {
			t.Fatalf("%s: %s", c.Name, s.Descriptor)
		}
		// The receive branch is the published descriptor's.
		pub, err := wallet.ParseDescriptor(c.Text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pub.HasChange() {
			a, _ := s.Descriptor.Derive(false, 0)
			b, _ := pub.Derive(false, 0)
			if a.Address != b.Address {
				t.Fatalf("%s: first address %s, published %s", c.Name, a.Address, b.Address)
			}
			continue
		}
		recv, _ := branchText(s.Descriptor, 0)
		r, err := wallet.ParseDescriptor(recv, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint32(0); i < 3; i++ {
			a, _ := r.Derive(false, i)
			b, _ := pub.Derive(false, i)
			if a.Address != b.Address {
				t.Fatalf("%s: receive address %d is %s, published %s", c.Name, i, a.Address, b.Address)
			}
		}
		if c.UR != "" {
			s2, err := Read([]byte(c.UR), nil)
			if err != nil || s2.Descriptor.String() != s.Descriptor.String() {
				t.Fatalf("%s as text: %v", c.Name, err)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("found %d of the 2 vectors", seen)
	}
}
