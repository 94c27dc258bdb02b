package psbt

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	v := loadBIP174(f)
	var seeds []string
	for _, c := range append(append(append([]vectorCase{}, v.Invalid...), v.Valid...), v.SignerCheckFailures...) {
		seeds = append(seeds, c.Base64)
	}
	w := v.Walkthrough
	seeds = append(seeds, w.Creator.Result, w.Updater.Result, w.Signer1.Result, w.Signer2.Result, w.Combiner.Result, w.Finalizer.Result)
	for _, c := range append(loadBIP371(f).Invalid, loadBIP371(f).Valid...) {
		seeds = append(seeds, c.Base64)
	}
	for _, s := range seeds {
		f.Add(b64(f, s))
	}
	r := rand.New(rand.NewSource(5))
	for i := 0; i < 10; i++ {
		p := randPacket(r)
		addRandTaproot(r, p)
		b, err := p.Serialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for i := 0; i < 20; i++ {
		b, err := randPacket(r).Serialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fx := newMultisigFixture(f, "p2sh-p2wsh", 2, 3, 2)
	fx.sign(f, SigHashAll, 0, 1, 2)
	b, err := fx.p.Serialize()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, kind := range []string{"p2wpkh", "p2sh-p2wpkh"} {
		sk := newSingleKeyFixture(f, kind, 2)
		sk.sign(f, SigHashAll)
		b, err := sk.p.Serialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		// The lax parse takes all that the strict one takes, the same.
		lax, laxErr := ParseWith(b, ParseOptions{DerivationKeysAsBytes: true})
		p, err := Parse(b)
		if err != nil {
			return
		}
		if laxErr != nil {
			t.Fatalf("ParseWith refuses what Parse takes: %v", laxErr)
		}
		if ls, err := lax.Serialize(); err != nil || len(ls) != len(b) {
			t.Fatalf("ParseWith gives another packet (%v)", err)
		}
		s, err := p.Serialize()
		if err != nil {
			t.Fatalf("Serialize of a parsed packet: %v", err)
		}
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(Serialize(x)): %v", err)
		}
		s2, err := q.Serialize()
		if err != nil || !bytes.Equal(s, s2) {
			t.Fatalf("re-serialisation differs (%v)", err)
		}
		if len(s) != len(b) {
			t.Fatalf("canonical form has %d bytes, input %d", len(s), len(b))
		}
		if c, err := p.Copy().Serialize(); err != nil || !bytes.Equal(c, s) {
			t.Fatalf("Copy serialises differently (%v)", err)
		}
		if err := Combine(p.Copy(), q); err != nil {
			t.Fatalf("Combine with itself: %v", err)
		}
		p.Fee()
		for i := range p.Inputs {
			p.InputUTXO(i)
			if sp, err := p.SpentScript(i); err == nil {
				if sp.SingleKey() != (sp.Keys == nil) || sp.Threshold < 1 || len(sp.ScriptCode) == 0 {
					t.Fatalf("input %d: inconsistent %+v", i, sp)
				}
				if _, err := sp.SigHash(nil, SigHashAll); err != nil {
					t.Fatalf("input %d: sighash: %v", i, err)
				}
			}
		}
		fin := p.Copy()
		if Finalize(fin) == nil {
			if _, err := fin.Serialize(); err != nil {
				t.Fatalf("Serialize after Finalize: %v", err)
			}
			if _, err := Extract(fin); err != nil {
				t.Fatalf("Extract after Finalize: %v", err)
			}
		}
	})
}

func FuzzParseTx(f *testing.F) {
	b, err := os.ReadFile("testdata/sighash.json")
	if err != nil {
		f.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal(b, &rows); err != nil {
		f.Fatal(err)
	}
	for i, row := range rows {
		if len(row) == 5 && i%10 == 1 {
			f.Add(unhex(f, row[0].(string)))
		}
	}
	f.Add(unhex(f, loadBIP174(f).Walkthrough.Extractor.TxHex))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := ParseTx(b)
		if err != nil {
			return
		}
		if got := tx.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("re-serialisation differs:\n in  %x\n out %x", b, got)
		}
		tx.TxID()
		tx.WTxID()
		if tx.VSize() > len(b) || tx.Weight() < 4*len(tx.BytesNoWitness()) {
			t.Fatalf("bad size: vsize %d weight %d for %d bytes", tx.VSize(), tx.Weight(), len(b))
		}
		if c := tx.Copy(); !bytes.Equal(c.Bytes(), b) {
			t.Fatal("Copy differs")
		}
	})
}
