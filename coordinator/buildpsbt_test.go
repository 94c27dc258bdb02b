package coordinator

import (
	"bytes"
	"testing"

	"github.com/kinko-project/kinko/internal/psbt"
)

// TestBuildPSBTLeavesOutPrevWitness: a coin's previous transaction goes
// into the PSBT without its witness, with the same txid and outputs.
func TestBuildPSBTLeavesOutPrevWitness(t *testing.T) {
	d := randomWallet(t)
	der, err := d.Derive(false, 3)
	if err != nil {
		t.Fatal(err)
	}
	prev := &psbt.Tx{Version: 2,
		Inputs: []*psbt.TxIn{{PrevOut: psbt.OutPoint{Index: 1}, Sequence: 0xfffffffd,
			Witness: [][]byte{bytes.Repeat([]byte{1}, 72), bytes.Repeat([]byte{2}, 33)}}},
		Outputs: []*psbt.TxOut{{Value: 1_000_000, PkScript: der.ScriptPubKey}},
	}
	coin := FundedCoin{Coin: Coin{OutPoint: psbt.OutPoint{Hash: prev.TxID()}, Value: 1_000_000, Index: 3}, Prev: prev}
	outs := []*psbt.TxOut{{Value: 900_000, PkScript: append([]byte{0, 20}, make([]byte, 20)...)}}
	p, err := BuildPSBT(d, []FundedCoin{coin}, outs, -1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Inputs[0].NonWitnessUTXO
	if got.HasWitness() || got.TxID() != prev.TxID() || !bytes.Equal(got.Bytes(), prev.BytesNoWitness()) {
		t.Fatalf("non-witness UTXO %x, want %x", got.Bytes(), prev.BytesNoWitness())
	}
	if !prev.HasWitness() {
		t.Fatal("the coin's own previous transaction lost its witness")
	}
}
