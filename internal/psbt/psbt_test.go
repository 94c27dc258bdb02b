package psbt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// rawPSBT assembles a PSBT from maps of raw key-value pairs.
func rawPSBT(maps ...[]kv) []byte {
	b := append([]byte{}, magic...)
	for _, m := range maps {
		b = appendMap(b, m)
	}
	return b
}

func oneInOneOut(t *testing.T) *Tx {
	t.Helper()
	prev := &Tx{Version: 2, Inputs: []*TxIn{{}}, Outputs: []*TxOut{{Value: 5000, PkScript: []byte{0x51}}}}
	return &Tx{Version: 2, Inputs: []*TxIn{{PrevOut: OutPoint{prev.TxID(), 0}, Sequence: 0xffffffff}},
		Outputs: []*TxOut{{Value: 4000, PkScript: []byte{0x51}}}}
}

func TestParseErrors(t *testing.T) {
	tx := oneInOneOut(t)
	txKV := kv{[]byte{0}, tx.BytesNoWitness()}
	pub := testPub(t, 1)
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	cases := []struct {
		name  string
		b     []byte
		err   error
		where string
	}{
		{"ok", rawPSBT([]kv{txKV}, nil, nil), nil, ""},
		{"too large", make([]byte, MaxSize+1), ErrTooLarge, ""},
		{"trailing bytes", append(rawPSBT([]kv{txKV}, nil, nil), 0), ErrTrailingBytes, ""},
		{"extra map", rawPSBT([]kv{txKV}, nil, nil, nil), ErrTrailingBytes, ""},
		{"missing input map", rawPSBT([]kv{txKV}), ErrMissingMap, "input 0"},
		{"no separator", rawPSBT([]kv{txKV})[:len(rawPSBT([]kv{txKV}))-1], ErrTruncated, "global"},
		{"non-minimal key length", append(append(append([]byte{}, magic...), 0xfd, 0x01, 0x00, 0x00), appendVarBytes(nil, tx.BytesNoWitness())...), ErrNonMinimalCompactSize, "global"},
		{"non-minimal key type", rawPSBT([]kv{txKV, {[]byte{0xfd, 0x10, 0x00}, nil}}, nil, nil), ErrNonMinimalCompactSize, "global"},
		{"version 1", rawPSBT([]kv{txKV, {[]byte{0xfb}, u32(1)}}, nil, nil), ErrUnsupportedVersion, "global: key type 0xfb"},
		{"version 2 field", rawPSBT([]kv{txKV, {[]byte{0x02}, u32(2)}}, nil, nil), ErrExcludedField, "global: key type 0x02"},
		{"input v2 field", rawPSBT([]kv{txKV}, []kv{{[]byte{0x0e}, make([]byte, 32)}}, nil), ErrExcludedField, "input 0: key type 0x0e"},
		{"output v2 field", rawPSBT([]kv{txKV}, nil, []kv{{[]byte{0x04}, []byte{0x51}}}), ErrExcludedField, "output 0: key type 0x04"},
		{"duplicate global unknown", rawPSBT([]kv{txKV, {[]byte{0x70}, nil}, {[]byte{0x70}, []byte{1}}}, nil, nil), ErrDuplicateKey, "global: key type 0x70"},
		{"utxo txid mismatch", rawPSBT([]kv{txKV}, []kv{{[]byte{0}, tx.BytesNoWitness()}}, nil), ErrUTXOMismatch, "input 0: key type 0x00"},
		{"witness utxo trailing", rawPSBT([]kv{txKV}, []kv{{[]byte{1}, append(appendTxOut(nil, tx.Outputs[0]), 0)}}, nil), ErrInvalidValue, "input 0: key type 0x01"},
		{"sighash 3 bytes", rawPSBT([]kv{txKV}, []kv{{[]byte{3}, []byte{1, 0, 0}}}, nil), ErrInvalidValue, "input 0: key type 0x03"},
		{"uncompressed key with 02 prefix", rawPSBT([]kv{txKV}, []kv{{append([]byte{2}, append([]byte{2}, make([]byte, 64)...)...), []byte{1}}}, nil), ErrInvalidKey, "input 0: key type 0x02"},
		{"pubkey not on curve", rawPSBT([]kv{txKV}, []kv{{append([]byte{2, 2}, bytes.Repeat([]byte{0xff}, 32)...), []byte{1}}}, nil), ErrInvalidKey, "input 0: key type 0x02"},
		{"derivation empty value", rawPSBT([]kv{txKV}, []kv{{append([]byte{6}, pub...), nil}}, nil), ErrInvalidValue, "input 0: key type 0x06"},
		{"derivation 5 bytes", rawPSBT([]kv{txKV}, nil, []kv{{append([]byte{2}, pub...), make([]byte, 5)}}), ErrInvalidValue, "output 0: key type 0x02"},
		{"final witness trailing", rawPSBT([]kv{txKV}, []kv{{[]byte{8}, []byte{1, 1, 0x51, 0}}}, nil), ErrInvalidValue, "input 0: key type 0x08"},
		{"xpub 77 bytes", rawPSBT([]kv{txKV, {append([]byte{1}, make([]byte, 77)...), make([]byte, 4)}}, nil, nil), ErrInvalidKey, "global: key type 0x01"},
		{"bad proprietary", rawPSBT([]kv{txKV, {[]byte{0xfc, 0x05, 'k'}, nil}}, nil, nil), ErrInvalidKey, "global: key type 0xfc"},
		{"sha256 preimage mismatch", rawPSBT([]kv{txKV}, []kv{{append([]byte{0x0b}, make([]byte, 32)...), []byte("x")}}, nil), ErrInvalidValue, "input 0: key type 0x0b"},
		{"tap key sig 63 bytes", rawPSBT([]kv{txKV}, []kv{{[]byte{0x13}, make([]byte, 63)}}, nil), ErrInvalidValue, "input 0: key type 0x13"},
		{"tap tree incomplete", rawPSBT([]kv{txKV}, nil, []kv{{[]byte{0x06}, []byte{1, 0xc0, 1, 0x51}}}), ErrInvalidValue, "output 0: key type 0x06"},
		{"tap tree ok", rawPSBT([]kv{txKV}, nil, []kv{{[]byte{0x06}, []byte{1, 0xc0, 1, 0x51, 2, 0xc0, 1, 0x52, 2, 0xc0, 1, 0x53}}}), nil, ""},
		{"unsigned tx with witness format", rawPSBT([]kv{{[]byte{0}, (&Tx{Version: 2, Inputs: []*TxIn{{Witness: [][]byte{{1}}}}}).Bytes()}}, nil), ErrInvalidValue, "global: key type 0x00"},
	}
	for _, c := range cases {
		_, err := Parse(c.b)
		if c.err == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.where) {
			t.Errorf("%s: error %v, want %v at %q", c.name, err, c.err, c.where)
		}
	}
}

func TestExplicitZeroesRoundTrip(t *testing.T) {
	tx := oneInOneOut(t)
	b := rawPSBT([]kv{{[]byte{0}, tx.BytesNoWitness()}, {[]byte{0xfb}, make([]byte, 4)}},
		[]kv{{[]byte{3}, make([]byte, 4)}, {[]byte{7}, []byte{}}}, nil)
	p := mustParse(t, b)
	if p.Version != 0 || p.Inputs[0].SighashType != 0 || len(p.Unknowns) != 1 || len(p.Inputs[0].Unknowns) != 1 {
		t.Fatalf("%+v", p)
	}
	if p.Inputs[0].FinalScriptSig == nil || !p.Inputs[0].IsFinalized() {
		t.Fatal("empty final scriptSig lost")
	}
	if got := mustSerialize(t, p); !bytes.Equal(got, b) {
		t.Fatalf("got %x\nwant %x", got, b)
	}
	// Setting a sighash type as well as the explicit 0 is a duplicate key.
	p.Inputs[0].SighashType = SigHashAll
	if _, err := p.Serialize(); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("got %v", err)
	}
}

func TestSerializeErrors(t *testing.T) {
	tx := oneInOneOut(t)
	pub := testPub(t, 1)
	mk := func(f func(p *Packet)) error {
		p, err := New(tx)
		if err != nil {
			t.Fatal(err)
		}
		f(p)
		_, err = p.Serialize()
		return err
	}
	cases := []struct {
		name string
		f    func(p *Packet)
		err  error
	}{
		{"ok", func(p *Packet) {}, nil},
		{"nil tx", func(p *Packet) { p.UnsignedTx = nil }, ErrMissingUnsignedTx},
		{"version", func(p *Packet) { p.Version = 1 }, ErrUnsupportedVersion},
		{"scriptSig", func(p *Packet) { p.UnsignedTx.Inputs[0].ScriptSig = []byte{0x51} }, ErrUnsignedTxNotEmpty},
		{"map count", func(p *Packet) { p.Inputs = nil }, ErrMapCount},
		{"duplicate sig", func(p *Packet) {
			p.Inputs[0].PartialSigs = []PartialSig{{pub, []byte{1}}, {pub, []byte{2}}}
		}, ErrDuplicateKey},
		{"short pubkey", func(p *Packet) { p.Inputs[0].PartialSigs = []PartialSig{{pub[:32], []byte{1}}} }, ErrInvalidKey},
		{"modeled unknown", func(p *Packet) { p.Inputs[0].Unknowns = []Unknown{{Key: []byte{4}, Value: []byte{0x51}}} }, ErrModeledKey},
		{"modeled global unknown", func(p *Packet) {
			p.Unknowns = []Unknown{{Key: append([]byte{1}, make([]byte, 78)...), Value: make([]byte, 4)}}
		}, ErrInvalidKey},
		{"empty unknown key", func(p *Packet) { p.Outputs[0].Unknowns = []Unknown{{}} }, ErrInvalidKey},
		{"utxo mismatch", func(p *Packet) { p.Inputs[0].NonWitnessUTXO = tx.Copy() }, ErrUTXOMismatch},
		{"xpub depth", func(p *Packet) {
			k := make([]byte, 78)
			k[4] = 2
			copy(k[45:], pub)
			p.XPubs = []XPub{{ExtendedKey: k, Path: []uint32{1}}}
		}, ErrInvalidValue},
	}
	for _, c := range cases {
		err := mk(c.f)
		if c.err == nil && err != nil || !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	if _, err := New(&Tx{Inputs: []*TxIn{{Witness: [][]byte{{1}}}}}); !errors.Is(err, ErrUnsignedTxNotEmpty) {
		t.Errorf("New with witness: %v", err)
	}
}

func TestInputUTXOAndFee(t *testing.T) {
	f := newMultisigFixture(t, "p2sh-p2wsh", 2, 3, 3)
	fee, err := f.p.Fee()
	if err != nil || fee != 5000 {
		t.Fatalf("fee %d, %v", fee, err)
	}
	o, err := f.p.InputUTXO(1)
	if err != nil || o.Value != 100001 {
		t.Fatalf("utxo %+v, %v", o, err)
	}
	o.PkScript[0] ^= 1 // a copy
	if f.p.Inputs[1].WitnessUTXO.PkScript[0] == o.PkScript[0] {
		t.Fatal("InputUTXO returned shared memory")
	}

	p := f.p.Copy()
	p.Inputs[2].WitnessUTXO.Value++
	if _, err := p.InputUTXO(2); !errors.Is(err, ErrUTXOMismatch) {
		t.Fatalf("witness/non-witness disagreement: %v", err)
	}
	p = f.p.Copy()
	p.Inputs[0].NonWitnessUTXO.LockTime++
	if _, err := p.Fee(); !errors.Is(err, ErrUTXOMismatch) || !strings.Contains(err.Error(), "input 0") {
		t.Fatalf("txid mismatch: %v", err)
	}
	p = f.p.Copy()
	p.Inputs[1].NonWitnessUTXO, p.Inputs[1].WitnessUTXO = nil, nil
	if _, err := p.Fee(); !errors.Is(err, ErrMissingUTXO) || !strings.Contains(err.Error(), "input 1") {
		t.Fatalf("missing: %v", err)
	}
	p = f.p.Copy()
	p.UnsignedTx.Outputs[0].Value = 400000
	if _, err := p.Fee(); !errors.Is(err, ErrInvalidAmount) {
		t.Fatalf("negative fee: %v", err)
	}
	p = f.p.Copy()
	for i := range p.Inputs {
		p.Inputs[i].NonWitnessUTXO = nil
		p.Inputs[i].WitnessUTXO.Value = MaxMoney
	}
	if _, err := p.Fee(); !errors.Is(err, ErrInvalidAmount) {
		t.Fatalf("overflowing inputs: %v", err)
	}
	p.Inputs[0].WitnessUTXO.Value = -1
	if _, err := p.Fee(); !errors.Is(err, ErrInvalidAmount) {
		t.Fatalf("negative input: %v", err)
	}
	if _, err := p.InputUTXO(3); !errors.Is(err, ErrInputIndex) {
		t.Fatalf("index: %v", err)
	}
}

// A PSBT within MaxSize made of many tiny pairs is refused by count.
func TestTooManyPairs(t *testing.T) {
	tx := &Tx{Version: 2, Inputs: []*TxIn{{Sequence: 0xffffffff}}, Outputs: []*TxOut{{Value: 1, PkScript: []byte{0x51}}}}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	good, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	// Unknown pairs in input 0: key type 0x50 + n, empty value.
	pairs := func(n int) []byte {
		b := append([]byte(nil), good[:len(good)-2]...) // drop the input and output map separators
		for i := 0; i < n; i++ {
			b = append(b, 3, 0x50, byte(i>>8), byte(i), 0)
		}
		return append(b, 0, 0)
	}
	if _, err := Parse(pairs(MaxMapPairs)); err != nil {
		t.Fatalf("%d pairs in a map: %v", MaxMapPairs, err)
	}
	if _, err := Parse(pairs(MaxMapPairs + 2)); !errors.Is(err, ErrTooManyPairs) {
		t.Fatalf("%d pairs in a map: %v, want ErrTooManyPairs", MaxMapPairs+2, err)
	}
}

func TestTooManyPairsInAll(t *testing.T) {
	n := MaxPairs/MaxMapPairs + 2
	tx := &Tx{Version: 2, Outputs: []*TxOut{{Value: 1, PkScript: []byte{0x51}}}}
	for i := 0; i < n; i++ {
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{Index: uint32(i)}, Sequence: 0xffffffff})
	}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	good, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	// good ends with n empty input maps and one empty output map.
	b := append([]byte(nil), good[:len(good)-n-1]...)
	for i := 0; i < n; i++ {
		for j := 0; j < MaxMapPairs; j++ {
			b = append(b, 3, 0x50, byte(j>>8), byte(j), 0)
		}
		b = append(b, 0)
	}
	b = append(b, 0)
	if len(b) > MaxSize {
		t.Fatalf("test PSBT of %d bytes is over MaxSize", len(b))
	}
	if _, err := Parse(b); !errors.Is(err, ErrTooManyPairs) {
		t.Fatalf("%d pairs in all: %v, want ErrTooManyPairs", n*MaxMapPairs, err)
	}
}

// TestParseDerivationKeysAsBytes: a derivation key with a valid prefix
// that is no point is refused by Parse, and kept as bytes by ParseWith
// DerivationKeysAsBytes, which still refuses a wrong length or prefix.
func TestParseDerivationKeysAsBytes(t *testing.T) {
	tx := &Tx{Version: 2,
		Inputs:  []*TxIn{{PrevOut: OutPoint{Index: 1}, Sequence: 0xffffffff}},
		Outputs: []*TxOut{{Value: 1000, PkScript: []byte{0x51}}},
	}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	good := testPub(t, 1)
	p.Inputs[0].Bip32Derivation = []Bip32Derivation{{PubKey: good, Fingerprint: [4]byte{1, 2, 3, 4}, Path: []uint32{0x80000054, 0}}}
	raw, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var bad []byte
	for x := byte(1); bad == nil; x++ {
		k := make([]byte, 33)
		k[0], k[32] = 3, x
		if _, err := btcec.ParsePubKey(k); err != nil {
			bad = k
		}
	}
	offCurve := bytes.Replace(raw, good, bad, 1)
	if _, err := Parse(offCurve); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Parse: %v, want ErrInvalidKey", err)
	}
	q, err := ParseWith(offCurve, ParseOptions{DerivationKeysAsBytes: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.Inputs[0].Bip32Derivation[0].PubKey, bad) {
		t.Error("the key was not kept")
	}
	badPrefix := append([]byte{5}, good[1:]...)
	if _, err := ParseWith(bytes.Replace(raw, good, badPrefix, 1), ParseOptions{DerivationKeysAsBytes: true}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("prefix 5: %v, want ErrInvalidKey", err)
	}
}
