package psbt

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// toWire converts a transaction to btcd's wire type through its bytes.
func toWire(t testing.TB, tx *Tx) *wire.MsgTx {
	t.Helper()
	m := &wire.MsgTx{}
	b := tx.Bytes()
	var err error
	if len(tx.Inputs) == 0 {
		err = m.DeserializeNoWitness(bytes.NewReader(b))
	} else {
		err = m.Deserialize(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("wire: %v", err)
	}
	return m
}

// testKey returns a deterministic private key.
func testKey(n uint64) *btcec.PrivateKey {
	var b [32]byte
	binary.BigEndian.PutUint64(b[24:], n*0x9e3779b97f4a7c15+1)
	b[0] = 0x42
	k, _ := btcec.PrivKeyFromBytes(b[:])
	return k
}

func testPub(t testing.TB, n uint64) []byte {
	return testKey(n).PubKey().SerializeCompressed()
}
