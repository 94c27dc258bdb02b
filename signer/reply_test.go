package signer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinko-project/kinko/airgap"
	"github.com/kinko-project/kinko/internal/cli"
	"github.com/kinko-project/kinko/internal/psbt"
	"github.com/kinko-project/kinko/signer"
	"github.com/kinko-project/kinko/wallet"
)

// compactReply signs f's PSBT with signer i and returns the partial PSBT
// and the compact reply made of it.
func compactReply(t testing.TB, f *fixture, i int) (partial, reply []byte) {
	t.Helper()
	raw, err := f.build().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	partial, _, err = f.ks[i].SignBytes(raw, signer.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := f.ks[i].Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	if reply, err = signer.CompactReply(partial, fp); err != nil {
		t.Fatal(err)
	}
	return partial, reply
}

// TestCompactReply: the reply carries the partial PSBT's very signatures,
// for its transaction, under the signer's fingerprint.
func TestCompactReply(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 4)
	f.register(1, nil)
	partial, reply := compactReply(t, f, 1)
	p, err := psbt.Parse(partial)
	if err != nil {
		t.Fatal(err)
	}
	r, err := airgap.DecodeSigReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	if psbt.Hash(r.TxID) != p.UnsignedTx.TxID() || r.Fingerprint != f.recs[1].Origin.Fingerprint {
		t.Errorf("reply for %x by %x, want %s by %s", r.TxID, r.Fingerprint, p.UnsignedTx.TxID(), f.recs[1].Origin.Fingerprint)
	}
	if len(r.Sigs) != 4 {
		t.Fatalf("%d signatures, want 4", len(r.Sigs))
	}
	for k, s := range r.Sigs {
		if s.Input != uint32(k) || !bytes.Equal(s.PartialSig(), p.Inputs[k].PartialSigs[0].Sig) {
			t.Errorf("signature %d (input %d) is not the partial PSBT's", k, s.Input)
		}
	}
}

// TestCompactReplyTaproot: a tr() input's one script-path signature goes
// in the compact reply as it is; an input with signatures for several
// leaves, or a key-path one, has no compact reply.
func TestCompactReplyTaproot(t *testing.T) {
	f := newTapFixture(t, 2, 3, 3)
	partial, _, err := f.sign(f.build(), signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := f.ks[0].Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	raw := mustBytes(t, partial)
	reply, err := signer.CompactReply(raw, fp)
	if err != nil {
		t.Fatal(err)
	}
	r, err := airgap.DecodeSigReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sigs) != 0 || len(r.TapSigs) != 3 || r.Fingerprint != fp {
		t.Fatalf("reply: %d ECDSA, %d taproot signatures, fingerprint %x", len(r.Sigs), len(r.TapSigs), r.Fingerprint)
	}
	for k, s := range r.TapSigs {
		want := partial.Inputs[k].TaprootScriptSpendSig[0].Signature
		got := s.RS[:]
		if s.SigHash != 0 {
			got = append(got, s.SigHash)
		}
		if s.Input != uint32(k) || !bytes.Equal(got, want) {
			t.Errorf("signature %d (input %d) is not the partial PSBT's", k, s.Input)
		}
	}
	two := partial.Copy()
	extra := two.Inputs[1].TaprootScriptSpendSig[0]
	extra.LeafHash = bytes.Repeat([]byte{7}, 32)
	two.Inputs[1].TaprootScriptSpendSig = append(two.Inputs[1].TaprootScriptSpendSig, extra)
	if _, err := signer.CompactReply(mustBytes(t, two), fp); !errors.Is(err, signer.ErrNoCompactReply) || !strings.Contains(err.Error(), "input 1: signatures for 2 leaves") {
		t.Errorf("two leaves: %v, want ErrNoCompactReply", err)
	}
}

// TestCompactReplyOneStillCode: the reply to a 10-input 2-of-3 P2WSH PSBT
// is one BBQr code of version MaxStillQRVersion at most, and drawn as a
// PNG it reads back, with the real decoder, to the same reply.
func TestCompactReplyOneStillCode(t *testing.T) {
	f := newFixture(t, wallet.P2WSH, 2, 3, 10)
	_, reply := compactReply(t, f, 0)
	q := &cli.QROut{Format: "bbqr"}
	parts, err := q.StillParts(cli.SigReplyMessage(reply))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 {
		t.Fatalf("%d codes, want 1", len(parts))
	}
	v, err := airgap.QRVersion(parts[0], airgap.ECCLow)
	if err != nil {
		t.Fatal(err)
	}
	if v > airgap.MaxStillQRVersion {
		t.Errorf("QR version %d, more than MaxStillQRVersion %d", v, airgap.MaxStillQRVersion)
	}
	files, err := airgap.RenderPNGs(parts, t.TempDir(), airgap.QROptions{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	texts, err := airgap.ScanImage(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	kind, payload, err := airgap.DecodeBytes([]byte(texts[0]))
	if err != nil || kind != airgap.KindSigReply || !bytes.Equal(payload, reply) {
		t.Fatalf("read back %q, %d bytes, %v; want the reply", kind, len(payload), err)
	}
	t.Logf("%d inputs: %d bytes, one BBQr code of version %d (%s)", 10, len(reply), v, filepath.Base(files[0]))
}
