package psbt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

type singleKeyFixture struct {
	p       *Packet
	key     *btcec.PrivateKey
	program []byte // OP_0 <hash160(key)>
	kind    string
	funding *Tx
}

// newSingleKeyFixture builds an unsigned PSBT spending nIn outputs of one
// key, of kind "p2wpkh" or "p2sh-p2wpkh", from one funding transaction.
func newSingleKeyFixture(t testing.TB, kind string, nIn int) *singleKeyFixture {
	t.Helper()
	f := &singleKeyFixture{kind: kind, key: testKey(77)}
	pub := f.key.PubKey().SerializeCompressed()
	f.program = append([]byte{op0, 20}, hash160(pub)...)
	spk := f.program
	if kind == "p2sh-p2wpkh" {
		spk = p2sh(f.program)
	}
	funding := &Tx{Version: 2, Inputs: []*TxIn{{Sequence: 0xffffffff}}}
	funding.Inputs[0].PrevOut.Hash[0] = 9
	for i := 0; i < nIn; i++ {
		funding.Outputs = append(funding.Outputs, &TxOut{Value: int64(200000 + i), PkScript: spk})
	}
	f.funding = funding
	tx := &Tx{Version: 2, LockTime: 800001}
	var total int64
	for i := 0; i < nIn; i++ {
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{funding.TxID(), uint32(i)}, Sequence: 0xfffffffd})
		total += funding.Outputs[i].Value
	}
	tx.Outputs = []*TxOut{{Value: total - 3000, PkScript: p2wsh([]byte{0x51})}, {Value: 1000, PkScript: f.program}}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		in.WitnessUTXO = funding.Outputs[i].copy()
		in.NonWitnessUTXO = funding.Copy()
		if kind == "p2sh-p2wpkh" {
			in.RedeemScript = bytes.Clone(f.program)
		}
		in.Bip32Derivation = []Bip32Derivation{{PubKey: pub, Fingerprint: [4]byte{1, 2, 3, 4}, Path: []uint32{0x80000054, 0x80000001, 0x80000000, 0, uint32(i)}}}
	}
	f.p = p
	return f
}

// sign signs every input with the fixture's key, taking the signature hash
// from SpentScript and checking it against btcd's.
func (f *singleKeyFixture) sign(t testing.TB, ht SigHashType) {
	t.Helper()
	wtx := toWire(t, f.p.UnsignedTx)
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for i, in := range wtx.TxIn {
		o := f.funding.Outputs[i]
		fetcher.AddPrevOut(in.PreviousOutPoint, wire.NewTxOut(o.Value, o.PkScript))
	}
	hashes := txscript.NewTxSigHashes(wtx, fetcher)
	cache := NewSigHashCache(f.p.UnsignedTx)
	for i := range f.p.Inputs {
		s, err := f.p.SpentScript(i)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.SigHash(cache, ht)
		if err != nil {
			t.Fatal(err)
		}
		// btcd builds the P2PKH scriptCode itself from the P2WPKH program.
		theirs, err := txscript.CalcWitnessSigHash(f.program, hashes, txscript.SigHashType(ht), wtx, i, s.Amount)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h[:], theirs) {
			t.Fatalf("input %d: sighash %x, btcd %x", i, h, theirs)
		}
		if h2, err := s.SigHash(nil, ht); err != nil || h2 != h {
			t.Fatalf("input %d: sighash without cache differs: %v", i, err)
		}
		sig := append(ecdsa.Sign(f.key, h[:]).Serialize(), byte(ht))
		f.p.Inputs[i].PartialSigs = append(f.p.Inputs[i].PartialSigs, PartialSig{PubKey: f.key.PubKey().SerializeCompressed(), Sig: sig})
	}
}

func TestSpentScriptSingleKey(t *testing.T) {
	for _, kind := range []string{"p2wpkh", "p2sh-p2wpkh"} {
		f := newSingleKeyFixture(t, kind, 1)
		s, err := f.p.SpentScript(0)
		if err != nil {
			t.Fatal(err)
		}
		pub := f.key.PubKey().SerializeCompressed()
		wantCode := "76a914" + hex.EncodeToString(hash160(pub)) + "88ac"
		if s.Kind.String() != kind || !s.SingleKey() || !s.Segwit() || s.Threshold != 1 || s.Keys != nil ||
			hex.EncodeToString(s.ScriptCode) != wantCode || s.Amount != 200000 {
			t.Errorf("%s: %+v", kind, s)
		}
		if !s.HasKey(pub) || s.HasKey(f.key.PubKey().SerializeUncompressed()) || s.HasKey(testPub(t, 78)) {
			t.Errorf("%s: HasKey", kind)
		}
	}
	// The multisig kinds, for comparison.
	for kind, want := range map[string]SpentKind{"p2wsh": SpentP2WSH, "p2sh-p2wsh": SpentP2SHP2WSH, "p2sh": SpentP2SH} {
		f := newMultisigFixture(t, kind, 2, 3, 1)
		s, err := f.p.SpentScript(0)
		if err != nil {
			t.Fatal(err)
		}
		if s.Kind != want || s.SingleKey() || s.Segwit() != (kind != "p2sh") || s.Threshold != 2 || len(s.Keys) != 3 || !bytes.Equal(s.ScriptCode, f.script) {
			t.Errorf("%s: %+v", kind, s)
		}
		if !s.HasKey(s.Keys[1]) || s.HasKey(testPub(t, 78)) {
			t.Errorf("%s: HasKey", kind)
		}
	}
}

func TestFinalizeSingleKey(t *testing.T) {
	for _, kind := range []string{"p2wpkh", "p2sh-p2wpkh"} {
		for _, ht := range allSigHashTypes {
			t.Run(fmt.Sprintf("%s/%#x", kind, uint32(ht)), func(t *testing.T) {
				f := newSingleKeyFixture(t, kind, 3)
				f.sign(t, ht)
				// A signature by a stranger does not confuse the finalizer.
				stranger := testKey(78)
				f.p.Inputs[1].PartialSigs = append([]PartialSig{{PubKey: stranger.PubKey().SerializeCompressed(), Sig: f.p.Inputs[1].PartialSigs[0].Sig}}, f.p.Inputs[1].PartialSigs...)
				for i := range f.p.Inputs {
					f.p.Inputs[i].SighashType = ht
				}
				p := mustParse(t, mustSerialize(t, f.p))
				if err := Finalize(p); err != nil {
					t.Fatal(err)
				}
				pub := f.key.PubKey().SerializeCompressed()
				for i := range p.Inputs {
					in := &p.Inputs[i]
					if in.PartialSigs != nil || in.Bip32Derivation != nil || in.RedeemScript != nil || in.SighashType != 0 {
						t.Fatalf("input %d: signing data not cleared", i)
					}
					w := in.FinalScriptWitness
					if len(w) != 2 || !bytes.Equal(w[1], pub) || w[0][len(w[0])-1] != byte(ht) {
						t.Fatalf("input %d: witness %x", i, w)
					}
					wantSig := []byte(nil)
					if kind == "p2sh-p2wpkh" {
						wantSig = append([]byte{22}, f.program...)
					}
					if !bytes.Equal(in.FinalScriptSig, wantSig) {
						t.Fatalf("input %d: scriptSig %x", i, in.FinalScriptSig)
					}
				}
				tx, err := Extract(p)
				if err != nil {
					t.Fatal(err)
				}
				verifyWithBtcd(t, tx, f.funding.Outputs)
				q := mustParse(t, mustSerialize(t, p))
				if tx2, _ := Extract(q); !bytes.Equal(tx2.Bytes(), tx.Bytes()) {
					t.Fatal("extracted tx changed after a round trip")
				}
			})
		}
	}
}

func TestFinalizeSingleKeyErrors(t *testing.T) {
	// No signature at all, or only a stranger's.
	f := newSingleKeyFixture(t, "p2wpkh", 2)
	before := mustSerialize(t, f.p)
	err := Finalize(f.p)
	var fe *FieldError
	if !errors.Is(err, ErrNotEnoughSignatures) || !errors.As(err, &fe) || fe.Map != "input 0" || !bytes.Contains([]byte(err.Error()), []byte("have 0 of 1")) {
		t.Fatalf("no signature: %v", err)
	}
	if !bytes.Equal(mustSerialize(t, f.p), before) {
		t.Fatal("failed Finalize modified the packet")
	}
	f.sign(t, SigHashAll)
	f.p.Inputs[1].PartialSigs[0].PubKey = testPub(t, 78)
	if err := Finalize(f.p); !errors.Is(err, ErrNotEnoughSignatures) || !bytes.Contains([]byte(err.Error()), []byte("input 1")) {
		t.Fatalf("stranger's signature: %v", err)
	}

	for _, c := range []struct {
		name   string
		kind   string
		change func(f *singleKeyFixture)
		want   error
	}{
		{"signature of another input", "p2wpkh", func(f *singleKeyFixture) {
			f.p.Inputs[0].PartialSigs[0].Sig = f.p.Inputs[1].PartialSigs[0].Sig
		}, ErrInvalidSignature},
		{"sighash type differs", "p2sh-p2wpkh", func(f *singleKeyFixture) { f.p.Inputs[0].SighashType = SigHashNone }, ErrInvalidSignature},
		{"witness script for p2wpkh", "p2wpkh", func(f *singleKeyFixture) { f.p.Inputs[0].WitnessScript = []byte{0x51} }, ErrScriptMismatch},
		{"redeem script for native p2wpkh", "p2wpkh", func(f *singleKeyFixture) { f.p.Inputs[0].RedeemScript = f.program }, ErrScriptMismatch},
		{"witness script for p2sh-p2wpkh", "p2sh-p2wpkh", func(f *singleKeyFixture) { f.p.Inputs[0].WitnessScript = []byte{0x51} }, ErrScriptMismatch},
		{"no redeem script", "p2sh-p2wpkh", func(f *singleKeyFixture) { f.p.Inputs[0].RedeemScript = nil }, ErrScriptMismatch},
		{"another key's redeem script", "p2sh-p2wpkh", func(f *singleKeyFixture) {
			f.p.Inputs[0].RedeemScript = append([]byte{op0, 20}, hash160(testPub(t, 78))...)
		}, ErrScriptMismatch},
	} {
		f := newSingleKeyFixture(t, c.kind, 2)
		f.sign(t, SigHashAll)
		c.change(f)
		if err := Finalize(f.p); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// TestFinalizeBIP143SingleKey finalizes BIP-143's "Native P2WPKH" and
// "P2SH-P2WPKH" examples from their published signatures and compares the
// transactions with the signed ones the BIP gives. (The first input of the
// native example is a P2PK, which kinko does not finalize: its final
// scriptSig is taken from the BIP.)
func TestFinalizeBIP143SingleKey(t *testing.T) {
	cases := []struct {
		name       string
		unsigned   string
		finalized  map[int]string // final scriptSigs of inputs not kinko's
		idx        int
		spk        string
		redeem     string
		amount     int64
		pub, sig   string
		wantSigned string
	}{
		{
			name:      "native p2wpkh",
			unsigned:  "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000",
			finalized: map[int]string{0: "4830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed01"},
			idx:       1, spk: "00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1", amount: 600000000,
			pub:        "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357",
			sig:        "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee01",
			wantSigned: "01000000000102fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f00000000494830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed01eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac000247304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee0121025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee635711000000",
		},
		{
			name:     "p2sh-p2wpkh",
			unsigned: "0100000001db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a54770100000000feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac92040000",
			idx:      0, spk: "a9144733f37cf4db86fbc2efed2500b4f4e49f31202387", redeem: "001479091972186c449eb1ded22b78e40d009bdf0089", amount: 1000000000,
			pub:        "03ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a26873",
			sig:        "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb01",
			wantSigned: "01000000000101db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477010000001716001479091972186c449eb1ded22b78e40d009bdf0089feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac02473044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb012103ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a2687392040000",
		},
	}
	for _, c := range cases {
		tx, err := ParseTx(unhex(t, c.unsigned))
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(tx)
		if err != nil {
			t.Fatal(err)
		}
		for i, ss := range c.finalized {
			p.Inputs[i].FinalScriptSig = unhex(t, ss)
		}
		in := &p.Inputs[c.idx]
		in.WitnessUTXO = &TxOut{Value: c.amount, PkScript: unhex(t, c.spk)}
		if c.redeem != "" {
			in.RedeemScript = unhex(t, c.redeem)
		}
		in.PartialSigs = []PartialSig{{PubKey: unhex(t, c.pub), Sig: unhex(t, c.sig)}}
		p = mustParse(t, mustSerialize(t, p))
		if err := Finalize(p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x, err := Extract(p)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := hex.EncodeToString(x.Bytes()); got != c.wantSigned {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.wantSigned)
		}
	}
}
