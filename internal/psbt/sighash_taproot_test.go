package psbt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

type bip341Vectors struct {
	KeyPathSpending []struct {
		Given struct {
			RawUnsignedTx string `json:"rawUnsignedTx"`
			UTXOsSpent    []struct {
				ScriptPubKey string `json:"scriptPubKey"`
				AmountSats   int64  `json:"amountSats"`
			} `json:"utxosSpent"`
		} `json:"given"`
		InputSpending []struct {
			Given struct {
				TxinIndex int `json:"txinIndex"`
				HashType  int `json:"hashType"`
			} `json:"given"`
			Intermediary struct {
				SigMsg  string `json:"sigMsg"`
				SigHash string `json:"sigHash"`
			} `json:"intermediary"`
			Expected struct {
				Witness []string `json:"witness"`
			} `json:"expected"`
		} `json:"inputSpending"`
	} `json:"keyPathSpending"`
}

// TestTaprootSigHashBIP341 checks the signature message and hash of every
// key-path input of BIP-341's wallet vectors (every hash type), and that
// the BIP's signature verifies against the hash and the output key.
func TestTaprootSigHashBIP341(t *testing.T) {
	b, err := os.ReadFile("../../wallet/testdata/bip341_wallet_vectors.json") // one copy, beside the tree tests
	if err != nil {
		t.Fatal(err)
	}
	var v bip341Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range v.KeyPathSpending {
		tx, err := parseTx(unhex(t, c.Given.RawUnsignedTx), false)
		if err != nil {
			t.Fatal(err)
		}
		var spent []*TxOut
		for _, u := range c.Given.UTXOsSpent {
			spent = append(spent, &TxOut{Value: u.AmountSats, PkScript: unhex(t, u.ScriptPubKey)})
		}
		cache, err := NewTaprootSigHashCache(tx, spent)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range c.InputSpending {
			ht := SigHashType(in.Given.HashType)
			msg, err := cache.sigMsg(in.Given.TxinIndex, ht, nil)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(msg) != in.Intermediary.SigMsg {
				t.Fatalf("input %d type %#x: sigMsg\n got %x\nwant %s", in.Given.TxinIndex, ht, msg, in.Intermediary.SigMsg)
			}
			h, _ := cache.SigHash(in.Given.TxinIndex, ht, nil)
			if hex.EncodeToString(h[:]) != in.Intermediary.SigHash {
				t.Fatalf("input %d: sigHash %x, want %s", in.Given.TxinIndex, h, in.Intermediary.SigHash)
			}
			sig, err := schnorr.ParseSignature(unhex(t, in.Expected.Witness[0])[:64])
			if err != nil {
				t.Fatal(err)
			}
			key, err := schnorr.ParsePubKey(spent[in.Given.TxinIndex].PkScript[2:])
			if err != nil {
				t.Fatal(err)
			}
			if !sig.Verify(h[:], key) {
				t.Fatalf("input %d: the BIP's signature does not verify", in.Given.TxinIndex)
			}
			n++
		}
	}
	if n != 7 {
		t.Fatalf("%d inputs checked, want 7", n)
	}
}

// TestTaprootSigHashAgainstBtcd compares key-path and script-path hashes
// of random transactions with txscript's, for every hash type.
func TestTaprootSigHashAgainstBtcd(t *testing.T) {
	r := rand.New(rand.NewSource(342))
	types := []SigHashType{0, 1, 2, 3, 0x81, 0x82, 0x83}
	for iter := 0; iter < 50; iter++ {
		tx := randTx(r, 1+r.Intn(4), 1+r.Intn(4))
		for _, in := range tx.Inputs {
			in.ScriptSig, in.Witness = nil, nil
		}
		spent := make([]*TxOut, len(tx.Inputs))
		prev := map[wire.OutPoint]*wire.TxOut{}
		for i, in := range tx.Inputs {
			spent[i] = &TxOut{Value: r.Int63n(MaxMoney), PkScript: append([]byte{0x51, 0x20}, randBytes(r, 32)...)}
			prev[wire.OutPoint{Hash: chainhash.Hash(in.PrevOut.Hash), Index: in.PrevOut.Index}] = wire.NewTxOut(spent[i].Value, spent[i].PkScript)
		}
		var mtx wire.MsgTx
		if err := mtx.Deserialize(bytes.NewReader(tx.Bytes())); err != nil {
			t.Fatal(err)
		}
		fetcher := txscript.NewMultiPrevOutFetcher(prev)
		hashes := txscript.NewTxSigHashes(&mtx, fetcher)
		cache, err := NewTaprootSigHashCache(tx, spent)
		if err != nil {
			t.Fatal(err)
		}
		leaf := randBytes(r, 1+r.Intn(50))
		tl := txscript.NewBaseTapLeaf(leaf)
		lh := tl.TapHash()
		for idx := range tx.Inputs {
			for _, ht := range types {
				want, werr := txscript.CalcTaprootSignatureHash(hashes, txscript.SigHashType(ht), &mtx, idx, fetcher)
				got, err := cache.SigHash(idx, ht, nil)
				if (werr == nil) != (err == nil) || err == nil && !bytes.Equal(got[:], want) {
					t.Fatalf("key path input %d type %#x: %x %v, txscript %x %v", idx, ht, got, err, want, werr)
				}
				want, werr = txscript.CalcTapscriptSignaturehash(hashes, txscript.SigHashType(ht), &mtx, idx, fetcher, tl)
				got, err = cache.SigHash(idx, ht, lh[:])
				if (werr == nil) != (err == nil) || err == nil && !bytes.Equal(got[:], want) {
					t.Fatalf("script path input %d type %#x: %x %v, txscript %x %v", idx, ht, got, err, want, werr)
				}
			}
		}
		if _, err := cache.SigHash(0, 4, nil); !errors.Is(err, ErrTaprootSigHash) {
			t.Fatalf("hash type 4: %v", err)
		}
	}
	if _, err := NewTaprootSigHashCache(&Tx{Version: 2, Inputs: []*TxIn{{}}, Outputs: []*TxOut{{}}}, nil); !errors.Is(err, ErrTaprootSigHash) {
		t.Fatalf("no spent outputs: %v", err)
	}
}
