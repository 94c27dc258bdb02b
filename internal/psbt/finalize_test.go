package psbt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

func p2wsh(script []byte) []byte {
	h := sha256.Sum256(script)
	return append([]byte{op0, 32}, h[:]...)
}

func p2sh(script []byte) []byte {
	return append(append([]byte{opHash160, 20}, hash160(script)...), opEqual)
}

type multisigFixture struct {
	p       *Packet
	keys    []*btcec.PrivateKey // in script order
	script  []byte              // the multisig script
	kind    string
	funding *Tx
}

// newMultisigFixture builds an unsigned PSBT spending nIn m-of-n outputs of
// the given kind ("p2wsh", "p2sh-p2wsh" or "p2sh") from one funding tx.
func newMultisigFixture(t testing.TB, kind string, m, n, nIn int) *multisigFixture {
	t.Helper()
	f := &multisigFixture{kind: kind}
	var pubs [][]byte
	for i := 0; i < n; i++ {
		k := testKey(uint64(100 + i))
		f.keys = append(f.keys, k)
		pubs = append(pubs, k.PubKey().SerializeCompressed())
	}
	script, err := MultisigScript(m, pubs)
	if err != nil {
		t.Fatal(err)
	}
	f.script = script
	var spk []byte
	switch kind {
	case "p2wsh":
		spk = p2wsh(script)
	case "p2sh-p2wsh":
		spk = p2sh(p2wsh(script))
	case "p2sh":
		spk = p2sh(script)
	}
	funding := &Tx{Version: 2, Inputs: []*TxIn{{Sequence: 0xffffffff}}}
	funding.Inputs[0].PrevOut.Hash[0] = 7
	for i := 0; i < nIn; i++ {
		funding.Outputs = append(funding.Outputs, &TxOut{Value: int64(100000 + i), PkScript: spk})
	}
	f.funding = funding
	tx := &Tx{Version: 2, LockTime: 800000}
	var total int64
	for i := 0; i < nIn; i++ {
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{funding.TxID(), uint32(i)}, Sequence: 0xfffffffd})
		total += funding.Outputs[i].Value
	}
	tx.Outputs = []*TxOut{{Value: total - 5000, PkScript: p2wsh([]byte{0x51})}}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Inputs {
		in := &p.Inputs[i]
		switch kind {
		case "p2wsh":
			in.WitnessUTXO = funding.Outputs[i].copy()
			in.WitnessScript = script
		case "p2sh-p2wsh":
			in.WitnessUTXO = funding.Outputs[i].copy()
			in.NonWitnessUTXO = funding.Copy()
			in.RedeemScript = p2wsh(script)
			in.WitnessScript = script
		case "p2sh":
			in.NonWitnessUTXO = funding.Copy()
			in.RedeemScript = script
		}
		for j, pub := range pubs {
			in.Bip32Derivation = append(in.Bip32Derivation, Bip32Derivation{PubKey: pub, Fingerprint: [4]byte{1, 2, 3, 4}, Path: []uint32{0x80000030, uint32(j)}})
		}
	}
	f.p = p
	return f
}

// sign adds partial signatures from the given keys (indices into f.keys).
func (f *multisigFixture) sign(t testing.TB, ht SigHashType, which ...int) {
	t.Helper()
	cache := NewSigHashCache(f.p.UnsignedTx)
	for i := range f.p.Inputs {
		in := &f.p.Inputs[i]
		utxo, err := f.p.InputUTXO(i)
		if err != nil {
			t.Fatal(err)
		}
		var h [32]byte
		if f.kind == "p2sh" {
			h, err = LegacySigHash(f.p.UnsignedTx, i, f.script, ht)
		} else {
			h, err = cache.WitnessV0(i, f.script, utxo.Value, ht)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range which {
			sig := append(ecdsa.Sign(f.keys[k], h[:]).Serialize(), byte(ht))
			in.PartialSigs = append(in.PartialSigs, PartialSig{PubKey: f.keys[k].PubKey().SerializeCompressed(), Sig: sig})
		}
	}
}

// verifyWithBtcd runs every input of tx through btcd's script engine.
func verifyWithBtcd(t testing.TB, tx *Tx, prevOuts []*TxOut) {
	t.Helper()
	wtx := toWire(t, tx)
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for i, in := range wtx.TxIn {
		fetcher.AddPrevOut(in.PreviousOutPoint, wire.NewTxOut(prevOuts[i].Value, prevOuts[i].PkScript))
	}
	hashes := txscript.NewTxSigHashes(wtx, fetcher)
	for i := range wtx.TxIn {
		vm, err := txscript.NewEngine(prevOuts[i].PkScript, wtx, i, txscript.StandardVerifyFlags, nil, hashes, prevOuts[i].Value, fetcher)
		if err != nil {
			t.Fatalf("input %d: NewEngine: %v", i, err)
		}
		if err := vm.Execute(); err != nil {
			t.Fatalf("input %d: script failed: %v", i, err)
		}
	}
}

func TestFinalizeMultisig(t *testing.T) {
	for _, kind := range []string{"p2wsh", "p2sh-p2wsh", "p2sh"} {
		for _, ht := range allSigHashTypes {
			t.Run(fmt.Sprintf("%s/%#x", kind, uint32(ht)), func(t *testing.T) {
				f := newMultisigFixture(t, kind, 2, 3, 3)
				f.sign(t, ht, 2, 0, 1) // all three, not in script order
				for i := range f.p.Inputs {
					f.p.Inputs[i].SighashType = ht
				}
				// Round-trip through the codec first.
				p := mustParse(t, mustSerialize(t, f.p))
				if err := Finalize(p); err != nil {
					t.Fatal(err)
				}
				for i := range p.Inputs {
					in := &p.Inputs[i]
					if in.PartialSigs != nil || in.Bip32Derivation != nil || in.RedeemScript != nil || in.WitnessScript != nil || in.SighashType != 0 {
						t.Fatalf("input %d: signing data not cleared", i)
					}
					var sigs [][]byte
					switch kind {
					case "p2sh":
						if in.FinalScriptWitness != nil {
							t.Fatal("p2sh input has a witness")
						}
						sigs = scriptPushes(t, in.FinalScriptSig)
						if len(sigs) != 4 || len(sigs[0]) != 0 || !bytes.Equal(sigs[3], f.script) {
							t.Fatalf("bad scriptSig %x", in.FinalScriptSig)
						}
						sigs = sigs[1:3]
					default:
						w := in.FinalScriptWitness
						if len(w) != 4 || len(w[0]) != 0 || !bytes.Equal(w[3], f.script) {
							t.Fatalf("bad witness: %d items", len(w))
						}
						sigs = w[1:3]
						wantSig := []byte(nil)
						if kind == "p2sh-p2wsh" {
							wantSig = append([]byte{34}, p2wsh(f.script)...)
						}
						if !bytes.Equal(in.FinalScriptSig, wantSig) {
							t.Fatalf("bad scriptSig %x", in.FinalScriptSig)
						}
					}
					// Exactly m = 2 signatures, from keys 0 and 1 (script order).
					for j, s := range sigs {
						if s[len(s)-1] != byte(ht) {
							t.Fatalf("signature %d has sighash %#x", j, s[len(s)-1])
						}
						var found bool
						for _, ps := range f.p.Inputs[i].PartialSigs {
							if bytes.Equal(ps.Sig, s) {
								found = bytes.Equal(ps.PubKey, f.keys[j].PubKey().SerializeCompressed())
							}
						}
						if !found {
							t.Fatalf("signature %d is not key %d's", j, j)
						}
					}
				}
				tx, err := Extract(p)
				if err != nil {
					t.Fatal(err)
				}
				verifyWithBtcd(t, tx, f.funding.Outputs)
				// The finalized PSBT still round-trips and btcd agrees on the tx.
				q := mustParse(t, mustSerialize(t, p))
				if tx2, _ := Extract(q); !bytes.Equal(tx2.Bytes(), tx.Bytes()) {
					t.Fatal("extracted tx changed after a round trip")
				}
			})
		}
	}
}

// scriptPushes returns the data pushed by a push-only script.
func scriptPushes(t *testing.T, s []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for pc := 0; pc < len(s); {
		op, next, ok := nextOp(s, pc)
		if !ok {
			t.Fatalf("bad script %x", s)
		}
		switch {
		case op == 0:
			out = append(out, []byte{})
		case op <= 75:
			out = append(out, s[pc+1:next])
		case op == 0x4c:
			out = append(out, s[pc+2:next])
		case op == 0x4d:
			out = append(out, s[pc+3:next])
		default:
			t.Fatalf("non-push opcode %#x", op)
		}
		pc = next
	}
	return out
}

func TestFinalizeErrors(t *testing.T) {
	f := newMultisigFixture(t, "p2wsh", 2, 3, 2)
	f.sign(t, SigHashAll, 1)
	before := mustSerialize(t, f.p)
	err := Finalize(f.p)
	var fe *FieldError
	if !errors.Is(err, ErrNotEnoughSignatures) || !errors.As(err, &fe) || fe.Map != "input 0" || !strings.Contains(err.Error(), "have 1 of 2") {
		t.Fatalf("one signature: %v", err)
	}
	if !bytes.Equal(mustSerialize(t, f.p), before) {
		t.Fatal("failed Finalize modified the packet")
	}

	// Only input 1 lacks signatures: input 1 is named and nothing changes.
	f = newMultisigFixture(t, "p2sh-p2wsh", 2, 3, 2)
	f.sign(t, SigHashAll, 0, 2)
	f.p.Inputs[1].PartialSigs = f.p.Inputs[1].PartialSigs[:1]
	before = mustSerialize(t, f.p)
	if err := Finalize(f.p); !errors.Is(err, ErrNotEnoughSignatures) || !strings.Contains(err.Error(), "input 1") {
		t.Fatalf("input 1 short: %v", err)
	}
	if !bytes.Equal(mustSerialize(t, f.p), before) || f.p.Inputs[0].IsFinalized() {
		t.Fatal("failed Finalize modified the packet")
	}

	// A chosen signature that does not verify.
	f = newMultisigFixture(t, "p2wsh", 2, 3, 1)
	f.sign(t, SigHashAll, 0, 1)
	f.p.Inputs[0].PartialSigs[1].Sig = f.p.Inputs[0].PartialSigs[0].Sig
	if err := Finalize(f.p); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("bad signature: %v", err)
	}

	// Signature with the wrong sighash type for the input.
	f = newMultisigFixture(t, "p2sh", 2, 3, 1)
	f.sign(t, SigHashNone, 0, 1)
	f.p.Inputs[0].SighashType = SigHashAll
	if err := Finalize(f.p); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("sighash mismatch: %v", err)
	}

	// Witness script that does not match the output.
	f = newMultisigFixture(t, "p2wsh", 2, 3, 1)
	f.sign(t, SigHashAll, 0, 1)
	f.p.Inputs[0].WitnessScript = append([]byte{}, f.script...)
	f.p.Inputs[0].WitnessScript[0] = op1 // 1-of-3
	if err := Finalize(f.p); !errors.Is(err, ErrScriptMismatch) {
		t.Fatalf("witness script mismatch: %v", err)
	}

	// Redeem script that does not match.
	f = newMultisigFixture(t, "p2sh", 2, 3, 1)
	f.sign(t, SigHashAll, 0, 1)
	f.p.Inputs[0].RedeemScript = p2wsh(f.script)
	if err := Finalize(f.p); !errors.Is(err, ErrScriptMismatch) {
		t.Fatalf("redeem script mismatch: %v", err)
	}

	// No UTXO.
	f = newMultisigFixture(t, "p2wsh", 2, 3, 1)
	f.p.Inputs[0].WitnessUTXO = nil
	if err := Finalize(f.p); !errors.Is(err, ErrMissingUTXO) {
		t.Fatalf("missing utxo: %v", err)
	}

	// Unsupported script (p2tr).
	f = newMultisigFixture(t, "p2wsh", 2, 3, 1)
	f.p.Inputs[0].WitnessUTXO.PkScript = append([]byte{op1, 32}, make([]byte, 32)...)
	if err := Finalize(f.p); !errors.Is(err, ErrUnsupportedScript) {
		t.Fatalf("p2tr: %v", err)
	}
}

// TestFinalizeBIP143SixOfSix finalizes the BIP-143 P2SH-P2WSH 6-of-6 example,
// whose signatures use all six sighash types, and compares the transaction.
func TestFinalizeBIP143SixOfSix(t *testing.T) {
	tx, err := ParseTx(unhex(t, "010000000136641869ca081e70f394c6948e8af409e18b619df2ed74aa106c1ca29787b96e0100000000ffffffff0200e9a435000000001976a914389ffce9cd9ae88dcc0631e88a821ffdbe9bfe2688acc0832f05000000001976a9147480a33f950689af511e6e84c138dbbd3c3ee41588ac00000000"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	in := &p.Inputs[0]
	in.WitnessUTXO = &TxOut{Value: 987654321, PkScript: unhex(t, "a9149993a429037b5d912407a71c252019287b8d27a587")}
	in.RedeemScript = unhex(t, "0020a16b5755f7f6f96dbd65f5f0d6ab9418b89af4b1f14a1bb8a09062c35f0dcb54")
	in.WitnessScript = unhex(t, "56210307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba32103b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b21034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a21033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f42103a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac162102d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b56ae")
	sigs := [][2]string{
		{"02d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b", "30440220525406a1482936d5a21888260dc165497a90a15669636d8edca6b9fe490d309c022032af0c646a34a44d1f4576bf6a4a74b67940f8faa84c7df9abe12a01a11e2b4783"},
		{"0307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba3", "304402206ac44d672dac41f9b00e28f4df20c52eeb087207e8d758d76d92c6fab3b73e2b0220367750dbbe19290069cba53d096f44530e4f98acaa594810388cf7409a1870ce01"},
		{"03b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b", "3044022068c7946a43232757cbdf9176f009a928e1cd9a1a8c212f15c1e11ac9f2925d9002205b75f937ff2f9f3c1246e547e54f62e027f64eefa2695578cc6432cdabce271502"},
		{"034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a", "3044022059ebf56d98010a932cf8ecfec54c48e6139ed6adb0728c09cbe1e4fa0915302e022007cd986c8fa870ff5d2b3a89139c9fe7e499259875357e20fcbb15571c76795403"},
		{"033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f4", "3045022100fbefd94bd0a488d50b79102b5dad4ab6ced30c4069f1eaa69a4b5a763414067e02203156c6a5c9cf88f91265f5a942e96213afae16d83321c8b31bb342142a14d16381"},
		{"03a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac16", "3045022100a5263ea0553ba89221984bd7f0b13613db16e7a70c549a86de0cc0444141a407022005c360ef0ae5a5d4f9f2f87a56c1546cc8268cab08c73501d6b3be2e1e1a8a0882"},
	}
	for _, s := range sigs {
		in.PartialSigs = append(in.PartialSigs, PartialSig{PubKey: unhex(t, s[0]), Sig: unhex(t, s[1])})
	}
	p = mustParse(t, mustSerialize(t, p))
	if err := Finalize(p); err != nil {
		t.Fatal(err)
	}
	x, err := Extract(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = "0100000000010136641869ca081e70f394c6948e8af409e18b619df2ed74aa106c1ca29787b96e0100000023220020a16b5755f7f6f96dbd65f5f0d6ab9418b89af4b1f14a1bb8a09062c35f0dcb54ffffffff0200e9a435000000001976a914389ffce9cd9ae88dcc0631e88a821ffdbe9bfe2688acc0832f05000000001976a9147480a33f950689af511e6e84c138dbbd3c3ee41588ac080047304402206ac44d672dac41f9b00e28f4df20c52eeb087207e8d758d76d92c6fab3b73e2b0220367750dbbe19290069cba53d096f44530e4f98acaa594810388cf7409a1870ce01473044022068c7946a43232757cbdf9176f009a928e1cd9a1a8c212f15c1e11ac9f2925d9002205b75f937ff2f9f3c1246e547e54f62e027f64eefa2695578cc6432cdabce271502473044022059ebf56d98010a932cf8ecfec54c48e6139ed6adb0728c09cbe1e4fa0915302e022007cd986c8fa870ff5d2b3a89139c9fe7e499259875357e20fcbb15571c76795403483045022100fbefd94bd0a488d50b79102b5dad4ab6ced30c4069f1eaa69a4b5a763414067e02203156c6a5c9cf88f91265f5a942e96213afae16d83321c8b31bb342142a14d16381483045022100a5263ea0553ba89221984bd7f0b13613db16e7a70c549a86de0cc0444141a407022005c360ef0ae5a5d4f9f2f87a56c1546cc8268cab08c73501d6b3be2e1e1a8a08824730440220525406a1482936d5a21888260dc165497a90a15669636d8edca6b9fe490d309c022032af0c646a34a44d1f4576bf6a4a74b67940f8faa84c7df9abe12a01a11e2b4783cf56210307b8ae49ac90a048e9b53357a2354b3334e9c8bee813ecb98e99a7e07e8c3ba32103b28f0c28bfab54554ae8c658ac5c3e0ce6e79ad336331f78c428dd43eea8449b21034b8113d703413d57761b8b9781957b8c0ac1dfe69f492580ca4195f50376ba4a21033400f6afecb833092a9a21cfdf1ed1376e58c5d1f47de74683123987e967a8f42103a6d48b1131e94ba04d9737d61acdaa1322008af9602b3b14862c07a1789aac162102d8b661b0b3302ee2f162b09e07a55ad5dfbe673a9f01d9f0c19617681024306b56ae00000000"
	if got := hex.EncodeToString(x.Bytes()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := x.TxID().String(); got != "" && len(got) != 64 {
		t.Fatal(got)
	}
}

func TestMultisigScript(t *testing.T) {
	var pubs [][]byte
	for i := 0; i < 20; i++ {
		pubs = append(pubs, testPub(t, uint64(i)))
	}
	for _, c := range []struct{ m, n int }{{1, 1}, {2, 3}, {15, 15}, {16, 17}, {17, 20}, {20, 20}} {
		s, err := MultisigScript(c.m, pubs[:c.n])
		if err != nil {
			t.Fatalf("%d-of-%d: %v", c.m, c.n, err)
		}
		m, keys, err := ParseMultisig(s)
		if err != nil || m != c.m || len(keys) != c.n {
			t.Fatalf("%d-of-%d: parsed %d-of-%d, %v", c.m, c.n, m, len(keys), err)
		}
		for i := range keys {
			if !bytes.Equal(keys[i], pubs[i]) {
				t.Fatalf("key %d differs", i)
			}
		}
		// btcd agrees on the script's type (it only knows OP_1..OP_16).
		if cls := txscript.GetScriptClass(s); c.n <= 16 && cls != txscript.MultiSigTy {
			t.Fatalf("%d-of-%d: btcd class %v", c.m, c.n, cls)
		}
	}
	for _, c := range []struct{ m, n int }{{0, 1}, {2, 1}, {1, 0}, {1, 21}} {
		if _, err := MultisigScript(c.m, pubs[:min(c.n, 20)]); err == nil && c.n <= 20 {
			t.Errorf("%d-of-%d accepted", c.m, c.n)
		}
	}
	good, _ := MultisigScript(2, pubs[:3])
	bad := map[string][]byte{
		"empty":               nil,
		"trailing":            append(append([]byte{}, good...), 0x00),
		"no checkmultisig":    good[:len(good)-1],
		"n mismatch":          append(append(append([]byte{}, good[:len(good)-2]...), op1+1), opCheckMultisig),
		"m > n":               append([]byte{op1 + 3}, good[1:]...),
		"m = 0":               append([]byte{op0}, good[1:]...),
		"non-minimal m":       append([]byte{1, 2}, good[1:]...),
		"uncompressed":        append(append([]byte{op1, 65}, testKey(1).PubKey().SerializeUncompressed()...), op1, opCheckMultisig),
		"bad key":             append(append([]byte{op1, 33, 2}, bytes.Repeat([]byte{0xff}, 32)...), op1, opCheckMultisig),
		"checkmultisigverify": append(append([]byte{}, good[:len(good)-1]...), 0xaf),
	}
	for name, s := range bad {
		if _, _, err := ParseMultisig(s); !errors.Is(err, ErrNotMultisig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
