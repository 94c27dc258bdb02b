package wallet

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// TestMaxInputWeight builds, with btcd's wire and txscript packages, the
// largest signed input of each script type (73-byte signatures) and
// measures its weight as the difference between a transaction with two
// such inputs and one with one: MaxInputWeight must be exactly that.
func TestMaxInputWeight(t *testing.T) {
	sig := bytes.Repeat([]byte{0x30}, MaxSigSize)
	for _, st := range []ScriptType{P2WSH, P2SHP2WSH, P2SH, P2WPKH, P2SHP2WPKH} {
		var d *Descriptor
		var err error
		if st.singleKey() {
			_, recs := testRecords(t, Testnet, st, 1)
			d, err = ParseDescriptor(singleKeyDesc(st, recs[0]), nil)
		} else {
			_, recs := testRecords(t, Testnet, st, 3)
			d, err = NewMultisig(Testnet, st, 2, recs)
		}
		if err != nil {
			t.Fatal(err)
		}
		dv, err := d.Derive(false, 0)
		if err != nil {
			t.Fatal(err)
		}
		var scriptSig []byte
		var witness wire.TxWitness
		b := txscript.NewScriptBuilder()
		switch st {
		case P2WSH, P2SHP2WSH:
			witness = wire.TxWitness{{}, sig, sig, dv.WitnessScript}
			if st == P2SHP2WSH {
				scriptSig, err = b.AddData(dv.RedeemScript).Script()
			}
		case P2SH:
			scriptSig, err = b.AddOp(txscript.OP_0).AddData(sig).AddData(sig).AddData(dv.RedeemScript).Script()
		case P2WPKH, P2SHP2WPKH:
			witness = wire.TxWitness{sig, dv.Keys[0].PubKey}
			if st == P2SHP2WPKH {
				scriptSig, err = b.AddData(dv.RedeemScript).Script()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		weight := func(n int) int {
			tx := wire.NewMsgTx(2)
			for i := 0; i < n; i++ {
				in := wire.NewTxIn(&wire.OutPoint{Index: uint32(i)}, scriptSig, witness)
				tx.AddTxIn(in)
			}
			tx.AddTxOut(wire.NewTxOut(1000, dv.ScriptPubKey))
			return 3*tx.SerializeSizeStripped() + tx.SerializeSize()
		}
		if got, want := d.MaxInputWeight(), weight(2)-weight(1); got != want {
			t.Errorf("%s: MaxInputWeight %d, btcd's serialization says %d", st, got, want)
		}
	}
}
