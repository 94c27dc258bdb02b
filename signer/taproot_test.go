package signer_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// newTapFixture is newFixture for a tr(NUMS,sortedmulti_a(m,…)) wallet
// whose coins carry no previous transaction.
func newTapFixture(t testing.TB, m, n, inputs int) *fixture {
	t.Helper()
	f := newFixture(t, wallet.P2TR, m, n, inputs)
	for k := range f.coins {
		f.coins[k].Prev = nil
	}
	return f
}

func TestSignTaproot(t *testing.T) {
	for _, c := range []struct{ m, n int }{{2, 3}, {3, 5}} {
		f := newTapFixture(t, c.m, c.n, 2)
		p := f.build()
		for i := range p.Inputs {
			if p.Inputs[i].NonWitnessUTXO != nil || p.Inputs[i].WitnessUTXO == nil || len(p.Inputs[i].TaprootLeafScript) != 1 {
				t.Fatalf("input %d: BuildPSBT wrote a previous transaction or no witness_utxo / leaf script", i)
			}
		}
		var answers []*psbt.Packet
		for s := 0; s < c.m; s++ {
			if s > 0 {
				f.register(s, nil)
			}
			out, r, err := f.ks[s].Sign(p.Copy(), signer.Options{Workers: 1 + s}, nil)
			if err != nil {
				t.Fatalf("signer %d: %v", s, err)
			}
			if s == 0 {
				if !r.Outputs[1].Change || r.Outputs[0].Change || r.Fee != 800 || !strings.Contains(r.Kind, "tr") {
					t.Fatalf("review: %+v", r)
				}
				var buf bytes.Buffer
				r.Format(&buf)
				if !strings.Contains(buf.String(), "change (verified, change branch, index 0)") {
					t.Fatalf("review:\n%s", buf.String())
				}
			}
			for i := range out.Inputs {
				in := out.Inputs[i]
				if len(in.TaprootScriptSpendSig) != 1 || len(in.PartialSigs) != 0 || len(in.TaprootScriptSpendSig[0].Signature) != 64 {
					t.Fatalf("signer %d input %d: %d script sigs, %d partial sigs", s, i, len(in.TaprootScriptSpendSig), len(in.PartialSigs))
				}
			}
			// The same answer whatever the number of workers.
			again, _, err := f.ks[s].Sign(p.Copy(), signer.Options{Workers: 4}, nil)
			if err != nil || !bytes.Equal(mustBytes(t, again), mustBytes(t, out)) {
				t.Fatalf("signer %d: another answer with 4 workers (%v)", s, err)
			}
			answers = append(answers, out)
		}
		full := p.Copy()
		if err := psbt.Combine(full, answers...); err != nil {
			t.Fatal(err)
		}
		if err := psbt.Finalize(full); err != nil {
			t.Fatal(err)
		}
		tx, err := psbt.Extract(full)
		if err != nil {
			t.Fatal(err)
		}
		spent := make([]*psbt.TxOut, len(p.Inputs))
		for i := range p.Inputs {
			spent[i] = p.Inputs[i].WitnessUTXO
		}
		if err := btcdVerify(tx, spent); err != nil {
			t.Fatalf("%d-of-%d: btcd's script engine refuses: %v", c.m, c.n, err)
		}
	}
}

// btcdVerify runs btcd's script engine over every input of tx.
func btcdVerify(tx *psbt.Tx, spent []*psbt.TxOut) error {
	var msg wire.MsgTx
	if err := msg.Deserialize(bytes.NewReader(tx.Bytes())); err != nil {
		return err
	}
	prev := map[wire.OutPoint]*wire.TxOut{}
	for i, in := range msg.TxIn {
		prev[in.PreviousOutPoint] = wire.NewTxOut(spent[i].Value, spent[i].PkScript)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(prev)
	hashes := txscript.NewTxSigHashes(&msg, fetcher)
	for i := range msg.TxIn {
		vm, err := txscript.NewEngine(spent[i].PkScript, &msg, i, txscript.StandardVerifyFlags, nil, hashes, spent[i].Value, fetcher)
		if err != nil {
			return err
		}
		if err := vm.Execute(); err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
	}
	return nil
}

func mustBytes(t *testing.T, p *psbt.Packet) []byte {
	t.Helper()
	b, err := p.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRefuseTaproot: every refusal family of the P2WSH signer, for a
// taproot wallet.
func TestRefuseTaproot(t *testing.T) {
	cases := []struct {
		name  string
		alter func(f *fixture, p *psbt.Packet)
		want  string
	}{
		{"foreign leaf", func(f *fixture, p *psbt.Packet) {
			l := &p.Inputs[0].TaprootLeafScript[0]
			l.Script = append([]byte{0x20}, append(bytes.Repeat([]byte{7}, 32), 0xac)...)
		}, "input 0: leaf script 1 is not a leaf of wallet"},
		{"a leaf of another index", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootLeafScript = p.Inputs[1].TaprootLeafScript
		}, "input 0: leaf script 1 is not a leaf of wallet"},
		{"wrong internal key", func(f *fixture, p *psbt.Packet) {
			p.Inputs[1].TaprootInternalKey = p.Inputs[1].TaprootBip32Derivation[0].XOnlyPubKey
		}, "input 1: taproot internal key"},
		{"tampered control block", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootLeafScript[0].ControlBlock[0] ^= 1
		}, "input 0: control block of leaf script 1"},
		{"control block of another internal key", func(f *fixture, p *psbt.Packet) {
			cb := p.Inputs[0].TaprootLeafScript[0].ControlBlock
			copy(cb[1:33], p.Inputs[0].TaprootBip32Derivation[1].XOnlyPubKey)
		}, "input 0: control block"},
		{"wrong merkle root", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootMerkleRoot = bytes.Repeat([]byte{1}, 32)
		}, "input 0: taproot merkle root"},
		{"no leaf script offered", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootLeafScript = nil
		}, "input 0: offers no leaf script"},
		{"sighash NONE", func(f *fixture, p *psbt.Packet) {
			p.Inputs[1].SighashType = psbt.SigHashNone
		}, "input 1: asks for sighash type NONE; a taproot input is signed with DEFAULT or ALL only"},
		{"sighash ALL|ANYONECANPAY", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].SighashType = psbt.SigHashAll | psbt.SigHashAnyOneCanPay
		}, "DEFAULT or ALL only"},
		{"missing witness_utxo of another input", func(f *fixture, p *psbt.Packet) {
			p.Inputs[1].WitnessUTXO = nil
		}, "input 1: no previous transaction"},
		{"foreign input with neither utxo", func(f *fixture, p *psbt.Packet) {
			addForeignInput(f, p, false)
		}, "input 2: no previous transaction"},
		{"witness_utxo of a foreign input missing", func(f *fixture, p *psbt.Packet) {
			prev := &psbt.Tx{Version: 2, Inputs: []*psbt.TxIn{{Sequence: 1}}, Outputs: []*psbt.TxOut{{Value: 5000, PkScript: external(f.t)}}}
			p.UnsignedTx.Inputs = append(p.UnsignedTx.Inputs, &psbt.TxIn{PrevOut: psbt.OutPoint{Hash: prev.TxID()}, Sequence: 0xfffffffd})
			p.Inputs = append(p.Inputs, psbt.Input{NonWitnessUTXO: prev})
		}, "input 2: no witness_utxo"},
		{"spent output key not the wallet's", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootBip32Derivation, p.Inputs[1].TaprootBip32Derivation = p.Inputs[1].TaprootBip32Derivation, p.Inputs[0].TaprootBip32Derivation
		}, "does not derive"},
		{"our key claimed with another x-only key", func(f *fixture, p *psbt.Packet) {
			for k := range p.Inputs[0].TaprootBip32Derivation {
				d := &p.Inputs[0].TaprootBip32Derivation[k]
				if d.Fingerprint == f.recs[0].Origin.Fingerprint {
					d.XOnlyPubKey = p.Inputs[1].TaprootBip32Derivation[k].XOnlyPubKey
				}
			}
		}, "does not re-derive from our seed"},
		{"cosigner given a wrong leaf hash", func(f *fixture, p *psbt.Packet) {
			p.Inputs[0].TaprootBip32Derivation[2].LeafHashes[0] = bytes.Repeat([]byte{9}, 32)
		}, "is given leaf hash"},
		{"dishonest change on another tree", func(f *fixture, p *psbt.Packet) {
			// The same keys in a tree with a second leaf: another output key.
			other, err := wallet.ParseDescriptor("tr("+wallet.NUMSKey+",{"+leafOf(f.desc)+",pk("+f.recs[1].String()+"/<0;1>/*)})", f.net)
			if err != nil {
				f.t.Fatal(err)
			}
			f.tapChangeTo(p, other, 0)
		}, "output 1: presented as change at"},
		{"dishonest change with a real internal key", func(f *fixture, p *psbt.Packet) {
			other, err := wallet.ParseDescriptor("tr("+f.recs[2].String()+"/<0;1>/*,"+leafOf(f.desc)+")", f.net)
			if err != nil {
				f.t.Fatal(err)
			}
			f.tapChangeTo(p, other, 0)
		}, "not the wallet's output key there"},
		{"change on the receive branch", func(f *fixture, p *psbt.Packet) {
			for k := range p.Outputs[1].TaprootBip32Derivation {
				d := &p.Outputs[1].TaprootBip32Derivation[k]
				d.Path[len(d.Path)-2] = 0
			}
		}, "on the receive branch"},
		{"change internal key", func(f *fixture, p *psbt.Packet) {
			p.Outputs[1].TaprootInternalKey = p.Outputs[1].TaprootBip32Derivation[0].XOnlyPubKey
		}, "change internal key"},
		{"change tap tree", func(f *fixture, p *psbt.Packet) {
			p.Outputs[1].TaprootTapTree[0].Script = p.Inputs[0].TaprootLeafScript[0].Script
		}, "change tap tree"},
		{"fee above the cap", func(f *fixture, p *psbt.Packet) {
			p.UnsignedTx.Outputs[1].Value -= 10_000_000
		}, "above the cap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newTapFixture(t, 2, 3, 2)
			p := f.build()
			c.alter(f, p)
			out, _, err := f.sign(p, signer.Options{})
			refused(t, out, err, c.want)
		})
	}
}

// leafOf returns the leaf expression of a tr(KEY,LEAF) descriptor.
func leafOf(d *wallet.Descriptor) string {
	s := d.String()
	s = s[:strings.IndexByte(s, '#')]
	return s[strings.IndexByte(s, ',')+1 : len(s)-1]
}

// tapChangeTo makes output 1 pay d's change at index, with d's taproot
// derivations (some other wallet's tree passed off as ours).
func (f *fixture) tapChangeTo(p *psbt.Packet, d *wallet.Descriptor, index uint32) {
	der, err := d.Derive(true, index)
	if err != nil {
		f.t.Fatal(err)
	}
	p.UnsignedTx.Outputs[1].PkScript = der.ScriptPubKey
	q, err := coordinator.BuildPSBT(d, nil, []*psbt.TxOut{{}, {Value: 1, PkScript: der.ScriptPubKey}}, 1, index, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	p.Outputs[1] = q.Outputs[1]
}

// addForeignInput adds an input of someone else's P2TR output, with or
// without its witness_utxo.
func addForeignInput(f *fixture, p *psbt.Packet, withUTXO bool) {
	p.UnsignedTx.Inputs = append(p.UnsignedTx.Inputs, &psbt.TxIn{PrevOut: psbt.OutPoint{Hash: psbt.Hash{9}, Index: 3}, Sequence: 0xfffffffd})
	in := psbt.Input{}
	if withUTXO {
		in.WitnessUTXO = &psbt.TxOut{Value: 10_000, PkScript: append([]byte{0x51, 0x20}, bytes.Repeat([]byte{3}, 32)...)}
	}
	p.Inputs = append(p.Inputs, in)
}

// TestTaprootWitnessOnlyRefusedForWSH: a P2WSH wallet does not take a
// taproot input without its previous transaction, since its signatures
// do not commit to that input's amount.
func TestTaprootWitnessOnlyRefusedForWSH(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	p := f.build()
	addForeignInput(f, p, true)
	out, _, err := f.sign(p, signer.Options{})
	refused(t, out, err, "input 2: no previous transaction (non_witness_utxo)")
}

// TestTaprootForeignInputSigned: a taproot wallet signs its inputs beside
// a foreign taproot input whose witness_utxo is given, and warns of it.
func TestTaprootForeignInputSigned(t *testing.T) {
	f := newTapFixture(t, 2, 3, 2)
	p := f.build()
	addForeignInput(f, p, true)
	out, r, err := f.sign(p, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Inputs[2].TaprootScriptSpendSig) != 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "input 2 does not belong") {
		t.Fatalf("foreign input: %v", r.Warnings)
	}
}

// FuzzSignBytesTaproot is FuzzSignBytes for a tr() wallet: the taproot
// fields of untrusted PSBTs never make the signer panic, nor return a
// signature with an error.
func FuzzSignBytesTaproot(f *testing.F) {
	fx := newTapFixture(f, 2, 3, 2)
	good, err := fx.build().Serialize()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := fx.ks[0].SignBytes(b, signer.Options{}, nil)
		if err != nil && out != nil {
			t.Fatal("signature returned with an error")
		}
		if err == nil && out == nil {
			t.Fatal("no error and no output")
		}
	})
}

// TestTaprootDestination: a P2WSH wallet pays a registered tr()
// destination, shown as such only when the output re-derives from it
// (its output key, internal key, tree and taproot derivations).
func TestTaprootDestination(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 2)
	var recs []*wallet.KeyRecord
	for i := range f.ks {
		m, err := f.ks[i].Master(f.net)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := wallet.NewKeyRecord(m, wallet.AccountPath(f.net, wallet.P2TR, 0))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	hot, err := wallet.NewMultisig(f.net, wallet.P2TR, 2, recs)
	if err != nil {
		t.Fatal(err)
	}
	f.registerDestination(0, "hot-tr", hot)
	pay := func(alter func(*psbt.Output)) (*psbt.Packet, *signer.Review, error) {
		p := f.build()
		dq, err := hot.Derive(false, 7)
		if err != nil {
			t.Fatal(err)
		}
		// The coordinator's fields for an output to another of its wallets.
		p.UnsignedTx.Outputs[0].PkScript = dq.ScriptPubKey
		p.Outputs[0] = psbt.Output{}
		p.Outputs[0].TaprootInternalKey = dq.Taproot.InternalKey.PubKey[1:]
		for _, l := range dq.Taproot.Leaves {
			p.Outputs[0].TaprootTapTree = append(p.Outputs[0].TaprootTapTree, psbt.TaprootTapLeaf{LeafVersion: wallet.TapLeafVersion, Script: l.Script})
		}
		for _, l := range dq.Taproot.Leaves {
			for _, k := range l.Keys {
				lh := l.LeafHash
				p.Outputs[0].TaprootBip32Derivation = append(p.Outputs[0].TaprootBip32Derivation, psbt.TaprootBip32Derivation{XOnlyPubKey: k.PubKey[1:], LeafHashes: [][]byte{lh[:]}, Fingerprint: k.Origin.Fingerprint, Path: k.Origin.Path})
			}
		}
		if alter != nil {
			alter(&p.Outputs[0])
		}
		return f.sign(p, signer.Options{})
	}
	out, r, err := pay(nil)
	if err != nil {
		t.Fatal(err)
	}
	if out == nil || r.Outputs[0].Destination != "hot-tr" || r.Outputs[0].Index != 7 {
		t.Fatalf("output 0: %+v", r.Outputs[0])
	}
	for name, c := range map[string]struct {
		alter func(*psbt.Output)
		want  string
	}{
		"another internal key": {func(o *psbt.Output) { o.TaprootInternalKey = o.TaprootBip32Derivation[0].XOnlyPubKey }, "internal key is not the one registered wallet"},
		"another tree":         {func(o *psbt.Output) { o.TaprootTapTree[0].Script = append(o.TaprootTapTree[0].Script, 0x51) }, "tap tree is not the one"},
		"another index":        {func(o *psbt.Output) { o.TaprootBip32Derivation[0].Path[len(o.TaprootBip32Derivation[0].Path)-1] = 8 }, "registered wallet \"hot-tr\""},
	} {
		out, _, err := pay(c.alter)
		if err == nil {
			t.Fatalf("%s: signed", name)
		}
		refused(t, out, err, c.want)
	}
}

// TestTaprootRegistrationNote: registering a tr() wallet says who can
// spend by its key path.
func TestTaprootRegistrationNote(t *testing.T) {
	f := newTapFixture(t, 2, 3, 0)
	reg, err := f.ks[1].PrepareRegistration("vault", f.desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	reg.Format(&b)
	if !strings.Contains(b.String(), "Wallet \"vault\": 2-of-3 tr on regtest") || !strings.Contains(b.String(), "Key path: unspendable") {
		t.Fatalf("registration:\n%s", b.String())
	}
	real, err := wallet.ParseDescriptor("tr("+f.recs[2].String()+"/<2;3>/*,"+leafOf(f.desc)+")", f.net)
	if err != nil {
		t.Fatal(err)
	}
	if reg, err = f.ks[1].PrepareRegistration("keypath", real, nil); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	reg.Format(&b)
	if !strings.Contains(b.String(), "WARNING: key path: whoever holds the internal key ["+f.recs[2].Origin.String()+"/2/0] can spend every coin alone") {
		t.Fatalf("registration:\n%s", b.String())
	}
}

// TestSignTaprootV2: a version 2 PSBT (BIP-370) of a tr wallet is signed
// and answered in version 2, with the taproot signatures.
func TestSignTaprootV2(t *testing.T) {
	f := newTapFixture(t, 2, 3, 2)
	p := f.build()
	p.Version = 2
	raw := mustBytes(t, p)
	blob, _, err := f.ks[0].SignBytes(raw, signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := psbt.Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != 2 || len(out.Inputs[0].TaprootScriptSpendSig) != 1 || len(out.Inputs[1].TaprootScriptSpendSig) != 1 {
		t.Fatalf("answer: version %d, %d and %d script signatures", out.Version, len(out.Inputs[0].TaprootScriptSpendSig), len(out.Inputs[1].TaprootScriptSpendSig))
	}
}
