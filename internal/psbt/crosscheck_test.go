package psbt

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	btcpsbt "github.com/btcsuite/btcd/psbt/v2"
)

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

func randPubKey(r *rand.Rand) []byte {
	k := testKey(r.Uint64())
	if r.Intn(4) == 0 {
		return k.PubKey().SerializeUncompressed()
	}
	return k.PubKey().SerializeCompressed()
}

func randPath(r *rand.Rand) []uint32 {
	p := make([]uint32, r.Intn(6))
	for i := range p {
		p[i] = r.Uint32()
	}
	return p
}

func randDerivations(r *rand.Rand) []Bip32Derivation {
	var ds []Bip32Derivation
	for n := r.Intn(4); n > 0; n-- {
		var fp [4]byte
		r.Read(fp[:])
		ds = append(ds, Bip32Derivation{PubKey: randPubKey(r), Fingerprint: fp, Path: randPath(r)})
	}
	return ds
}

// randUnknowns returns unknown pairs with key types btcd does not interpret
// (0x20..0xfa) or well-formed proprietary keys.
func randUnknowns(r *rand.Rand) []Unknown {
	var us []Unknown
	for n := r.Intn(3); n > 0; n-- {
		var key []byte
		if r.Intn(3) == 0 {
			key = append([]byte{proprietary}, appendVarBytes(nil, []byte("kinko"))...)
			key = append(key, byte(r.Intn(10)))
			key = append(key, randBytes(r, r.Intn(4))...)
		} else {
			key = append([]byte{byte(0x20 + r.Intn(0xfb-0x20))}, randBytes(r, r.Intn(5))...)
		}
		dup := false
		for _, u := range us {
			dup = dup || bytes.Equal(u.Key, key)
		}
		if !dup {
			us = append(us, Unknown{Key: key, Value: randBytes(r, r.Intn(40))})
		}
	}
	return us
}

func randScriptOrNil(r *rand.Rand) []byte {
	if r.Intn(2) == 0 {
		return nil
	}
	return randBytes(r, 1+r.Intn(60))
}

// randPacket returns a random valid packet using only what btcd's psbt
// package models identically.
func randPacket(r *rand.Rand) *Packet {
	nIn, nOut := r.Intn(4), r.Intn(4)
	tx := &Tx{Version: int32(1 + r.Intn(2)), LockTime: r.Uint32()}
	var prevTxs []*Tx
	for i := 0; i < nIn; i++ {
		prev := randTx(r, 1+r.Intn(2), 1+r.Intn(3))
		if r.Intn(2) == 0 {
			prev.Inputs[0].Witness = [][]byte{randBytes(r, 72), randBytes(r, 33)}
		}
		for _, o := range prev.Outputs {
			// btcd's witness-utxo reader needs a script of 1 to 252 bytes.
			if len(o.PkScript) == 0 || len(o.PkScript) > 252 {
				o.PkScript = randBytes(r, 1+r.Intn(60))
			}
		}
		prevTxs = append(prevTxs, prev)
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{prev.TxID(), uint32(r.Intn(len(prev.Outputs)))}, Sequence: r.Uint32()})
	}
	for i := 0; i < nOut; i++ {
		tx.Outputs = append(tx.Outputs, &TxOut{Value: r.Int63n(MaxMoney), PkScript: randBytes(r, r.Intn(40))})
	}
	p, err := New(tx)
	if err != nil {
		panic(err)
	}
	for n := r.Intn(3); n > 0; n-- {
		key := make([]byte, 78)
		binary.BigEndian.PutUint32(key, 0x043587cf)
		path := randPath(r)
		if len(path) == 0 {
			path = []uint32{1}
		}
		key[4] = byte(len(path))
		r.Read(key[5:45])
		copy(key[45:], testKey(r.Uint64()).PubKey().SerializeCompressed())
		var fp [4]byte
		r.Read(fp[:])
		p.XPubs = append(p.XPubs, XPub{ExtendedKey: key, Fingerprint: fp, Path: path})
	}
	p.Unknowns = randUnknowns(r)
	for i := range p.Inputs {
		in := &p.Inputs[i]
		prev := prevTxs[i]
		if r.Intn(2) == 0 {
			in.NonWitnessUTXO = prev
		}
		if r.Intn(2) == 0 {
			in.WitnessUTXO = prev.Outputs[tx.Inputs[i].PrevOut.Index].copy()
		}
		if r.Intn(3) == 0 {
			// Finalized: btcd drops everything else when finalized.
			if r.Intn(2) == 0 {
				in.FinalScriptSig = randBytes(r, r.Intn(100))
			}
			if r.Intn(2) == 0 || in.FinalScriptSig == nil {
				in.FinalScriptWitness = [][]byte{{}, randBytes(r, 72), randBytes(r, 71)}
			}
		} else {
			for n := r.Intn(4); n > 0; n-- {
				var h [32]byte
				r.Read(h[:])
				sig := append(ecdsa.Sign(testKey(r.Uint64()), h[:]).Serialize(), byte(SigHashAll))
				in.PartialSigs = append(in.PartialSigs, PartialSig{PubKey: randPubKey(r), Sig: sig})
			}
			if r.Intn(2) == 0 {
				in.SighashType = allSigHashTypes[r.Intn(len(allSigHashTypes))]
			}
			in.RedeemScript = randScriptOrNil(r)
			in.WitnessScript = randScriptOrNil(r)
			in.Bip32Derivation = randDerivations(r)
		}
		in.Unknowns = randUnknowns(r)
	}
	for i := range p.Outputs {
		o := &p.Outputs[i]
		o.RedeemScript = randScriptOrNil(r)
		o.WitnessScript = randScriptOrNil(r)
		o.Bip32Derivation = randDerivations(r)
		o.Unknowns = randUnknowns(r)
	}
	return p
}

// TestCrossCheckBtcd serialises random packets with this package and checks
// that btcd parses them and re-serialises them to the same bytes, and that
// this package parses btcd's output to the same bytes.
func TestCrossCheckBtcd(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for iter := 0; iter < 400; iter++ {
		p := randPacket(r)
		ours, err := p.Serialize()
		if err != nil {
			t.Fatalf("iter %d: Serialize: %v", iter, err)
		}
		bp, err := btcpsbt.NewFromRawBytes(bytes.NewReader(ours), false)
		if err != nil {
			t.Fatalf("iter %d: btcd rejects our PSBT: %v\n%x", iter, err, ours)
		}
		var theirs bytes.Buffer
		if err := bp.Serialize(&theirs); err != nil {
			t.Fatalf("iter %d: btcd Serialize: %v", iter, err)
		}
		if !bytes.Equal(theirs.Bytes(), ours) {
			t.Fatalf("iter %d: btcd re-serialises differently\nours   %x\nbtcd's %x", iter, ours, theirs.Bytes())
		}
		q, err := Parse(theirs.Bytes())
		if err != nil {
			t.Fatalf("iter %d: Parse(btcd): %v", iter, err)
		}
		if again := mustSerialize(t, q); !bytes.Equal(again, ours) {
			t.Fatalf("iter %d: round trip differs", iter)
		}
		// Field-level agreement on a few things btcd exposes.
		if len(bp.Inputs) != len(q.Inputs) || len(bp.XPubs) != len(q.XPubs) {
			t.Fatalf("iter %d: map counts differ", iter)
		}
		for i := range q.Inputs {
			if len(bp.Inputs[i].PartialSigs) != len(q.Inputs[i].PartialSigs) || len(bp.Inputs[i].Bip32Derivation) != len(q.Inputs[i].Bip32Derivation) {
				t.Fatalf("iter %d input %d: field counts differ", iter, i)
			}
			if uint32(bp.Inputs[i].SighashType) != uint32(q.Inputs[i].SighashType) {
				t.Fatalf("iter %d input %d: sighash differs", iter, i)
			}
		}
		if ours != nil && iter%50 == 0 {
			// Copy is deep: mutating the copy leaves the original's bytes alone.
			c := q.Copy()
			for i := range c.Inputs {
				for j := range c.Inputs[i].PartialSigs {
					c.Inputs[i].PartialSigs[j].Sig[0] ^= 0xff
				}
			}
			if c.UnsignedTx != nil {
				c.UnsignedTx.LockTime ^= 1
			}
			if !bytes.Equal(mustSerialize(t, q), ours) {
				t.Fatalf("iter %d: Copy is shallow", iter)
			}
		}
	}
}

// TestParseBtcdOutput goes the other way: btcd-created packets parse here.
func TestParseBtcdOutput(t *testing.T) {
	v := loadBIP174(t)
	for _, c := range append(v.Valid, v.SignerCheckFailures...) {
		bp, err := btcpsbt.NewFromRawBytes(bytes.NewReader(b64(t, c.Base64)), false)
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		if err := bp.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		p, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: btcd's serialisation does not parse: %v", c.Description, err)
		}
		if !bytes.Equal(mustSerialize(t, p), canonicalB64(t, c.Base64)) {
			t.Fatalf("%s: differs from the canonical form", c.Description)
		}
	}
}
