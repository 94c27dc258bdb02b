package coordinator_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	btcdpsbt "github.com/btcsuite/btcd/psbt/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/kinko-project/kinko/coordinator"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/wallet"
)

// newHotWallet creates a single-key wallet of type st (wpkh or sh-wpkh),
// the kind an exchange's hot wallet is, on a fresh coordinator from a
// descriptor written as such a wallet exports it, and funds it. The test
// holds the wallet's master key and signs with btcec itself (see
// signWithBtcec): kinko's signer is not involved.
func newHotWallet(t *testing.T, st wallet.ScriptType, coins ...int64) (*fixture, *wallet.ExtendedKey) {
	t.Helper()
	nd, rpc := node(t)
	net := wallet.Regtest
	seed := make([]byte, 32)
	rand.Read(seed)
	master, err := wallet.NewMaster(seed, net)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := wallet.NewKeyRecord(master, wallet.AccountPath(net, st, 0))
	if err != nil {
		t.Fatal(err)
	}
	text := "wpkh([" + rec.Origin.String() + "]" + rec.Key.String() + "/<0;1>/*)"
	if st == wallet.P2SHP2WPKH {
		text = "sh(" + text + ")"
	}
	f := &fixture{t: t, node: nd, rpc: rpc, dir: t.TempDir(), name: "hot"}
	if f.desc, err = wallet.ParseDescriptor(text, net); err != nil {
		t.Fatal(err)
	}
	if f.coord, err = coordinator.Open(f.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.coord.Close() })
	h, err := rpc.Height()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.coord.CreateWallet(context.Background(), f.name, f.desc, h); err != nil {
		t.Fatal(err)
	}
	f.fund(coins...)
	return f, master
}

// signWithBtcec signs every input of the session's PSBT with the hot
// wallet's key, in the test itself: the key is derived from master along
// the input's one BIP-32 derivation, the BIP-143 signature hash is btcd's
// (txscript.CalcWitnessSigHash, given the P2WPKH program), and the
// signature btcec's. hashOf, if not nil, replaces the signature hash (to
// sign the wrong thing on purpose). The result holds only the signatures.
func signWithBtcec(t *testing.T, master *wallet.ExtendedKey, raw []byte, hashOf func(i int, right []byte) []byte) []byte {
	t.Helper()
	p, err := psbt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var msg wire.MsgTx
	if err := msg.DeserializeNoWitness(bytes.NewReader(p.UnsignedTx.BytesNoWitness())); err != nil {
		t.Fatal(err)
	}
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for i, in := range msg.TxIn {
		utxo, err := p.InputUTXO(i)
		if err != nil {
			t.Fatal(err)
		}
		fetcher.AddPrevOut(in.PreviousOutPoint, wire.NewTxOut(utxo.Value, utxo.PkScript))
	}
	hashes := txscript.NewTxSigHashes(&msg, fetcher)
	out, err := psbt.New(p.UnsignedTx.Copy())
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		if len(in.Bip32Derivation) != 1 || in.Bip32Derivation[0].Fingerprint != master.Fingerprint() {
			t.Fatalf("input %d: derivations %v, want the one key of fingerprint %s", i, in.Bip32Derivation, master.Fingerprint())
		}
		d := in.Bip32Derivation[0]
		k, err := master.Derive(wallet.Path(d.Path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.PublicKey(), d.PubKey) {
			t.Fatalf("input %d: derivation's key is not the master's at %v", i, d.Path)
		}
		priv, err := k.PrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		utxo := prevOut(t, fetcher, msg.TxIn[i])
		program := utxo.PkScript
		if in.RedeemScript != nil {
			program = in.RedeemScript
		}
		h, err := txscript.CalcWitnessSigHash(program, hashes, txscript.SigHashAll, &msg, i, utxo.Value)
		if err != nil {
			t.Fatal(err)
		}
		if hashOf != nil {
			h = hashOf(i, h)
		}
		sig := append(ecdsa.Sign(priv, h).Serialize(), byte(txscript.SigHashAll))
		out.Inputs[i].PartialSigs = []psbt.PartialSig{{PubKey: d.PubKey, Sig: sig}}
	}
	b, err := out.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func prevOut(t *testing.T, f *txscript.MultiPrevOutFetcher, in *wire.TxIn) *wire.TxOut {
	o := f.FetchPrevOutput(in.PreviousOutPoint)
	if o == nil {
		t.Fatal("no previous output")
	}
	return o
}

// checkSingleKeyPSBT reads the coordinator's PSBT of a single-key wallet
// with btcd's independent parser: both UTXOs on every input, the redeem
// script only for sh(wpkh), no witness script, one derivation per input
// and on the change output, and the wallet's one xpub.
func checkSingleKeyPSBT(t *testing.T, raw []byte, d *wallet.Descriptor) {
	t.Helper()
	p, err := btcdpsbt.NewFromRawBytes(bytes.NewReader(raw), false)
	if err != nil {
		t.Fatalf("btcd cannot parse the PSBT: %v", err)
	}
	if len(p.XPubs) != 1 {
		t.Errorf("%d global xpubs, want 1", len(p.XPubs))
	}
	sh := d.ScriptType() == wallet.P2SHP2WPKH
	for i, in := range p.Inputs {
		if in.NonWitnessUtxo == nil || in.WitnessUtxo == nil {
			t.Errorf("input %d: utxos missing", i)
		}
		if in.WitnessScript != nil || (in.RedeemScript != nil) != sh {
			t.Errorf("input %d: scripts do not fit %s", i, d.ScriptType())
		}
		if sh && (len(in.RedeemScript) != 22 || in.RedeemScript[0] != 0 || in.RedeemScript[1] != 20) {
			t.Errorf("input %d: redeem script %x is not a p2wpkh program", i, in.RedeemScript)
		}
		if len(in.Bip32Derivation) != 1 {
			t.Errorf("input %d: %d derivations, want 1", i, len(in.Bip32Derivation))
		}
	}
	change := 0
	for _, out := range p.Outputs {
		if len(out.Bip32Derivation) == 1 {
			change++
			if out.WitnessScript != nil || (out.RedeemScript != nil) != sh {
				t.Errorf("change output: scripts do not fit %s", d.ScriptType())
			}
		}
	}
	if change != 1 {
		t.Errorf("%d outputs carry the wallet's derivation, want the one change output", change)
	}
}

// TestSingleKeySpend has a wpkh and an sh(wpkh) wallet receive two coins,
// spend both with change, collect the one signature per input, finalize
// (btcd's script engine and the node's testmempoolaccept), broadcast and
// confirm; then spend the change.
func TestSingleKeySpend(t *testing.T) {
	for _, st := range []wallet.ScriptType{wallet.P2WPKH, wallet.P2SHP2WPKH} {
		t.Run(st.String(), func(t *testing.T) {
			f, master := newHotWallet(t, st, 30_000_000, 45_000_000)
			ctx := context.Background()
			if b := f.balance(); b.Confirmed != 75_000_000 || b.Coins != 2 {
				t.Fatalf("balance after funding: %+v", b)
			}
			if err := f.coord.CreateWallet(ctx, "hot-again", f.desc, 0); !errors.Is(err, coordinator.ErrScriptsWatched) {
				t.Fatalf("the same descriptor under another name: %v, want ErrScriptsWatched", err)
			}
			s, _ := f.spend(60_000_000) // needs both coins, leaves change
			checkSingleKeyPSBT(t, s.PSBT, f.desc)
			for i, in := range f.haveSigs(s.ID) {
				if in.Have != 0 || in.Need != 1 {
					t.Errorf("input %d: %d of %d signatures before signing, want 0 of 1", i, in.Have, in.Need)
				}
			}

			// Signatures the coordinator must refuse: by a key that is not
			// the input's, and by the right key over a hash made with the
			// witness program as scriptCode instead of BIP-143's
			// 76a914{hash160}88ac.
			stranger, err := wallet.NewMaster(bytes.Repeat([]byte{7}, 32), wallet.Regtest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.coord.Import(ctx, s.ID, forgeSigWith(t, stranger, s.PSBT)); !errors.Is(err, coordinator.ErrBadSignature) {
				t.Fatalf("a stranger's signature: %v, want ErrBadSignature", err)
			}
			wrongCode := signWithBtcec(t, master, s.PSBT, func(i int, _ []byte) []byte {
				p := mustParse(t, s.PSBT)
				spent, err := p.SpentScript(i)
				if err != nil {
					t.Fatal(err)
				}
				keyHash := spent.ScriptCode[3:23]
				h, err := psbt.WitnessV0SigHash(p.UnsignedTx, i, append([]byte{0, 20}, keyHash...), spent.Amount, psbt.SigHashAll)
				if err != nil {
					t.Fatal(err)
				}
				return h[:]
			})
			if _, err := f.coord.Import(ctx, s.ID, wrongCode); !errors.Is(err, coordinator.ErrBadSignature) {
				t.Fatalf("signature over the wrong scriptCode: %v, want ErrBadSignature", err)
			}
			if _, err := f.coord.Finalize(ctx, s.ID, f.rpc); err == nil {
				t.Fatal("finalized without signatures")
			}

			if r := f.importOK(s.ID, signWithBtcec(t, master, s.PSBT, nil)); r.Added != 2 {
				t.Fatalf("import added %d signatures, want 2", r.Added)
			}
			for i, in := range f.haveSigs(s.ID) {
				if in.Have != 1 || in.Need != 1 {
					t.Errorf("input %d: %d of %d signatures, want 1 of 1", i, in.Have, in.Need)
				}
			}
			f.finishAndConfirm(s, 75_000_000, 60_000_000)
			b := f.balance()
			if b.Coins != 1 || b.Confirmed != 15_000_000-s.Fee {
				t.Fatalf("after the spend: %+v, want the change of %d", b, 15_000_000-s.Fee)
			}

			// The change is the wallet's: spend it too.
			s2, _ := f.spend(5_000_000)
			f.importOK(s2.ID, signWithBtcec(t, master, s2.PSBT, nil))
			f.finishAndConfirm(s2, b.Confirmed, 5_000_000)
		})
	}
}

// forgeSigWith signs input 0 of the session's PSBT with a key outside
// the wallet, over the right signature hash.
func forgeSigWith(t *testing.T, master *wallet.ExtendedKey, raw []byte) []byte {
	t.Helper()
	p := mustParse(t, raw)
	spent, err := p.SpentScript(0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := spent.SigHash(nil, psbt.SigHashAll)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := master.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	out, err := psbt.New(p.UnsignedTx.Copy())
	if err != nil {
		t.Fatal(err)
	}
	sig := append(ecdsa.Sign(priv, h[:]).Serialize(), byte(psbt.SigHashAll))
	out.Inputs[0].PartialSigs = []psbt.PartialSig{{PubKey: master.PublicKey(), Sig: sig}}
	b, err := out.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
