package signer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// TestSignSingleKey signs a wpkh and an sh(wpkh) wallet's PSBT and runs
// the signed transaction through btcd's script engine: an independent
// check of the BIP-143 scriptCode and signature.
func TestSignSingleKey(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WPKH, wallet.P2SHP2WPKH} {
		t.Run(st.String(), func(t *testing.T) {
			f := newFixture(t, st, 1, 1, 2)
			p := f.build()
			out, r, err := f.sign(p, signer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			signed(t, out)
			if !r.Outputs[1].Change || r.Outputs[0].Change || r.Fee != 800 {
				t.Errorf("review: %+v", r)
			}
			var buf bytes.Buffer
			r.Format(&buf)
			for _, want := range []string{"single-key " + st.String() + " wallet", "no cosigner checks", "change (verified, change branch, index 0)"} {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("review lacks %q:\n%s", want, buf.String())
				}
			}
			if r.VSize <= 0 || r.FeeRate() > 10 {
				t.Errorf("vsize %d, fee rate %.1f", r.VSize, r.FeeRate())
			}
			verifySingleKey(t, p, out)
		})
	}
}

// verifySingleKey finalizes the single-key inputs by hand (witness
// <sig> <pubkey>, and for sh(wpkh) a scriptSig pushing the program) and
// runs btcd's script engine over each.
func verifySingleKey(t *testing.T, p, signed *psbt.Packet) {
	t.Helper()
	var msg wire.MsgTx
	if err := msg.Deserialize(bytes.NewReader(p.UnsignedTx.BytesNoWitness())); err != nil {
		t.Fatal(err)
	}
	prevOuts := make(map[wire.OutPoint]*wire.TxOut)
	for i, in := range msg.TxIn {
		ps := signed.Inputs[i].PartialSigs[0]
		in.Witness = wire.TxWitness{ps.Sig, ps.PubKey}
		if rs := p.Inputs[i].RedeemScript; rs != nil {
			in.SignatureScript = append([]byte{byte(len(rs))}, rs...)
		}
		utxo := p.Inputs[i].WitnessUTXO
		prevOuts[in.PreviousOutPoint] = wire.NewTxOut(utxo.Value, utxo.PkScript)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prevOuts)
	hashes := txscript.NewTxSigHashes(&msg, fetcher)
	for i, in := range msg.TxIn {
		prev := prevOuts[in.PreviousOutPoint]
		vm, err := txscript.NewEngine(prev.PkScript, &msg, i, txscript.StandardVerifyFlags, nil, hashes, prev.Value, fetcher)
		if err != nil {
			t.Fatal(err)
		}
		if err := vm.Execute(); err != nil {
			t.Errorf("input %d: btcd's script engine: %v", i, err)
		}
	}
}

// The same verification as for a multisig, each case changing one thing
// in a valid single-key PSBT.
func TestSingleKeyRefusals(t *testing.T) {
	cases := []struct {
		name  string
		alter func(f *fixture, p *psbt.Packet)
		want  string
	}{
		{"key claiming our fingerprint does not re-derive", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].Bip32Derivation[0].PubKey = p.Inputs[1].Bip32Derivation[0].PubKey
		}, "input 0: key"},
		{"spent script is not the wallet's at the path", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].Bip32Derivation, p.Inputs[1].Bip32Derivation = p.Inputs[1].Bip32Derivation, p.Inputs[0].Bip32Derivation
		}, "does not derive"},
		{"a witness script on a wpkh input", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].WitnessScript = []byte{0x51}
		}, "input 0: witness script"},
		{"witness_utxo disagrees with the previous transaction", func(f *fixture, p *psbt.Packet) {
			p.Inputs[1].WitnessUTXO.Value += 1000
		}, "input 1: witness_utxo"},
		{"no previous transaction", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].NonWitnessUTXO = nil
		}, "input 0: no previous transaction"},
		{"change of another script type", func(f *fixture, p *psbt.Packet) {
			other, err := wallet.ParseDescriptor("sh(wpkh("+f.recs[0].String()+"/<0;1>/*))", f.net)
			if err != nil {
				f.t.Fatal(err)
			}
			f.changeTo(p, other, true, 0)
		}, "output 1: presented as change"},
		{"change on the receive branch", func(f *fixture, p *psbt.Packet) {
			f.changeTo(p, f.desc, false, 1)
		}, "receive branch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, wallet.P2WPKH, 1, 1, 2)
			p := f.build()
			c.alter(f, p)
			out, _, err := f.sign(p, signer.Options{})
			refused(t, out, err, c.want)
		})
	}
}

// The treasury: a hot single-key wallet registered as a destination of
// the cold 2-of-3, and a top-up to it verified.
func TestSingleKeyDestination(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 1)
	hot := newFixture(t, wallet.P2WPKH, 1, 4, 0)
	// The hot wallet's key is signer 3's (the fixture's wallet uses
	// signer 0's key, which the cold wallet holds too).
	hotDesc, err := wallet.ParseDescriptor("wpkh("+hot.recs[3].String()+"/<0;1>/*)", f.net)
	if err != nil {
		t.Fatal(err)
	}
	hot.desc = hotDesc
	reg, err := f.ks[0].PrepareDestination("hot", hot.desc)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	reg.Format(&buf)
	if !strings.Contains(buf.String(), `Destination "hot": single-key wpkh on regtest`) || !strings.Contains(buf.String(), "holds no key of it") {
		t.Errorf("registration:\n%s", buf.String())
	}
	if err := f.ks[0].Register(reg); err != nil {
		t.Fatal(err)
	}
	p := f.build()
	f.payTo(p, hot.desc, false, 12)
	out, r, err := f.sign(p, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signed(t, out)
	buf.Reset()
	r.Format(&buf)
	if !strings.Contains(buf.String(), `to registered wallet "hot", receive index 12 (verified)`) {
		t.Errorf("review:\n%s", buf.String())
	}
	// The key of index 12 with the script of index 13: refused.
	p = f.build()
	f.payTo(p, hot.desc, false, 12)
	der, _ := hot.desc.Derive(false, 13)
	p.UnsignedTx.Outputs[0].PkScript = der.ScriptPubKey
	out, _, err = f.sign(p, signer.Options{})
	refused(t, out, err, `output 0: claims registered wallet "hot" at m/84h/1h/0h/0/12 but is not its script there`)
}
