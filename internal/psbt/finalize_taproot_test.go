package psbt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/kinko-project/kinko/wallet"
)

// tapFixture is a PSBT spending two outputs of tr(NUMS,multi_a(m,…)) (or
// sortedmulti_a) over test keys, with the leaf script of each input set.
type tapFixture struct {
	p     *Packet
	keys  []*btcec.PrivateKey
	der   *wallet.Derived
	spent []*TxOut
}

func newTapFixture(t *testing.T, m int, n int, sorted bool) *tapFixture {
	t.Helper()
	f := &tapFixture{}
	desc := "tr(" + wallet.NUMSKey + ","
	if sorted {
		desc += "sortedmulti_a("
	} else {
		desc += "multi_a("
	}
	desc += string(rune('0' + m))
	for i := 0; i < n; i++ {
		k := testKey(uint64(100 + i))
		f.keys = append(f.keys, k)
		desc += "," + hex.EncodeToString(schnorr.SerializePubKey(k.PubKey()))
	}
	desc += "))"
	d, err := wallet.ParseDescriptor(desc, wallet.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	if f.der, err = d.Derive(false, 0); err != nil {
		t.Fatal(err)
	}
	tx := &Tx{Version: 2}
	for i := 0; i < 2; i++ {
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{Hash: Hash{byte(i + 1)}, Index: uint32(i)}, Sequence: 0xfffffffd})
		f.spent = append(f.spent, &TxOut{Value: 50_000 + int64(i), PkScript: f.der.ScriptPubKey})
	}
	tx.Outputs = []*TxOut{{Value: 90_000, PkScript: f.der.ScriptPubKey}}
	if f.p, err = New(tx); err != nil {
		t.Fatal(err)
	}
	leaf := f.der.Taproot.Leaves[0]
	for i := range f.p.Inputs {
		in := &f.p.Inputs[i]
		in.WitnessUTXO = f.spent[i]
		in.TaprootLeafScript = []TaprootLeafScript{{ControlBlock: leaf.ControlBlock, Script: leaf.Script, LeafVersion: wallet.TapLeafVersion}}
		in.TaprootInternalKey = f.der.Taproot.InternalKey.PubKey[1:]
		in.TaprootMerkleRoot = f.der.Taproot.MerkleRoot
	}
	return f
}

// sign adds script-path signatures by the given keys (indexes into f.keys).
func (f *tapFixture) sign(t *testing.T, ht SigHashType, who ...int) {
	t.Helper()
	cache, err := NewTaprootSigHashCache(f.p.UnsignedTx, f.spent)
	if err != nil {
		t.Fatal(err)
	}
	lh := f.der.Taproot.Leaves[0].LeafHash
	for i := range f.p.Inputs {
		h, err := cache.SigHash(i, ht, lh[:])
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range who {
			s, err := schnorr.Sign(f.keys[k], h[:])
			if err != nil {
				t.Fatal(err)
			}
			sig := s.Serialize()
			if ht != SigHashDefault {
				sig = append(sig, byte(ht))
			}
			f.p.Inputs[i].TaprootScriptSpendSig = append(f.p.Inputs[i].TaprootScriptSpendSig, TaprootScriptSig{
				XOnlyPubKey: schnorr.SerializePubKey(f.keys[k].PubKey()), LeafHash: lh[:], Signature: sig})
		}
	}
}

// btcdVerify runs btcd's script engine on every input of the extracted
// transaction.
func btcdVerify(t *testing.T, tx *Tx, spent []*TxOut) error {
	t.Helper()
	var mtx wire.MsgTx
	if err := mtx.Deserialize(bytes.NewReader(tx.Bytes())); err != nil {
		t.Fatal(err)
	}
	prev := map[wire.OutPoint]*wire.TxOut{}
	for i, in := range tx.Inputs {
		prev[wire.OutPoint{Hash: chainhash.Hash(in.PrevOut.Hash), Index: in.PrevOut.Index}] = wire.NewTxOut(spent[i].Value, spent[i].PkScript)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(&mtx, fetcher)
	for i := range tx.Inputs {
		e, err := txscript.NewEngine(spent[i].PkScript, &mtx, i, txscript.StandardVerifyFlags, nil, hashes, spent[i].Value, fetcher)
		if err != nil {
			return err
		}
		if err := e.Execute(); err != nil {
			return err
		}
	}
	return nil
}

func TestFinalizeTaprootScriptPath(t *testing.T) {
	for _, c := range []struct {
		name   string
		m, n   int
		sorted bool
		ht     SigHashType
		who    []int
	}{
		{"2-of-3 sorted, DEFAULT", 2, 3, true, SigHashDefault, []int{0, 2}},
		{"2-of-3 sorted, all three signed", 2, 3, true, SigHashDefault, []int{2, 1, 0}},
		{"3-of-5 multi_a, ALL", 3, 5, false, SigHashAll, []int{4, 1, 3}},
		{"1-of-2", 1, 2, true, SigHashDefault, []int{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newTapFixture(t, c.m, c.n, c.sorted)
			f.sign(t, c.ht, c.who...)
			if err := Finalize(f.p); err != nil {
				t.Fatal(err)
			}
			in := f.p.Inputs[0]
			w := in.FinalScriptWitness
			if len(w) != c.n+2 || in.TaprootScriptSpendSig != nil || in.TaprootLeafScript != nil {
				t.Fatalf("witness of %d items; taproot fields left: %v", len(w), in.TaprootLeafScript != nil)
			}
			nonEmpty := 0
			for _, item := range w[:c.n] {
				if len(item) > 0 {
					nonEmpty++
				}
			}
			if nonEmpty != c.m {
				t.Fatalf("%d signatures in the witness, want exactly %d", nonEmpty, c.m)
			}
			tx, err := Extract(f.p)
			if err != nil {
				t.Fatal(err)
			}
			if err := btcdVerify(t, tx, f.spent); err != nil {
				t.Fatalf("btcd's script engine refuses the witness: %v", err)
			}
			// Round trip of the finalized PSBT.
			b := mustSerialize(t, f.p)
			if q, err := Parse(b); err != nil || !bytes.Equal(mustSerialize(t, q), b) {
				t.Fatalf("finalized PSBT does not round-trip: %v", err)
			}
		})
	}
}

func TestFinalizeTaprootRefusals(t *testing.T) {
	f := newTapFixture(t, 2, 3, true)
	f.sign(t, SigHashDefault, 1)
	if err := Finalize(f.p); !errors.Is(err, ErrNotEnoughSignatures) || !bytes.Contains([]byte(err.Error()), []byte("have 1 of 2")) {
		t.Fatalf("one signature: %v", err)
	}
	f = newTapFixture(t, 2, 3, true)
	f.sign(t, SigHashDefault, 0, 1)
	f.p.Inputs[1].TaprootLeafScript[0].ControlBlock[0] ^= 1 // parity
	before := mustSerialize(t, f.p)
	if err := Finalize(f.p); !errors.Is(err, ErrScriptMismatch) {
		t.Fatalf("tampered control block: %v", err)
	}
	if !bytes.Equal(mustSerialize(t, f.p), before) {
		t.Fatal("a failed Finalize changed the packet")
	}
	f = newTapFixture(t, 2, 3, true)
	f.sign(t, SigHashDefault, 0, 1)
	f.p.Inputs[0].TaprootScriptSpendSig[0].Signature[10] ^= 1
	if err := Finalize(f.p); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	f = newTapFixture(t, 2, 3, true)
	f.sign(t, SigHashDefault, 0, 1)
	f.p.Inputs[0].SighashType = SigHashAll
	if err := Finalize(f.p); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("DEFAULT signature on an ALL input: %v", err)
	}
	f = newTapFixture(t, 2, 3, true)
	f.p.Inputs[0].TaprootLeafScript = nil
	if err := Finalize(f.p); !errors.Is(err, ErrUnsupportedScript) {
		t.Fatalf("no leaf: %v", err)
	}
}
