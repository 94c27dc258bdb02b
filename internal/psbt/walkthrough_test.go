package psbt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// decodeWIF decodes a base58check WIF private key (enough for the BIP-174
// test keys).
func decodeWIF(t *testing.T, s string) *btcec.PrivateKey {
	t.Helper()
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int)
	for _, c := range s {
		i := strings.IndexRune(alphabet, c)
		if i < 0 {
			t.Fatalf("bad base58 %q", s)
		}
		n.Mul(n, big.NewInt(58))
		n.Add(n, big.NewInt(int64(i)))
	}
	b := n.Bytes()
	payload, sum := b[:len(b)-4], b[len(b)-4:]
	h := sha256.Sum256(payload)
	h = sha256.Sum256(h[:])
	if !bytes.Equal(h[:4], sum) {
		t.Fatalf("bad WIF checksum")
	}
	if len(payload) != 34 || payload[33] != 1 {
		t.Fatalf("want a compressed-key WIF")
	}
	k, _ := btcec.PrivKeyFromBytes(payload[1:33])
	return k
}

func parsePath(t *testing.T, s string) []uint32 {
	t.Helper()
	parts := strings.Split(s, "/")
	if parts[0] != "m" {
		t.Fatalf("bad path %q", s)
	}
	var path []uint32
	for _, p := range parts[1:] {
		hard := strings.HasSuffix(p, "'")
		n, err := strconv.ParseUint(strings.TrimSuffix(p, "'"), 10, 31)
		if err != nil {
			t.Fatal(err)
		}
		if hard {
			n |= 0x80000000
		}
		path = append(path, uint32(n))
	}
	return path
}

// canonicalB64 is the canonical serialisation of a base64 PSBT.
func canonicalB64(t *testing.T, s string) []byte {
	t.Helper()
	return mustSerialize(t, mustParse(t, b64(t, s)))
}

// signPSBT is a minimal BIP-174 signer for the multisig inputs of the
// walkthrough: it signs every input whose script contains the key's pubkey.
func signPSBT(t *testing.T, p *Packet, keys []*btcec.PrivateKey) {
	t.Helper()
	cache := NewSigHashCache(p.UnsignedTx)
	for i := range p.Inputs {
		in := &p.Inputs[i]
		utxo, err := p.InputUTXO(i)
		if err != nil {
			t.Fatal(err)
		}
		ht := in.SighashType
		if ht == 0 {
			ht = SigHashAll
		}
		for _, k := range keys {
			pub := k.PubKey().SerializeCompressed()
			var h [32]byte
			switch {
			case in.WitnessScript != nil && bytes.Contains(in.WitnessScript, pub):
				h, err = cache.WitnessV0(i, in.WitnessScript, utxo.Value, ht)
			case in.WitnessScript == nil && in.RedeemScript != nil && bytes.Contains(in.RedeemScript, pub):
				h, err = LegacySigHash(p.UnsignedTx, i, in.RedeemScript, ht)
			default:
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			sig := append(ecdsa.Sign(k, h[:]).Serialize(), byte(ht))
			in.PartialSigs = append(in.PartialSigs, PartialSig{PubKey: pub, Sig: sig})
		}
	}
}

// TestBIP174Walkthrough runs the BIP-174 creator, updater, signer, combiner,
// finalizer and extractor example.
func TestBIP174Walkthrough(t *testing.T) {
	v := loadBIP174(t)
	w := v.Walkthrough

	// Creator.
	tx := &Tx{Version: 2}
	for _, in := range w.Creator.Inputs {
		h, err := ParseHash(in.TxID)
		if err != nil {
			t.Fatal(err)
		}
		tx.Inputs = append(tx.Inputs, &TxIn{PrevOut: OutPoint{h, in.Vout}, Sequence: 0xffffffff})
	}
	for _, o := range w.Creator.Outputs {
		tx.Outputs = append(tx.Outputs, &TxOut{Value: o.Amount, PkScript: unhex(t, o.Script)})
	}
	p, err := New(tx)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSerialize(t, p); !bytes.Equal(got, b64(t, w.Creator.Result)) {
		t.Fatalf("creator: got %x", got)
	}

	// Updater.
	u := w.Updater
	var prevTxs []*Tx
	for _, s := range u.PreviousTxs {
		ptx, err := ParseTx(unhex(t, s))
		if err != nil {
			t.Fatal(err)
		}
		prevTxs = append(prevTxs, ptx)
	}
	for i, in := range p.UnsignedTx.Inputs {
		for _, ptx := range prevTxs {
			if ptx.TxID() != in.PrevOut.Hash {
				continue
			}
			spk := ptx.Outputs[in.PrevOut.Index].PkScript
			for _, rs := range u.RedeemScripts {
				if bytes.Equal(spk[2:22], hash160(unhex(t, rs))) {
					p.Inputs[i].RedeemScript = unhex(t, rs)
				}
			}
			rs := p.Inputs[i].RedeemScript
			if isP2WSH(rs) {
				p.Inputs[i].WitnessUTXO = ptx.Outputs[in.PrevOut.Index].copy()
				for _, ws := range u.WitnessScripts {
					if h := sha256.Sum256(unhex(t, ws)); bytes.Equal(h[:], rs[2:]) {
						p.Inputs[i].WitnessScript = unhex(t, ws)
					}
				}
			} else {
				p.Inputs[i].NonWitnessUTXO = ptx.Copy()
			}
		}
	}
	var fp [4]byte
	copy(fp[:], unhex(t, u.MasterFingerprint))
	for _, k := range u.PubKeys {
		pub := unhex(t, k.PubKey)
		d := Bip32Derivation{PubKey: pub, Fingerprint: fp, Path: parsePath(t, k.Path)}
		for i := range p.Inputs {
			in := &p.Inputs[i]
			script := in.RedeemScript
			if in.WitnessScript != nil {
				script = in.WitnessScript
			}
			if bytes.Contains(script, pub) {
				in.Bip32Derivation = append(in.Bip32Derivation, d)
			}
		}
		for i, o := range p.UnsignedTx.Outputs {
			if bytes.Equal(o.PkScript[2:], hash160(pub)) {
				p.Outputs[i].Bip32Derivation = append(p.Outputs[i].Bip32Derivation, d)
			}
		}
	}
	if got := mustSerialize(t, p); !bytes.Equal(got, canonicalB64(t, u.Result)) {
		t.Fatalf("updater: got %x", got)
	}
	for i := range p.Inputs {
		p.Inputs[i].SighashType = SigHashAll
	}
	if got := mustSerialize(t, p); !bytes.Equal(got, canonicalB64(t, w.UpdaterSighashAll.Result)) {
		t.Fatalf("updater (sighash): got %x", got)
	}

	// Signers (RFC 6979, so the signatures are the BIP's).
	s1, s2 := p.Copy(), p.Copy()
	signPSBT(t, s1, []*btcec.PrivateKey{decodeWIF(t, "cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQr"), decodeWIF(t, "cR6SXDoyfQrcp4piaiHE97Rsgta9mNhGTen9XeonVgwsh4iSgw6d")})
	signPSBT(t, s2, []*btcec.PrivateKey{decodeWIF(t, "cT7J9YpCwY3AVRFSjN6ukeEeWY6mhpbJPxRaDaP5QTdygQRxP9Au"), decodeWIF(t, "cNBc3SWUip9PPm1GjRoLEJT6T41iNzCYtD7qro84FMnM5zEqeJsE")})
	if got := mustSerialize(t, s1); !bytes.Equal(got, canonicalB64(t, w.Signer1.Result)) {
		t.Fatalf("signer 1: got %x", got)
	}
	if got := mustSerialize(t, s2); !bytes.Equal(got, canonicalB64(t, w.Signer2.Result)) {
		t.Fatalf("signer 2: got %x", got)
	}

	// Combiner, from the BIP's own signer outputs.
	c := mustParse(t, b64(t, w.Signer1.Result))
	if err := Combine(c, mustParse(t, b64(t, w.Signer2.Result))); err != nil {
		t.Fatal(err)
	}
	if got := mustSerialize(t, c); !bytes.Equal(got, canonicalB64(t, w.Combiner.Result)) {
		t.Fatalf("combiner: got %x", got)
	}
	// Combining is commutative and idempotent.
	c2 := mustParse(t, b64(t, w.Signer2.Result))
	if err := Combine(c2, mustParse(t, b64(t, w.Signer1.Result)), c.Copy(), c.Copy()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustSerialize(t, c2), mustSerialize(t, c)) {
		t.Fatal("combine is not commutative")
	}

	// Finalizer.
	f := mustParse(t, b64(t, w.Combiner.Result))
	if err := Finalize(f); err != nil {
		t.Fatal(err)
	}
	if got := mustSerialize(t, f); !bytes.Equal(got, b64(t, w.Finalizer.Result)) {
		t.Fatalf("finalizer: got %x", got)
	}
	for i := range f.Inputs {
		if !f.Inputs[i].IsFinalized() {
			t.Fatalf("input %d not finalized", i)
		}
	}

	// Extractor.
	x, err := Extract(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(x.Bytes()); got != w.Extractor.TxHex {
		t.Fatalf("extractor: got %s", got)
	}
	fee, err := f.Fee()
	if err != nil {
		t.Fatal(err)
	}
	if fee != 10000 {
		t.Fatalf("fee %d, want 10000", fee)
	}

	// Extracting an unfinalized PSBT fails and names the input.
	if _, err := Extract(c); !errors.Is(err, ErrNotFinalized) || !strings.Contains(err.Error(), "input 0") {
		t.Fatalf("Extract(unfinalized): %v", err)
	}
}

func TestBIP174CombineUnknowns(t *testing.T) {
	v := loadBIP174(t).CombinerUnknowns
	p := mustParse(t, b64(t, v.Inputs[0]))
	if err := Combine(p, mustParse(t, b64(t, v.Inputs[1]))); err != nil {
		t.Fatal(err)
	}
	if got := mustSerialize(t, p); !bytes.Equal(got, b64(t, v.Result)) {
		t.Fatalf("got %x", got)
	}
}

func TestCombineErrors(t *testing.T) {
	v := loadBIP174(t).Walkthrough
	base := mustParse(t, b64(t, v.Signer1.Result))

	// Different transactions.
	other := base.Copy()
	other.UnsignedTx.LockTime++
	for i := range other.Inputs {
		other.Inputs[i].NonWitnessUTXO = nil
	}
	dst := base.Copy()
	if err := Combine(dst, other); !errors.Is(err, ErrDifferentTx) {
		t.Fatalf("different tx: %v", err)
	}

	// Conflicting values for the same key; dst is left unchanged.
	other = base.Copy()
	sig := other.Inputs[1].PartialSigs[0].Sig
	sig[len(sig)-1] = byte(SigHashNone)
	dst = base.Copy()
	before := mustSerialize(t, dst)
	err := Combine(dst, other)
	var fe *FieldError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &fe) || fe.Map != "input 1" || fe.KeyType != inPartialSig {
		t.Fatalf("conflict: %v", err)
	}
	if !bytes.Equal(mustSerialize(t, dst), before) {
		t.Fatal("dst modified by a failed Combine")
	}

	// The same signature twice is harmless.
	dst = base.Copy()
	if err := Combine(dst, base.Copy(), base.Copy()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustSerialize(t, dst), before) {
		t.Fatal("combining with itself changed the packet")
	}

	// A non-witness UTXO with its witness stripped is the same UTXO.
	w := loadBIP174(t).Walkthrough
	a := mustParse(t, b64(t, w.Updater.Result))
	ptx, _ := ParseTx(unhex(t, w.Updater.PreviousTxs[0]))
	a.Inputs[1].NonWitnessUTXO = ptx
	b := a.Copy()
	b.Inputs[1].NonWitnessUTXO = ptx.Copy()
	for _, in := range b.Inputs[1].NonWitnessUTXO.Inputs {
		in.Witness = nil
	}
	if err := Combine(a, b); err != nil {
		t.Fatalf("stripped utxo: %v", err)
	}
}
